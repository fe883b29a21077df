"""How good the model is, measured honestly: each clip scored only by a model that never heard its speaker.

    scoring  metrics, calibration (temperature, ECE) and the one out-of-fold scorer (out_of_fold_logits)
    report   what metrics.json says, in words and tables for people
    clips    the Examples tab's clip library: RAVDESS clips with their true and out-of-fold predicted labels

May import: the Predictor and everything below it (emotion.data, emotion.model, emotion.audio, ...).
"""

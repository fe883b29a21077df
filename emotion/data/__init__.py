"""RAVDESS as the library knows it, free of any model: names and the clip catalogue.

    ravdess         file names (modality-channel-emotion-intensity-statement-repetition-actor),
                    the dataset index, loading clips; which actors are kept back (BLIND_ACTORS)
    clip_catalogue  which clips there are and what is known about each (the Examples tab's list)

The other corpora (EmoDB, nEMO, the Korean set) are training data only: emotion.training.corpora.
May import: emotion.audio, emotion.errors, emotion.labels.
"""

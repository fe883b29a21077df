"""Speech emotion recognition on RAVDESS: a CNN-BiLSTM over log-mel spectrograms.

    from emotion import EMOTIONS, Predictor, AudioError
    Predictor.from_checkpoint().predict("clip.wav")  # {"neutral": 0.02, ..., "surprised": 0.01}
"""

from .audio import AudioError
from .labels import EMOTIONS
from .predict import Analysis, CheckpointError, Predictor

__all__ = ["EMOTIONS", "Predictor", "AudioError", "CheckpointError", "Analysis"]

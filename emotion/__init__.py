"""Speech emotion recognition on RAVDESS: a CNN-BiLSTM over log-mel spectrograms.

from emotion import EMOTIONS, Predictor, AudioError
Predictor.from_checkpoint().predict("clip.wav")  # {"neutral": 0.02, ..., "surprised": 0.01}
"""

from .audio import AudioError
from .labels import EMOTIONS

__all__ = ["EMOTIONS", "Predictor", "AudioError", "CheckpointError", "Analysis"]


def __getattr__(name):
    # Imported on first use, so that `python -m emotion.predict` does not import the module
    # twice (runpy warns when a package pre-imports the module it is asked to run).
    if name in ("Predictor", "CheckpointError", "Analysis"):
        from . import predict

        return getattr(predict, name)
    raise AttributeError(f"module 'emotion' has no attribute {name!r}")

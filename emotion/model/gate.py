"""Is it a voice? The learned gate that keeps music, tones and beeps from getting an emotion.

The Whisper heads read the frozen Whisper-base encoder's states; those states say plainly whether
a window holds a voice or an instrument (Whisper was trained on 680,000 hours of speech, much of
it over music). The gate is a logistic regression on what every forward pass computes anyway: for
each layer the heads read (blocks 1-4, pairs of frames averaged), the mean and the standard
deviation over time of its states, standardised. It costs a dot product per window. The CNN
fallback computes no encoder states, so for it the gate runs those four encoder blocks itself.

It was fitted and its threshold chosen by leave-one-corpus-out (emotion.training.voice_gate):
speech of three corpora and instrument music of some General MIDI families, checked on the fourth
corpus and on families and a soundfont it never met; README "The voice gate". Silero VAD alone
was measured there too and stops short both ways (a screamed RAVDESS sentence scores 0.08, an
instrument piece in eight gets over 0.3), so it does not decide here.

    gate = VoiceGate.from_checkpoint(checkpoint)   # None when the checkpoint has none: nothing refused
    gate.voice(x) -> probability that each window is a voice, shape = (batch,)
    voiced(gate, waves, voice) -> [bool] per window, the Predictor's verdict
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import List, Optional, Tuple

import torch

from ..errors import SetupError

log = logging.getLogger(__name__)

NOT_A_VOICE = "No speech found: the recording sounds like {what}, not a voice. Record or upload a spoken sentence."
MUSIC = NOT_A_VOICE.format(what="music, a tone or other sounds")


def gate_features(x: torch.Tensor) -> torch.Tensor:
    """Selected encoder states (batch, layers, T', D) -> (batch, layers * 2 * D): each layer's mean
    over time, then its standard deviation over time."""
    x = x.float()
    return torch.cat([x.mean(dim=2), x.std(dim=2, unbiased=False)], dim=2).flatten(1)


@dataclass
class VoiceGate:
    center: torch.Tensor  # (F,) the standardiser's mean of gate_features over the fitting windows
    scale: torch.Tensor  # (F,) ... and its standard deviation
    coef: torch.Tensor  # (F,) logistic regression weights on the standardised features
    intercept: float
    threshold: float  # a window whose voice probability is below this is not a voice
    layers: Tuple[int, ...] = (1, 2, 3, 4)  # the Whisper-base states it reads (model.select_states)
    time_pool: int = 2
    note: str = ""  # what it was fitted on

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> Optional["VoiceGate"]:
        stats = checkpoint.get("voice_gate")
        if not stats:
            return None
        tensors = {k: torch.as_tensor(stats[k], dtype=torch.float32) for k in ("center", "scale", "coef")}
        return cls(
            **tensors,
            intercept=float(stats["intercept"]),
            threshold=float(stats["threshold"]),
            layers=tuple(int(k) for k in stats.get("layers", (1, 2, 3, 4))),
            time_pool=int(stats.get("time_pool", 2)),
            note=str(stats.get("note", "")),
        )

    def to_checkpoint(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def voice_from_features(self, features: torch.Tensor) -> torch.Tensor:
        """Voice probability for gate_features rows, shape = (batch,)."""
        return torch.sigmoid(((features.float() - self.center) / self.scale) @ self.coef + self.intercept)

    def voice(self, x: torch.Tensor) -> torch.Tensor:
        """Probability that each window is a voice, for selected states (batch, layers, T', D)."""
        return self.voice_from_features(gate_features(x.detach()))

    def voice_of_waves(self, waves: torch.Tensor) -> torch.Tensor:
        """The same for fixed-length 16 kHz waves (batch, N_SAMPLES), running the encoder itself
        (a Predictor without one: the CNN fallback)."""
        from .backbone import by_name
        from .nets import select_states

        whisper = by_name("whisper-base")
        with torch.inference_mode():
            states = whisper.load_encoder()(whisper.features(waves), n_layers=max(self.layers))
            return self.voice(select_states(states, self.layers, self.time_pool))

    def is_voice(self, p: torch.Tensor) -> torch.Tensor:
        return p >= self.threshold


def voiced(gate: Optional[VoiceGate], waves: torch.Tensor, voice: Optional[torch.Tensor]) -> List[bool]:
    """Which clips (batch, samples) sound like a voice: the gate's verdict on their voice
    probabilities `voice` (VoiceGate.voice of the states the heads read; None: computed from the
    waves). A checkpoint without a gate refuses nothing here (a warning is logged once)."""
    if gate is None:
        _warn_no_gate()
        return [True] * len(waves)
    if voice is None:
        try:
            voice = gate.voice_of_waves(waves)
        except SetupError as exc:  # the CNN without the Whisper weights: it still answers, as without a gate
            _warn_no_gate(f"the voice gate needs the Whisper-base encoder ({exc})")
            return [True] * len(waves)
    return gate.is_voice(voice).tolist()


_warned = []


def _warn_no_gate(why: str = "this checkpoint has no voice gate") -> None:
    if not _warned:
        _warned.append(True)
        log.warning(
            "%s: music and tones are not refused. Add a gate with python -m emotion.training.voice_gate "
            "--data-dir DATA --write-to CHECKPOINT, or install the Whisper weights (requirements.txt).",
            why,
        )

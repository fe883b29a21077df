"""How familiar a recording sounds to the model: a distance from the clips it was trained on.

The heads read Whisper-base's encoder states. Averaged over time, one vector per clip (the head's
layers side by side, 4 x 512 values) says what kind of recording it is: the language, the room,
the microphone, the acting style as much as the emotion. The checkpoint stores where its
training clips lie in that space (mean, the top principal components, and a shrunk covariance of
the clips' coordinates on them), and a clip's Mahalanobis distance from them measures how unlike
anything in training it is.

    distance <= threshold   familiar: the distance of 95% of out-of-fold clips (speakers the
                            model never heard, from corpora it did hear)
    distance >  threshold   "unfamiliar recording": the probabilities are tempered, divided at
                            the logits by (distance / threshold) ** gamma on top of the usual
                            temperature, gamma fitted on corpora held out of training altogether

    python -m emotion.training.unfamiliar   fits it, measures it, and stores it in a checkpoint
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional

import torch


def pooled(states: torch.Tensor) -> torch.Tensor:
    """A head's input states (batch, layers, T', D) -> one vector per clip (batch, layers * D):
    each layer's mean over time."""
    return states.float().mean(dim=2).flatten(1)


@dataclass
class Familiarity:
    mean: torch.Tensor  # (F,) mean pooled vector of the training clips
    components: torch.Tensor  # (K, F) principal axes
    precision: torch.Tensor  # (K, K) inverse of the shrunk covariance of the coordinates
    threshold: float  # distances above this are unfamiliar
    gamma: float = 0.0  # tempering exponent beyond the threshold (0: flag only)
    accuracy: Optional[float] = None  # measured accuracy on unfamiliar clips (README: "Two corpora")
    note: str = ""  # where that accuracy was measured

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> Optional["Familiarity"]:
        stats = checkpoint.get("familiarity")
        if not stats:
            return None
        return cls(
            mean=torch.as_tensor(stats["mean"], dtype=torch.float32),
            components=torch.as_tensor(stats["components"], dtype=torch.float32),
            precision=torch.as_tensor(stats["precision"], dtype=torch.float32),
            threshold=float(stats["threshold"]),
            gamma=float(stats.get("gamma", 0.0)),
            accuracy=stats.get("accuracy"),
            note=str(stats.get("note", "")),
        )

    def to_checkpoint(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def distance(self, states: torch.Tensor) -> torch.Tensor:
        """Mahalanobis distance of each clip from the training clips: states (batch, layers, T', D)
        as EncoderHead.select gives them -> (batch,)."""
        z = (pooled(states) - self.mean) @ self.components.T  # (B, K)
        return torch.einsum("bk,kl,bl->b", z, self.precision, z).clamp(min=0).sqrt()

    def temper(self, distance: torch.Tensor) -> torch.Tensor:
        """The extra temperature of each clip: 1 up to the threshold, (d / threshold) ** gamma beyond."""
        return (distance / self.threshold).clamp(min=1.0) ** self.gamma

    def describe(self, distance: float) -> dict:
        """What a result says about it (the API's "familiarity")."""
        return dict(
            distance=round(float(distance), 2),
            threshold=round(self.threshold, 2),
            unfamiliar=bool(distance > self.threshold),
            accuracy_when_unfamiliar=None if self.accuracy is None else round(float(self.accuracy), 3),
        )

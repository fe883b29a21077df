"""The recipes, one dataclass per backbone, with their defaults in this one place: what train
records in a checkpoint (training.recipe) and what evaluate --folds retrains with.

    CnnRecipe   the log-mel CNN-BiLSTM trained from scratch (emotion.training.cnn)
    HeadRecipe  BiLSTM heads on the frozen Whisper-base encoder (emotion.training.heads)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .data import Augment


@dataclass
class CnnRecipe:
    epochs: int = 60
    lr: float = 3e-3
    batch_size: int = 32
    ema: float = 0.0  # decay of an exponential moving average of the weights (0 = off)
    bf16: bool = False  # bfloat16 autocast of the training forward pass
    select: str = "best"  # keep each fold's best epoch by held-out macro-F1, or its "last"
    use_song: bool = True  # train on RAVDESS's song clips (or a manifest's split=train rows) too
    augment: Augment = field(default_factory=Augment)

    @classmethod
    def from_dict(cls, recipe: dict) -> "CnnRecipe":
        """The recipe a checkpoint records (training.recipe); keys it lacks take the defaults, keys
        that are not the recipe's (folds) are ignored."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in recipe.items() if k in names}
        values["augment"] = Augment(**values.get("augment", {}))
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class HeadRecipe:
    epochs: int = 30
    lr: float = 1e-3
    weight_decay: float = 0.05
    batch_size: int = 32
    variants: int = 4  # augmented copies per clip, besides the clean one
    speed_prob: float = 0.5
    warp: float = 0.0  # > 0: the copies' pitch and tempo perturbed apart, each by 1 +- warp (0: speed, together)
    corrupt: bool = True  # noise, reverb, telephone on the augmented copies
    time_mask: int = 8  # mask up to this many LSTM steps (40 ms each), twice per clip
    use_song: bool = True
    select: str = "last"
    balance: bool = False  # draw clips so corpora (share ~ n ** corpus_power) and labels are balanced
    corpus_power: float = 0.5
    balance_by: str = "clips"  # a corpus's n in its share n ** corpus_power: its clips or its speakers
    adversary: float = 0.0  # weight of a corpus classifier behind gradient reversal (0 = off)
    mixup: float = 0.0  # mix pairs of a batch's clips (states and labels) by Beta(mixup, mixup) weights (0 = off)

    def to_dict(self) -> dict:
        return asdict(self)

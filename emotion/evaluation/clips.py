"""The clip library behind the app's Examples tab, free of any user interface.

`ExampleLibrary` is the catalogue of RAVDESS clips (emotion.data.clip_catalogue: every clip with audio
in this deployment, the bundled folders assets/ravdess160 + assets/ravdess or a full copy of the
dataset, and every clip of the checkpoint's out-of-fold table, oof_predictions.csv: all 1,200
speech clips of actors 01-20, audio or not) and judges the model on a chosen clip fairly:

* speaker never in training (e.g. actors 21-24): the shipped model's live prediction is fair;
* speaker in training, clip in oof_predictions.csv: its out-of-fold prediction, from the fold
  model that never heard that actor;
* speaker in training, clip not in the table (song clips, a dataset copy with other takes):
  the fold model that held that actor out predicts it live, when the checkpoint has one;
* otherwise the shipped model predicts it, marked "speaker seen in training — not a fair test".

Which model may judge a clip is emotion.evaluation.scoring's out-of-fold rule (scoring_models). The
probabilities are over the checkpoint's labels (Predictor.labels).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import pandas as pd
import torch

from ..clarity import top_k
from ..data.clip_catalogue import ClipCatalogue
from ..data.ravdess import STATEMENTS
from ..predictor import Predictor
from .scoring import ENSEMBLE, out_of_fold_logits, scoring_models

__all__ = [
    "ExampleLibrary",
    "ClipResult",
    "configured_data_dir",
    "DEFAULT_EXAMPLES_DIR",
    "DEFAULT_EXAMPLE_DIRS",
    "DATA_DIR_ENV",
    "OOF",
    "FOLD_LIVE",
    "UNSEEN",
    "SEEN",
    "NOTES",
]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_EXAMPLES_DIR = ROOT / "assets" / "ravdess160"  # the balanced bundle (assets/make_bundle.py)
DEFAULT_EXAMPLE_DIRS = (DEFAULT_EXAMPLES_DIR, ROOT / "assets" / "ravdess")  # + the 18 test clips
DATA_DIR_ENV = "EMOTION_DATA_DIR"

OOF = "out-of-fold"  # from oof_predictions.csv
FOLD_LIVE = "held-out fold model"  # a fold model that never heard the actor, run now
UNSEEN = "unseen speaker"  # the shipped model, on an actor it never trained on
SEEN = "seen speaker"  # the shipped model, on an actor it trained on: not a fair test

NOTES = {
    OOF: "out-of-fold prediction (model that never heard this actor)",
    FOLD_LIVE: "out-of-fold prediction (model that never heard this actor), computed now "
    "by the fold model that held this actor out",
    UNSEEN: "live prediction of the shipped model; this actor was never in its training data (a fair test)",
    SEEN: "speaker seen in training — not a fair test: the shipped model trained on this actor's voice",
}


@dataclass
class ClipResult:
    id: str
    path: Optional[str]  # the indexed file (from the index, never from the request); None: no audio here
    emotion: str  # the true label
    actor: int
    sex: str
    channel: str
    intensity: str
    statement: str
    probabilities: Dict[str, float]  # every label of the checkpoint
    source: str  # OOF, FOLD_LIVE, UNSEEN or SEEN
    seen: bool  # the shipped model trained on this actor
    top3: List[tuple] = field(default_factory=list)

    @property
    def predicted(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def correct(self) -> bool:
        return self.predicted == self.emotion

    @property
    def fair(self) -> bool:
        return self.source != SEEN

    @property
    def note(self) -> str:
        return NOTES[self.source]


def configured_data_dir(cli_value: Optional[str] = None) -> Optional[Path]:
    """The dataset folder from --data-dir, else $EMOTION_DATA_DIR, else None (use the assets)."""
    value = cli_value or os.environ.get(DATA_DIR_ENV) or None
    return Path(value).expanduser().resolve() if value else None


class ExampleLibrary(ClipCatalogue):
    """A catalogue of RAVDESS clips (audio here and/or out-of-fold prediction) and the fair
    judgement of the model on each of them."""

    def __init__(self, predictor: Predictor, data_dir=None, oof_path=None):
        folders = [Path(data_dir).resolve()] if data_dir else [d for d in DEFAULT_EXAMPLE_DIRS if d.is_dir()]
        super().__init__(folders or [DEFAULT_EXAMPLES_DIR], oof_path, predictor.labels)
        self.predictor = predictor
        self.seen_actors = set(predictor.train_actors)
        self._cache: Dict[str, ClipResult] = {}

    def evaluate(self, clip_id) -> ClipResult:
        """True label, the model's probabilities (from the fairest source) and where they came from."""
        row = self.get(clip_id)
        if clip_id in self._cache:
            return self._cache[clip_id]
        actor = int(row["actor"])
        seen = actor in self.seen_actors
        if self.oof is not None and clip_id in self.oof.index and (seen or not row["audio"]):
            probs, source = {e: float(self.oof.at[clip_id, e]) for e in self.labels}, OOF
            total = sum(probs.values())  # the table is rounded to 4 decimals
            probs = {e: p / total for e, p in probs.items()}
        elif not seen:
            probs, source = self.predictor.predict(row["path"]), UNSEEN
        else:
            models = scoring_models(self.predictor, actor)
            if models is not None and models != ENSEMBLE:
                probs, source = self._out_of_fold(row), FOLD_LIVE
            else:
                probs, source = self.predictor.predict(row["path"]), SEEN
        result = ClipResult(
            id=clip_id,
            path=self.path(clip_id),
            emotion=row["emotion"],
            actor=actor,
            sex=row["sex"],
            channel=row["channel"],
            intensity=row["intensity"],
            statement=STATEMENTS.get(int(row["statement"]), str(row["statement"])),
            probabilities=probs,
            source=source,
            seen=seen,
            top3=top_k(probs, 3),
        )
        if len(self._cache) < 4096:
            self._cache[clip_id] = result
        return result

    def _out_of_fold(self, row) -> Dict[str, float]:
        """The clip scored now by the fold model that never heard its actor."""
        logits = out_of_fold_logits(self.predictor, pd.DataFrame([row]))[0]
        probs = torch.softmax(logits / self.predictor.temperature, dim=-1)[0].double()
        return dict(zip(self.labels, (probs / probs.sum()).tolist()))

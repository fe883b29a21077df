"""The clip library behind the app's Examples tab, free of any user interface.

`ExampleLibrary` indexes a folder of RAVDESS clips (default assets/ravdess, or a
full copy of the dataset), filters it, looks clips up by id only (never by a path a client
sent), and judges the model on a chosen clip fairly:

* speaker never in training (e.g. actors 21-24): the shipped model's live prediction is fair;
* speaker in training, clip in oof_predictions.csv: its out-of-fold prediction, from the fold
  model that never heard that actor;
* speaker in training, clip not in the table (song clips, a dataset copy with other takes):
  the fold model that held that actor out predicts it live, when the checkpoint has one;
* otherwise the shipped model predicts it, marked "speaker seen in training — not a fair test".

Which model may judge a clip is emotion.scoring's out-of-fold rule (scoring_models).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd
import torch

from .labels import EMOTIONS
from .predict import Predictor, top_k
from .ravdess import STATEMENTS, index_dataset
from .scoring import ENSEMBLE, out_of_fold_logits, scoring_models

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXAMPLES_DIR = ROOT / "assets" / "ravdess"
DATA_DIR_ENV = "EMOTION_DATA_DIR"
ANY = "any"  # filter value meaning "do not filter on this column"
FILTERS = ("emotion", "actor", "sex", "intensity", "statement", "channel")
ID_RE = re.compile(r"\d{2}(?:-\d{2}){6}")  # a RAVDESS clip id: MM-VV-EE-II-SS-RR-AA

OOF = "out-of-fold"  # from oof_predictions.csv
FOLD_LIVE = "held-out fold model"  # a fold model that never heard the actor, run now
UNSEEN = "unseen speaker"  # the shipped model, on an actor it never trained on
SEEN = "seen speaker"  # the shipped model, on an actor it trained on: not a fair test

NOTES = {
    OOF: "out-of-fold prediction (model that never heard this actor)",
    FOLD_LIVE: "out-of-fold prediction (model that never heard this actor), computed now "
               "by the fold model that held this actor out",
    UNSEEN: "live prediction of the shipped model; this actor was never in its training data "
            "(a fair test)",
    SEEN: "speaker seen in training — not a fair test: the shipped model trained on this "
          "actor's voice",
}


class ClipError(ValueError):
    """A clip id that is malformed or not in the index; the message is written for users."""


@dataclass
class ClipResult:
    id: str
    path: str  # the indexed file (from the index, never from the request)
    emotion: str  # the true label
    actor: int
    sex: str
    channel: str
    intensity: str
    statement: str
    probabilities: Dict[str, float]  # all labels of EMOTIONS
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


class ExampleLibrary:
    """An index of RAVDESS clips and the fair judgement of the model on each of them."""

    def __init__(self, predictor: Predictor, data_dir=None, oof_path=None):
        self.predictor = predictor
        self.data_dir = Path(data_dir).resolve() if data_dir else DEFAULT_EXAMPLES_DIR
        self.frame = index_dataset(self.data_dir)
        if self.frame.empty:
            raise FileNotFoundError(f"No RAVDESS clips (*.wav, *.flac) under {self.data_dir}")
        self.frame = self.frame.sort_values(["actor", "channel", "label", "id"]).reset_index(drop=True)
        self._by_id = self.frame.set_index("id", drop=False)
        self.oof = _read_oof(oof_path)
        self.seen_actors = set(predictor.train_actors)
        self._cache: Dict[str, ClipResult] = {}

    # ----- filtering -------------------------------------------------------------------
    def options(self) -> Dict[str, list]:
        """The values each filter can take in this index (ANY first), for dropdowns."""
        f = self.frame
        emotions = [e for e in EMOTIONS if e in set(f["emotion"])]
        return dict(
            emotion=[ANY] + emotions,
            actor=[ANY] + sorted(int(a) for a in f["actor"].unique()),
            sex=[ANY] + [s for s in ("female", "male") if s in set(f["sex"])],
            intensity=[ANY] + [i for i in ("normal", "strong") if i in set(f["intensity"])],
            statement=[ANY] + sorted(int(s) for s in f["statement"].unique()),
            channel=[ANY] + [c for c in ("speech", "song") if c in set(f["channel"])],
        )

    def filter(self, emotion=ANY, actor=ANY, sex=ANY, intensity=ANY, statement=ANY,
               channel=ANY) -> pd.DataFrame:
        """Rows matching every given filter (ANY, None or "" leaves a column unfiltered)."""
        wanted = dict(emotion=emotion, actor=actor, sex=sex, intensity=intensity,
                      statement=statement, channel=channel)
        mask = np.ones(len(self.frame), dtype=bool)
        for column, value in wanted.items():
            if value is None or value == "" or value == ANY:
                continue
            if column in ("actor", "statement"):
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise ClipError(f"The {column} filter must be a number, got {_short(value)}.") from None
            else:
                value = str(value)
            mask &= (self.frame[column] == value).to_numpy()
        return self.frame[mask]

    @staticmethod
    def describe(row) -> str:
        """A one-line label of a clip for a dropdown."""
        return (f"{row['id']} · {row['emotion']} ({row['intensity']}) · actor {row['actor']} "
                f"({row['sex']}) · {row['channel']}")

    def choices(self, rows: pd.DataFrame) -> List[tuple]:
        """(description, id) pairs of these rows."""
        return [(self.describe(r), r["id"]) for _, r in rows.iterrows()]

    def table(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows as shown to users: no file paths."""
        return rows[["id", "emotion", "intensity", "statement", "actor", "sex", "channel"]].reset_index(drop=True)

    # ----- one clip ----------------------------------------------------------------------
    def get(self, clip_id) -> pd.Series:
        """The index row of a clip id; ClipError for anything that is not an indexed id."""
        if not isinstance(clip_id, str) or not ID_RE.fullmatch(clip_id):
            raise ClipError(f"Not a clip id: {_short(clip_id)}. Choose a clip from the list.")
        if clip_id not in self._by_id.index:
            raise ClipError(f"Unknown clip id {clip_id}: it is not in {self.data_dir.name}/. "
                            "Choose a clip from the list.")
        return self._by_id.loc[clip_id]

    def path(self, clip_id) -> str:
        return str(self.get(clip_id)["path"])

    def evaluate(self, clip_id) -> ClipResult:
        """True label, the model's probabilities (from the fairest source) and where they came from."""
        row = self.get(clip_id)
        if clip_id in self._cache:
            return self._cache[clip_id]
        actor = int(row["actor"])
        seen = actor in self.seen_actors
        if not seen:
            probs, source = self.predictor.predict(row["path"]), UNSEEN
        elif self.oof is not None and clip_id in self.oof.index:
            probs, source = {e: float(self.oof.at[clip_id, e]) for e in EMOTIONS}, OOF
            total = sum(probs.values())  # the table is rounded to 4 decimals
            probs = {e: p / total for e, p in probs.items()}
        else:
            models = scoring_models(self.predictor, actor)
            if models is not None and models != ENSEMBLE:
                probs, source = self._out_of_fold(row), FOLD_LIVE
            else:
                probs, source = self.predictor.predict(row["path"]), SEEN
        result = ClipResult(
            id=clip_id, path=str(row["path"]), emotion=row["emotion"], actor=actor, sex=row["sex"],
            channel=row["channel"], intensity=row["intensity"],
            statement=STATEMENTS.get(int(row["statement"]), str(row["statement"])),
            probabilities=probs, source=source, seen=seen, top3=top_k(probs, 3),
        )
        if len(self._cache) < 4096:
            self._cache[clip_id] = result
        return result

    def _out_of_fold(self, row) -> Dict[str, float]:
        """The clip scored now by the fold model that never heard its actor."""
        logits = out_of_fold_logits(self.predictor, pd.DataFrame([row]))[0]
        probs = torch.softmax(logits / self.predictor.temperature, dim=-1)[0].double()
        return dict(zip(self.predictor.labels, (probs / probs.sum()).tolist()))


def _read_oof(path) -> Optional[pd.DataFrame]:
    if path is None or not Path(path).is_file():
        return None
    table = pd.read_csv(path, dtype={"id": str})
    missing = [c for c in ("id", *EMOTIONS) if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks the columns {missing}")
    return table.set_index("id")


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"

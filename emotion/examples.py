"""The logic behind the app's Examples and Metrics tabs, free of any user interface.

Examples: `ExampleLibrary` indexes a folder of RAVDESS clips (default assets/ravdess, or a
full copy of the dataset), filters it, looks clips up by id only (never by a path a client
sent), and judges the model on a chosen clip fairly:

* speaker never in training (e.g. actors 21-24): the shipped model's live prediction is fair;
* speaker in training, clip in oof_predictions.csv: its out-of-fold prediction, from the fold
  model that never heard that actor;
* speaker in training, clip not in the table (song clips, a dataset copy with other takes):
  the fold model that held that actor out predicts it live, when the checkpoint has one;
* otherwise the shipped model predicts it, marked "speaker seen in training — not a fair test".

Metrics: reading metrics.json, the per-class table, the split in words, and recomputing the
out-of-fold metrics on a local dataset with the checkpoint's fold models (no training).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from . import audio
from .data import STATEMENTS, index_dataset, load_waves
from .evaluate import metrics_report
from .labels import EMOTIONS
from .predict import Predictor, top_k

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
            fold = self._held_out_fold(actor)
            if fold is not None:
                probs, source = self._fold_predict(row["path"], fold), FOLD_LIVE
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

    def _held_out_fold(self, actor: int) -> Optional[int]:
        for k, fold in enumerate(self.predictor.folds):
            if actor in fold.get("val_actors", []) and k < len(self.predictor.models):
                return k
        return None

    def _fold_predict(self, path: str, fold: int) -> Dict[str, float]:
        wave = torch.from_numpy(audio.prepare(path))[None]
        logits = self.predictor.logits(wave, models=[fold])
        probs = torch.softmax(logits / self.predictor.temperature, dim=-1)[0].double()
        probs = (probs / probs.sum()).tolist()
        return dict(zip(EMOTIONS, probs))


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


# ----- metrics ---------------------------------------------------------------------------

def load_metrics(path) -> Optional[dict]:
    """metrics.json as a dict, or None when there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def per_class_table(metrics: dict) -> pd.DataFrame:
    """One row per emotion: precision, recall, F1 (rounded to 3 decimals) and support."""
    rows = []
    for label in metrics["labels"]:
        c = metrics["per_class"][label]
        rows.append(dict(emotion=label, precision=round(c["precision"], 3),
                         recall=round(c["recall"], 3), f1=round(c["f1"], 3), support=int(c["support"])))
    return pd.DataFrame(rows, columns=["emotion", "precision", "recall", "f1", "support"])


def _actors(actors: Sequence[int]) -> str:
    """[1, 2, 3, 5] -> '1-3, 5'."""
    actors = sorted(int(a) for a in actors)
    parts, i = [], 0
    while i < len(actors):
        j = i
        while j + 1 < len(actors) and actors[j + 1] == actors[j] + 1:
            j += 1
        parts.append(str(actors[i]) if i == j else f"{actors[i]}-{actors[j]}")
        i = j + 1
    return ", ".join(parts) if parts else "none"


def split_text(metrics: dict) -> str:
    """The evaluation split in words (Markdown): which actors each number comes from."""
    split = metrics.get("split")
    if not split:
        return "The split of this evaluation is not recorded."
    lines = [f"**Split:** {split.get('kind', 'unknown')}; channel: {split.get('channel', 'speech')}. "
             "Speaker-independent: no clip is scored by a model that heard its actor."]
    for k, fold in enumerate(split.get("folds", [])):
        lines.append(f"- fold {k + 1}: scored actors {_actors(fold['val_actors'])} with the model "
                     f"trained on actors {_actors(fold['train_actors'])}")
    if split.get("test_actors"):
        lines.append(f"- held-out actors {_actors(split['test_actors'])}, scored by the model trained "
                     f"on actors {_actors(split.get('train_actors', []))}")
    if split.get("unseen_actors"):
        lines.append(f"- actors {_actors(split['unseen_actors'])} were never in training: scored by "
                     "the shipped model (all fold models averaged)")
    if split.get("excluded_actors"):
        lines.append(f"- left out: actors {_actors(split['excluded_actors'])} (every model of this "
                     "checkpoint heard them)")
    if split.get("data_dir"):
        lines.append(f"- clips from `{Path(split['data_dir']).name}/`")
    return "\n".join(lines)


def summary_text(metrics: Optional[dict]) -> str:
    """One honest sentence on how good the model is (Markdown), from metrics.json."""
    if not metrics:
        return ("**Accuracy unknown:** there is no metrics.json beside this checkpoint, so how "
                "well it works has not been measured.")
    chance = 1.0 / len(metrics.get("labels", EMOTIONS))
    return (f"**Measured accuracy: {metrics['accuracy']:.0%}** (macro-F1 {metrics['macro_f1']:.2f}; "
            f"chance is {chance:.1%}) on {metrics['n']} acted RAVDESS clips of speakers the scoring "
            "model never heard. That is acted, studio-quality North-American English; expect "
            "less on your own voice, spontaneous speech, other languages or noisy microphones. "
            "Treat the output as a guess, not a measurement of how anyone feels.")


ProgressFn = Callable[[float, str], None]


def recompute_metrics(predictor: Predictor, data_dir, progress: Optional[ProgressFn] = None,
                      batch_size: int = 32) -> dict:
    """Out-of-fold metrics on the speech clips of a local RAVDESS folder, without training.

    Each clip is scored by the fold model that held its actor out (actors no model of the
    checkpoint trained on: by the shipped model); clips of actors every model heard are left
    out. Returns the same dict as emotion.evaluate.metrics_report, with the split described.
    """
    report = progress or (lambda fraction, desc: None)
    data_dir = Path(data_dir)
    frame = index_dataset(data_dir, channels=("speech",))
    if frame.empty:
        raise FileNotFoundError(f"No RAVDESS speech clips under {data_dir}")
    models = {}  # actor -> list of model indices, or None for the whole ensemble
    for k, fold in enumerate(predictor.folds[:len(predictor.models)]):
        for actor in fold.get("val_actors", []):
            models[int(actor)] = [k]
    seen = set(predictor.train_actors)
    for actor in frame["actor"].unique():
        if int(actor) not in seen and int(actor) not in models:
            models[int(actor)] = None
    excluded = sorted(int(a) for a in frame["actor"].unique() if int(a) not in models)
    frame = frame[frame["actor"].isin(list(models))].reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"Every actor under {data_dir} was heard by every model of this checkpoint: "
                         "nothing can be scored fairly.")
    # Group clips by the model(s) that score them.
    groups: Dict[tuple, List[int]] = {}
    for i, actor in enumerate(frame["actor"].to_numpy()):
        key = tuple(models[int(actor)]) if models[int(actor)] is not None else ()
        groups.setdefault(key, []).append(i)
    total = len(frame)
    logits = torch.zeros(total, len(EMOTIONS))
    done = 0
    report(0.0, f"scoring {total} clips")
    for key, idx in groups.items():
        for start in range(0, len(idx), batch_size):
            chunk = idx[start:start + batch_size]
            waves = load_waves([frame.at[i, "path"] for i in chunk])
            batch = audio.clip_batch(waves)
            logits[chunk] = predictor.logits(batch, models=list(key) if key else None)
            done += len(chunk)
            report(done / total, f"scored {done}/{total} clips")
    folds_used = sorted({k for key in groups for k in key})
    split = dict(
        kind="out-of-fold predictions of the checkpoint's fold models (speaker-independent), "
             "recomputed on a local dataset",
        folds=[dict(train_actors=predictor.folds[k]["train_actors"],
                    val_actors=[a for a in predictor.folds[k]["val_actors"] if a in set(frame["actor"])])
               for k in folds_used],
        unseen_actors=sorted(a for a, m in models.items() if m is None and a in set(frame["actor"])),
        excluded_actors=excluded, channel="speech", data_dir=str(data_dir),
    )
    return metrics_report(frame["label"].to_numpy(), logits, predictor.temperature, split,
                          ids=list(frame["id"]))

"""The clip library behind the app's Examples tab, free of any user interface.

`ExampleLibrary` is a catalogue of RAVDESS clips: every clip with audio in this deployment
(the bundled folders assets/ravdess160 + assets/ravdess, or a full copy of the dataset) and every
clip of the checkpoint's out-of-fold table (oof_predictions.csv: all 1,200 speech clips of actors
01-20), audio or not. Each row carries the true emotion, the out-of-fold prediction where there
is one (predicted, its probability, correct) and whether its audio is here. It filters the
catalogue (also by predicted emotion and "mistakes only": a confusion-matrix cell is
filter(emotion=T, predicted=P)), looks clips up by id only (never by a path a client sent),
and judges the model on a chosen clip fairly:

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

from .errors import InputError
from .labels import EMOTIONS
from .predict import Predictor, top_k
from .ravdess import STATEMENTS, index_dataset, parse_name
from .scoring import ENSEMBLE, out_of_fold_logits, scoring_models

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXAMPLES_DIR = ROOT / "assets" / "ravdess160"  # the balanced bundle (assets/make_bundle.py)
DEFAULT_EXAMPLE_DIRS = (DEFAULT_EXAMPLES_DIR, ROOT / "assets" / "ravdess")  # + the 18 test clips
DATA_DIR_ENV = "EMOTION_DATA_DIR"
ANY = "any"  # filter value meaning "do not filter on this column"
SCORED = "any prediction"  # predicted-emotion filter value: rows with an out-of-fold prediction
FILTERS = ("emotion", "actor", "sex", "intensity", "statement", "channel", "predicted")
TABLE_COLUMNS = [
    "id",
    "true emotion",
    "predicted",
    "probability",
    "result",
    "actor",
    "sex",
    "intensity",
    "statement",
    "channel",
    "audio",
]
NO_AUDIO = "no audio here"
ID_RE = re.compile(r"\d{2}(?:-\d{2}){6}")  # a RAVDESS clip id: MM-VV-EE-II-SS-RR-AA

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


class ClipError(InputError):
    """A clip id that is malformed or not in the index; the message is written for users."""


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
    """A catalogue of RAVDESS clips (audio here and/or out-of-fold prediction) and the fair
    judgement of the model on each of them."""

    def __init__(self, predictor: Predictor, data_dir=None, oof_path=None):
        self.predictor = predictor
        folders = [Path(data_dir).resolve()] if data_dir else [d for d in DEFAULT_EXAMPLE_DIRS if d.is_dir()]
        self.data_dirs = folders or [DEFAULT_EXAMPLES_DIR]
        self.data_dir = self.data_dirs[0]
        found = [f for f in (index_dataset(d) for d in self.data_dirs) if not f.empty]
        if not found:
            raise FileNotFoundError(f"No RAVDESS clips (*.wav, *.flac) under {self.data_dir}")
        audio = pd.concat(found).drop_duplicates("id").reset_index(drop=True)
        self.oof = _read_oof(oof_path)
        self.frame = _catalogue(audio, self.oof).sort_values(  # clips with audio first
            ["audio", "actor", "channel", "label", "id"], ascending=[False, True, True, True, True], ignore_index=True
        )
        self._by_id = self.frame.set_index("id", drop=False)
        self.seen_actors = set(predictor.train_actors)
        self._cache: Dict[str, ClipResult] = {}

    @property
    def source(self) -> str:
        """Where the audio comes from, for people: "`ravdess160/` + `ravdess/`"."""
        return " + ".join(f"`{d.name}/`" for d in self.data_dirs)

    @property
    def n_audio(self) -> int:
        return int(self.frame["audio"].sum())

    # ----- filtering -------------------------------------------------------------------
    def options(self) -> Dict[str, list]:
        """The values each filter can take in this catalogue (ANY first), for dropdowns."""
        f = self.frame
        emotions = [e for e in EMOTIONS if e in set(f["emotion"])]
        return dict(
            emotion=[ANY] + emotions,
            predicted=[ANY, SCORED] + [e for e in EMOTIONS if e in set(f["predicted"])],
            actor=[ANY] + sorted(int(a) for a in f["actor"].unique()),
            sex=[ANY] + [s for s in ("female", "male") if s in set(f["sex"])],
            intensity=[ANY] + [i for i in ("normal", "strong") if i in set(f["intensity"])],
            statement=[ANY] + sorted(int(s) for s in f["statement"].unique()),
            channel=[ANY] + [c for c in ("speech", "song") if c in set(f["channel"])],
        )

    def filter(
        self,
        emotion=ANY,
        actor=ANY,
        sex=ANY,
        intensity=ANY,
        statement=ANY,
        channel=ANY,
        predicted=ANY,
        mistakes: bool = False,
        audio: bool = False,
    ) -> pd.DataFrame:
        """Rows matching every given filter (ANY, None or "" leaves a column unfiltered).

        predicted: the out-of-fold prediction (rows without one never match a predicted
        emotion, nor SCORED, which matches every row with one);
        mistakes: only rows whose prediction is wrong; audio: only rows playable here.
        """
        wanted = dict(
            emotion=emotion,
            actor=actor,
            sex=sex,
            intensity=intensity,
            statement=statement,
            channel=channel,
            predicted=predicted,
        )
        mask = np.ones(len(self.frame), dtype=bool)
        for column, value in wanted.items():
            if value is None or value == "" or value == ANY:
                continue
            if column == "predicted" and value == SCORED:
                mask &= (self.frame["predicted"] != "").to_numpy()
                continue
            if column in ("actor", "statement"):
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise ClipError(f"The {column} filter must be a number, got {_short(value)}.") from None
            else:
                value = str(value)
            mask &= (self.frame[column] == value).to_numpy()
        if mistakes:
            mask &= (self.frame["predicted"] != "").to_numpy() & ~self.frame["correct"].to_numpy(dtype=bool)
        if audio:
            mask &= self.frame["audio"].to_numpy(dtype=bool)
        return self.frame[mask]

    @staticmethod
    def describe(row) -> str:
        """A one-line label of a clip for a dropdown."""
        guess = f" → {row['predicted']} {'✓' if row['correct'] else '✗'}" if row["predicted"] else ""
        where = "" if row["audio"] else " · no audio"
        return (
            f"{row['id']} · {row['emotion']} ({row['intensity']}){guess} · actor {row['actor']} "
            f"({row['sex']}) · {row['channel']}{where}"
        )

    def choices(self, rows: pd.DataFrame) -> List[tuple]:
        """(description, id) pairs of these rows."""
        return [(self.describe(r), r["id"]) for _, r in rows.iterrows()]

    def table(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows as shown to users (TABLE_COLUMNS): no file paths."""
        has = rows["predicted"] != ""
        out = pd.DataFrame(
            {
                "id": rows["id"],
                "true emotion": rows["emotion"],
                "predicted": rows["predicted"],
                "probability": rows["probability"].round(2),
                "result": np.where(has, np.where(rows["correct"], "✓ right", "✗ wrong"), "on play"),
                "actor": rows["actor"],
                "sex": rows["sex"],
                "intensity": rows["intensity"],
                "statement": rows["statement"],
                "channel": rows["channel"],
                "audio": np.where(rows["audio"], "▶ here", NO_AUDIO),
            }
        )
        return out[TABLE_COLUMNS].reset_index(drop=True)

    # ----- one clip ----------------------------------------------------------------------
    def get(self, clip_id) -> pd.Series:
        """The index row of a clip id; ClipError for anything that is not an indexed id."""
        if not isinstance(clip_id, str) or not ID_RE.fullmatch(clip_id):
            raise ClipError(f"Not a clip id: {_short(clip_id)}. Choose a clip from the list.")
        if clip_id not in self._by_id.index:
            raise ClipError(
                f"Unknown clip id {clip_id}: it is neither in {self.source} nor in the "
                "out-of-fold table. Choose a clip from the list."
            )
        return self._by_id.loc[clip_id]

    def path(self, clip_id) -> Optional[str]:
        """The clip's audio file here, or None when only its prediction is known."""
        row = self.get(clip_id)
        return str(row["path"]) if row["audio"] else None

    def evaluate(self, clip_id) -> ClipResult:
        """True label, the model's probabilities (from the fairest source) and where they came from."""
        row = self.get(clip_id)
        if clip_id in self._cache:
            return self._cache[clip_id]
        actor = int(row["actor"])
        seen = actor in self.seen_actors
        if self.oof is not None and clip_id in self.oof.index and (seen or not row["audio"]):
            probs, source = {e: float(self.oof.at[clip_id, e]) for e in EMOTIONS}, OOF
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
        return dict(zip(self.predictor.labels, (probs / probs.sum()).tolist()))


def _catalogue(audio: pd.DataFrame, oof: Optional[pd.DataFrame]) -> pd.DataFrame:
    """Clips with audio here, plus the out-of-fold table's clips without (path None), each with
    the out-of-fold prediction where there is one ("" and NaN where not)."""
    frame = audio.assign(audio=True)
    if oof is not None:
        extra = [i for i in oof.index if i not in set(frame["id"])]
        rows = []
        for clip_id in extra:
            p = parse_name(clip_id)
            rows.append(
                dict(
                    id=clip_id,
                    path=None,
                    channel=p.channel,
                    emotion=p.emotion,
                    label=p.label,
                    intensity=p.intensity,
                    statement=p.statement_code,
                    repetition=p.repetition,
                    actor=p.actor,
                    sex=p.sex,
                    audio=False,
                )
            )
        if rows:
            frame = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)
    frame["predicted"], frame["probability"], frame["correct"] = "", np.nan, False
    if oof is not None:
        probs = oof.reindex(frame["id"])[list(EMOTIONS)].to_numpy(dtype=float)
        has = ~np.isnan(probs).any(axis=1)
        probs = np.where(has[:, None], probs, 1.0)
        probs = probs / probs.sum(axis=1, keepdims=True)  # the table is rounded to 4 decimals
        frame["predicted"] = np.where(has, np.asarray(EMOTIONS, dtype=object)[probs.argmax(axis=1)], "")
        frame["probability"] = np.where(has, probs.max(axis=1), np.nan)
        frame["correct"] = has & (frame["predicted"].to_numpy() == frame["emotion"].to_numpy())
    frame["audio"] = frame["audio"].astype(bool)
    return frame


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

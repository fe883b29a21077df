"""The catalogue behind the Examples tab: which RAVDESS clips there are and what is known about
each, free of any model and any user interface.

A row per clip with audio in the given folders (ravdess.index_dataset) and per clip of the
out-of-fold table (oof_predictions.csv: a probability column per label of the checkpoint), audio
or not: its RAVDESS fields from the file name, whether its audio is here, and the out-of-fold
prediction where there is one (predicted, its probability, correct). It filters the rows (also by
predicted emotion and "mistakes only": a confusion-matrix cell is filter(emotion=T, predicted=P)),
describes them for a dropdown and a table, and looks clips up by id only, never by a path a client
sent. emotion.evaluation.clips.ExampleLibrary adds the model's fair judgement of one clip.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..labels import EMOTIONS
from .ravdess import index_dataset, parse_name

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
# the columns of ravdess.index_dataset, read off a parsed name (for clips known only by their id)
NAME_FIELDS = dict(
    channel="channel",
    emotion="emotion",
    label="label",
    intensity="intensity",
    statement="statement_code",
    repetition="repetition",
    actor="actor",
    sex="sex",
)


class ClipError(InputError):
    """A clip id that is malformed or not in the index; the message is written for users."""


class ClipCatalogue:
    """RAVDESS clips (audio here and/or an out-of-fold prediction over `labels`, the checkpoint's)."""

    def __init__(self, data_dirs: Sequence[Path], oof_path, labels: Sequence[str]):
        self.data_dirs = list(data_dirs)
        self.data_dir = self.data_dirs[0]
        self.labels = tuple(labels)
        found = [f for f in (index_dataset(d) for d in self.data_dirs) if not f.empty]
        if not found:
            raise FileNotFoundError(f"No RAVDESS clips (*.wav, *.flac) under {self.data_dir}")
        audio = pd.concat(found).drop_duplicates("id").reset_index(drop=True)
        self.oof = read_oof(oof_path, self.labels)
        self.frame = catalogue(audio, self.oof, self.labels).sort_values(  # clips with audio first
            ["audio", "actor", "channel", "label", "id"], ascending=[False, True, True, True, True], ignore_index=True
        )
        self._by_id = self.frame.set_index("id", drop=False)

    @property
    def source(self) -> str:
        """Where the audio comes from, for people: "`ravdess160/` + `ravdess/`"."""
        return " + ".join(f"`{d.name}/`" for d in self.data_dirs)

    @property
    def n_audio(self) -> int:
        return int(self.frame["audio"].sum())

    def options(self) -> Dict[str, list]:
        """The values each filter can take in this catalogue (ANY first), for dropdowns: true
        emotions in RAVDESS's order, predicted ones in the checkpoint's."""
        f = self.frame
        return dict(
            emotion=[ANY] + [e for e in EMOTIONS if e in set(f["emotion"])],
            predicted=[ANY, SCORED] + [e for e in self.labels if e in set(f["predicted"])],
            actor=[ANY] + sorted(int(a) for a in f["actor"].unique()),
            sex=[ANY] + [s for s in ("female", "male") if s in set(f["sex"])],
            intensity=[ANY] + [i for i in ("normal", "strong") if i in set(f["intensity"])],
            statement=[ANY] + sorted(int(s) for s in f["statement"].unique()),
            channel=[ANY] + [c for c in ("speech", "song") if c in set(f["channel"])],
        )

    def filter(self, *, mistakes: bool = False, audio: bool = False, **wanted) -> pd.DataFrame:
        """Rows matching every filter given by its column's name (FILTERS: emotion, actor, sex,
        intensity, statement, channel, predicted); ANY, None or "" leaves a column unfiltered.

        predicted: the out-of-fold prediction (rows without one never match a predicted
        emotion, nor SCORED, which matches every row with one);
        mistakes: only rows whose prediction is wrong; audio: only rows playable here.
        """
        unknown = sorted(set(wanted) - set(FILTERS))
        if unknown:
            raise TypeError(f"No such filter: {', '.join(unknown)} (the filters: {', '.join(FILTERS)})")
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

    @staticmethod
    def table(rows: pd.DataFrame) -> pd.DataFrame:
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

    def get(self, clip_id) -> pd.Series:
        """The row of a clip id; ClipError for anything that is not a catalogued id."""
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


def catalogue(audio: pd.DataFrame, oof: Optional[pd.DataFrame], labels: Sequence[str]) -> pd.DataFrame:
    """Clips with audio here, plus the out-of-fold table's clips without (path None), each with
    the out-of-fold prediction over `labels` where there is one ("" and NaN where not)."""
    frame = audio.assign(audio=True)
    if oof is not None:
        extra = [i for i in oof.index if i not in set(frame["id"])]
        rows = [
            dict(id=i, path=None, audio=False, **{column: getattr(p, field) for column, field in NAME_FIELDS.items()})
            for i, p in zip(extra, map(parse_name, extra))
        ]
        if rows:
            frame = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)
    frame["predicted"], frame["probability"], frame["correct"] = "", np.nan, False
    if oof is not None:
        probs = oof.reindex(frame["id"])[list(labels)].to_numpy(dtype=float)
        has = ~np.isnan(probs).any(axis=1)
        probs = np.where(has[:, None], probs, 1.0)
        probs = probs / probs.sum(axis=1, keepdims=True)  # the table is rounded to 4 decimals
        frame["predicted"] = np.where(has, np.asarray(labels, dtype=object)[probs.argmax(axis=1)], "")
        frame["probability"] = np.where(has, probs.max(axis=1), np.nan)
        frame["correct"] = has & (frame["predicted"].to_numpy() == frame["emotion"].to_numpy())
    frame["audio"] = frame["audio"].astype(bool)
    return frame


def read_oof(path, labels: Sequence[str]) -> Optional[pd.DataFrame]:
    """The out-of-fold table (index: clip id; a probability column per label), or None without one."""
    if path is None or not Path(path).is_file():
        return None
    table = pd.read_csv(path, dtype={"id": str})
    missing = [c for c in ("id", *labels) if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks the columns {missing}")
    return table.set_index("id")


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"

"""RAVDESS: file names, the dataset index, loading clips.

File names are `MM-VV-EE-II-SS-RR-AA.ext`: modality (03 audio-only), vocal channel (01 speech,
02 song), emotion (01-08, EMOTIONS order), intensity (01 normal, 02 strong), statement (01
"Kids are talking by the door", 02 "Dogs are sitting by the door"), repetition (01, 02), actor
(01-24; odd male, even female).

The torch Dataset and augmentation used for training live in emotion.training.data, the speaker
(actor) folds in emotion.training.folds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..audio import AudioError, load_audio
from ..audio.speech import trim_silence
from ..labels import EMOTIONS

NAME_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
CHANNELS = {1: "speech", 2: "song"}
INTENSITIES = {1: "normal", 2: "strong"}
STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}
ALL_ACTORS = tuple(range(1, 25))
BLIND_ACTORS = (21, 22, 23, 24)  # held back: the blind test of the shipped checkpoint


@dataclass(frozen=True)
class RavdessName:
    modality: int
    vocal_channel: int
    emotion_code: int
    intensity_code: int
    statement_code: int
    repetition: int
    actor: int

    @property
    def emotion(self) -> str:
        return EMOTIONS[self.emotion_code - 1]

    @property
    def label(self) -> int:
        return self.emotion_code - 1

    @property
    def channel(self) -> str:
        return CHANNELS[self.vocal_channel]

    @property
    def intensity(self) -> str:
        return INTENSITIES[self.intensity_code]

    @property
    def statement(self) -> str:
        return STATEMENTS[self.statement_code]

    @property
    def sex(self) -> str:
        return "male" if self.actor % 2 else "female"


def parse_name(name: str) -> RavdessName:
    """Parse a RAVDESS file name (with or without folder and extension); ValueError if it isn't one."""
    stem = Path(name).name.split(".")[0]
    m = NAME_RE.match(stem)
    if not m:
        raise ValueError(f"Not a RAVDESS file name (MM-VV-EE-II-SS-RR-AA): {name!r}")
    p = RavdessName(*(int(g) for g in m.groups()))
    ok = (
        p.modality in (1, 2, 3)
        and p.vocal_channel in CHANNELS
        and 1 <= p.emotion_code <= len(EMOTIONS)
        and p.intensity_code in INTENSITIES
        and p.statement_code in STATEMENTS
        and p.repetition in (1, 2)
        and 1 <= p.actor <= 24
    )
    if not ok:
        raise ValueError(f"RAVDESS file name with a field out of range: {name!r}")
    return p


def index_dataset(data_dir, channels: Sequence[str] = ("speech", "song")) -> pd.DataFrame:
    """Every RAVDESS clip under data_dir (recursive, *.wav and *.flac), one row per take.

    Works on the Zenodo layout (Actor_XX/*.wav) and on ours (speech|song/Actor_XX/*.flac).
    When a take appears twice (a WAV original beside its FLAC copy), the copy inside an
    Actor_XX folder wins. Columns: id, path, channel, emotion, label, intensity, statement,
    repetition, actor, sex.
    """
    rows = {}
    for path in sorted(Path(data_dir).rglob("*")):
        if path.suffix.lower() not in (".wav", ".flac") or not path.is_file():
            continue
        try:
            p = parse_name(path.name)
        except ValueError:
            continue
        if p.channel not in channels:
            continue
        in_actor_dir = path.parent.name.startswith("Actor_")
        if path.stem in rows and not in_actor_dir:
            continue
        rows[path.stem] = dict(
            id=path.stem,
            path=str(path),
            channel=p.channel,
            emotion=p.emotion,
            label=p.label,
            intensity=p.intensity,
            statement=p.statement_code,
            repetition=p.repetition,
            actor=p.actor,
            sex=p.sex,
        )
    columns = ["id", "path", "channel", "emotion", "label", "intensity", "statement", "repetition", "actor", "sex"]
    return pd.DataFrame(list(rows.values()), columns=columns).reset_index(drop=True)


def load_waves(paths: Sequence[str], desc: str = "loading") -> List[np.ndarray]:
    """The trimmed 16 kHz speech of each clip (the same load and trim as inference)."""
    waves = []
    for path in tqdm(paths, desc=desc, leave=False, disable=len(paths) < 50):
        wave = load_audio(path)
        try:
            wave = trim_silence(wave)
        except AudioError:
            pass  # keep the whole take rather than drop a labelled clip
        waves.append(wave)
    return waves

"""RAVDESS: file names, the dataset index, speaker-independent actor folds, the torch Dataset.

File names are `MM-VV-EE-II-SS-RR-AA.ext`: modality (03 audio-only), vocal channel (01 speech,
02 song), emotion (01-08, EMOTIONS order), intensity (01 normal, 02 strong), statement (01
"Kids are talking by the door", 02 "Dogs are sitting by the door"), repetition (01, 02), actor
(01-24; odd male, even female).

    python -m emotion.data download --dest DIR   # fetch and unpack the Zenodo zips
    python -m emotion.data index --data-dir DIR  # print a summary of a local copy
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd
import torch
import torchaudio
from torch.utils.data import Dataset
from tqdm import tqdm

from .audio import N_SAMPLES, AudioError, load_audio, pad_or_trim, trim_silence
from .labels import EMOTIONS

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
    ok = (p.modality in (1, 2, 3) and p.vocal_channel in CHANNELS and 1 <= p.emotion_code <= len(EMOTIONS)
          and p.intensity_code in INTENSITIES and p.statement_code in STATEMENTS
          and p.repetition in (1, 2) and 1 <= p.actor <= 24)
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
            id=path.stem, path=str(path), channel=p.channel, emotion=p.emotion, label=p.label,
            intensity=p.intensity, statement=p.statement_code, repetition=p.repetition,
            actor=p.actor, sex=p.sex,
        )
    columns = ["id", "path", "channel", "emotion", "label", "intensity", "statement",
               "repetition", "actor", "sex"]
    return pd.DataFrame(list(rows.values()), columns=columns).reset_index(drop=True)


def actor_folds(actors: Sequence[int], k: int) -> List[List[int]]:
    """Split actors into k disjoint folds of consecutive numbers (so each mixes both sexes)."""
    actors = sorted(set(int(a) for a in actors))
    if not 2 <= k <= len(actors):
        raise ValueError(f"Need 2 <= k <= {len(actors)} actors, got k={k}")
    return [list(chunk) for chunk in np.array_split(actors, k)]


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


@dataclass
class Augment:
    """Training-time randomness. Inference uses none of it (Dataset with augment=None)."""
    speed: tuple = (0.9, 1.1)  # speed perturbation range (changes tempo and pitch)
    speed_prob: float = 0.3
    gain_db: float = 6.0  # +-dB on the speech before noise is added (sets the noise's SNR)
    noise_prob: float = 0.1
    noise_dbfs: tuple = (-60.0, -35.0)  # level of added white noise
    freq_mask: int = 8  # SpecAugment: up to this many mel bins, twice
    time_mask: int = 30  # SpecAugment: up to this many frames, twice
    mixup_alpha: float = 0.0  # 0 disables mixup


class RavdessDataset(Dataset):
    """Fixed-length 16 kHz waves and labels. Features are computed per batch by the caller
    with features.log_mel_spectrogram, the same function inference uses.

    With augment=None every item is the centred clip, exactly as Predictor prepares it.
    """

    def __init__(self, frame: pd.DataFrame, augment: Optional[Augment] = None, seed: int = 0,
                 waves: Optional[List[np.ndarray]] = None):
        self.frame = frame.reset_index(drop=True)
        self.labels = torch.tensor(self.frame["label"].to_numpy(), dtype=torch.long)
        self.waves = waves if waves is not None else load_waves(list(self.frame["path"]))
        self.augment = augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, i: int):
        wave = self.waves[i]
        a = self.augment
        if a is None:
            return torch.from_numpy(pad_or_trim(wave)), self.labels[i]
        r = self.rng
        if r.random() < a.speed_prob:
            speed = r.uniform(*a.speed)
            # resampling from speed*100 to 100 plays the clip `speed` times faster
            with torch.no_grad():
                wave = _speed_resampler(int(round(speed * 100)))(torch.from_numpy(wave)).numpy()
        slack = abs(N_SAMPLES - len(wave))
        wave = pad_or_trim(wave, offset=int(r.integers(0, slack + 1)))
        wave = wave * np.float32(10 ** (r.uniform(-a.gain_db, a.gain_db) / 20))
        if r.random() < a.noise_prob:
            level = 10 ** (r.uniform(*a.noise_dbfs) / 20)
            wave = wave + r.normal(0.0, level, size=wave.shape).astype(np.float32)
        return torch.from_numpy(np.clip(wave, -1, 1).astype(np.float32)), self.labels[i]


@lru_cache(maxsize=64)
def _speed_resampler(rate: int) -> torchaudio.transforms.Resample:
    """rate -> 100 resampler with its sinc kernel computed once (the same kernel as
    torchaudio.functional.resample, which would rebuild it on every call)."""
    return torchaudio.transforms.Resample(rate, 100)


def spec_augment(mel: torch.Tensor, augment: Augment, generator: torch.Generator) -> torch.Tensor:
    """SpecAugment: two frequency and two time masks per spectrogram, filled with its mean.

    mel : shape = (batch, n_mels, n_frames); returns a new tensor of the same shape.
    """
    out = mel.clone()
    for b in range(out.shape[0]):
        fill = float(out[b].mean())
        for _ in range(2):
            out[b] = _mask(out[b], augment.freq_mask, 0, fill, generator)
            out[b] = _mask(out[b], augment.time_mask, 1, fill, generator)
    return out


def _mask(spec: torch.Tensor, width: int, axis: int, fill: float, g: torch.Generator) -> torch.Tensor:
    size = spec.shape[axis]
    w = int(torch.randint(0, width + 1, (1,), generator=g))
    start = int(torch.randint(0, max(1, size - w), (1,), generator=g))
    if axis == 0:
        spec[start:start + w, :] = fill
    else:
        spec[:, start:start + w] = fill
    return spec


def _main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "download":
        from . import download
        return download.main(argv[1:])
    if argv and argv[0] == "index":
        import argparse
        ap = argparse.ArgumentParser(prog="python -m emotion.data index")
        ap.add_argument("--data-dir", required=True)
        args = ap.parse_args(argv[1:])
        df = index_dataset(args.data_dir)
        print(f"{len(df)} clips, actors {sorted(df.actor.unique().tolist())}")
        print(pd.crosstab(df.emotion, df.channel).reindex(list(EMOTIONS)).fillna(0).astype(int))
        return 0
    print("usage: python -m emotion.data {download --dest DIR | index --data-dir DIR}")
    return 2


if __name__ == "__main__":
    sys.exit(_main())

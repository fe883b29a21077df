"""Training data: augmentation settings, the torch Dataset of fixed-length clips (of any corpus),
SpecAugment.

Inference uses none of this: emotion.audio.speech.prepare is the whole inference path. RAVDESS's file
names and index are the library's (emotion.data.ravdess); speaker folds are emotion.training.folds.

    python -m emotion.training.data download --dest DIR   # fetch and unpack the Zenodo zips
    python -m emotion.training.data index --data-dir DIR  # print a summary of a local copy
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional

import numpy as np
import pandas as pd
import torch
import torchaudio
from torch.utils.data import Dataset

from ..audio import N_SAMPLES, pad_or_trim
from ..data.ravdess import index_dataset, load_waves
from ..labels import EMOTIONS


@dataclass
class Augment:
    """Training-time randomness. Inference uses none of it (Dataset with augment=None)."""

    speed: tuple = (0.9, 1.1)  # speed perturbation range (changes tempo and pitch)
    speed_prob: float = 0.3
    warp: float = 0.0  # > 0: pitch and tempo perturbed apart, each by a factor in 1 +- warp (0: together)
    gain_db: float = 6.0  # +-dB on the speech before noise is added (sets the noise's SNR)
    noise_prob: float = 0.1
    noise_dbfs: tuple = (-60.0, -35.0)  # level of added white noise
    freq_mask: int = 8  # SpecAugment: up to this many mel bins, twice
    time_mask: int = 30  # SpecAugment: up to this many frames, twice
    mixup_alpha: float = 0.0  # 0 disables mixup


class ClipDataset(Dataset):
    """Fixed-length 16 kHz waves and labels of a frame's clips (columns path, label; any corpus).
    Features are computed per batch by the caller with features.log_mel_spectrogram, the same
    function inference uses.

    With augment=None every item is the centred clip, exactly as Predictor prepares it.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        augment: Optional[Augment] = None,
        seed: int = 0,
        waves: Optional[List[np.ndarray]] = None,
    ):
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
            if a.warp:
                wave = pitch_tempo(wave, r.uniform(1 - a.warp, 1 + a.warp), r.uniform(1 - a.warp, 1 + a.warp))
            else:
                wave = pitch_tempo(wave, r.uniform(*a.speed))
        slack = abs(N_SAMPLES - len(wave))
        wave = pad_or_trim(wave, offset=int(r.integers(0, slack + 1)))
        wave = wave * np.float32(10 ** (r.uniform(-a.gain_db, a.gain_db) / 20))
        if r.random() < a.noise_prob:
            level = 10 ** (r.uniform(*a.noise_dbfs) / 20)
            wave = wave + r.normal(0.0, level, size=wave.shape).astype(np.float32)
        return torch.from_numpy(np.clip(wave, -1, 1).astype(np.float32)), self.labels[i]


_STFT = 512  # the phase vocoder's frame (32 ms at 16 kHz)


def pitch_tempo(wave: np.ndarray, pitch: float, tempo: Optional[float] = None) -> np.ndarray:
    """The wave played `pitch` times faster (resampled: pitch, formants and tempo all scaled by it,
    the factor rounded to a hundredth), then, when a tempo is given, stretched by a phase vocoder so
    that its tempo is `tempo` times the original's while the pitch stays scaled: pitch (and the vocal
    tract's formants with it, as vocal-tract-length perturbation does) and speaking rate drawn apart.
    A wave shorter than one vocoder frame (32 ms) is only resampled."""
    rate = int(round(pitch * 100))
    with torch.no_grad():
        x = _speed_resampler(rate)(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)))
        if tempo is None or len(x) < _STFT:
            return x.numpy()
        stretch = tempo * 100 / rate  # the stretch still needed after the resampling
        window = torch.hann_window(_STFT)
        spec = torch.stft(x, _STFT, _STFT // 4, window=window, return_complex=True)
        advance = torch.linspace(0, np.pi * (_STFT // 4), spec.shape[-2])[:, None]
        spec = torchaudio.functional.phase_vocoder(spec, stretch, advance)
        out = torch.istft(spec, _STFT, _STFT // 4, window=window, length=int(round(len(x) / stretch)))
        out = out * (x.norm() / out.norm().clamp_min(1e-8))  # the vocoder's phases cost ~3 dB: keep the energy
    return out.numpy().astype(np.float32)


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
        spec[start : start + w, :] = fill
    else:
        spec[:, start : start + w] = fill
    return spec


def _main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "download":
        from . import download

        return download.main(argv[1:])
    if argv and argv[0] == "index":
        import argparse

        ap = argparse.ArgumentParser(prog="python -m emotion.training.data index")
        ap.add_argument("--data-dir", required=True)
        args = ap.parse_args(argv[1:])
        df = index_dataset(args.data_dir)
        print(f"{len(df)} clips, actors {sorted(df.actor.unique().tolist())}")
        print(pd.crosstab(df.emotion, df.channel).reindex(list(EMOTIONS)).fillna(0).astype(int))
        return 0
    print("usage: python -m emotion.training.data {download --dest DIR | index --data-dir DIR}")
    return 2


if __name__ == "__main__":
    sys.exit(_main())

"""Log-mel spectrogram: the one feature function used by training and inference alike.

The spectrogram is in dB relative to its own loudest bin, floored TOP_DB below it, so values
lie in [-TOP_DB, 0]: a louder or quieter recording of the same voice gives the same features
(loudness is not read as anger), and near-silent detail that differs between resamplers and
microphones is cut off by the floor. Per-bin standardisation with training-set statistics
happens inside the model (its `mean`/`std` buffers), so it travels with the checkpoint.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Optional, Union

import numpy as np
import torch
import torchaudio

from ..audio import N_SAMPLES, SAMPLE_RATE, load_audio

N_FFT = 512  # 32 ms FFT at 16 kHz (the 25 ms window below is zero-padded to it)
WIN_LENGTH = 400  # 25 ms analysis window
HOP_LENGTH = SAMPLE_RATE // 100  # 160 samples = 10 ms: 100 frames per second
N_MELS = 64
F_MIN, F_MAX = 20.0, 8000.0
TOP_DB = 70.0  # floor: anything more than 70 dB below the loudest bin is set to -70
N_FRAMES = N_SAMPLES // HOP_LENGTH + 1  # 301 frames in a 3-second clip (centred STFT)

FEATURE_CONFIG = dict(
    sample_rate=SAMPLE_RATE,
    n_fft=N_FFT,
    win_length=WIN_LENGTH,
    hop_length=HOP_LENGTH,
    n_mels=N_MELS,
    f_min=F_MIN,
    f_max=F_MAX,
    top_db=TOP_DB,
)


@lru_cache(maxsize=4)
def _mel(device: str = "cpu") -> torchaudio.transforms.MelSpectrogram:
    """The mel filterbank and window, built once per device (training on a GPU computes the
    features there)."""
    settings = {k: v for k, v in FEATURE_CONFIG.items() if k != "top_db"}  # what a checkpoint records
    return torchaudio.transforms.MelSpectrogram(**settings, power=2.0, norm="slaney", mel_scale="slaney").to(device)


def log_mel_spectrogram(audio: Union[str, np.ndarray, torch.Tensor], sample_rate: Optional[int] = None) -> torch.Tensor:
    """Log-mel spectrogram in dB relative to its maximum, in [-TOP_DB, 0].

    audio : a path (loaded with load_audio), or a 16 kHz mono signal as a numpy array or
        tensor, shape = (samples,) or (batch, samples); pass sample_rate to resample and downmix
        an array of another rate first. A tensor on a GPU is processed there.
    returns : torch.Tensor, shape = (n_mels, n_frames) or (batch, n_mels, n_frames), on the
        input's device
    """
    if isinstance(audio, (str, os.PathLike)) or sample_rate not in (None, SAMPLE_RATE):
        audio = load_audio(audio, sample_rate)
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32)) if not torch.is_tensor(audio) else audio.float()
    with torch.no_grad():
        db = 10.0 * torch.log10(_mel(str(x.device))(x).clamp(min=1e-10))  # (..., n_mels, n_frames)
        ref = db.amax(dim=(-2, -1), keepdim=True)  # each spectrogram's own loudest bin
        return torch.maximum(db, ref - TOP_DB) - ref

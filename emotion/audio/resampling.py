"""Resampling to the model's rate, whole or piece by piece with the same result.

    SAMPLE_RATE                         16 kHz: everything after decoding runs at this rate
    resample(wave, rate)                a 1-D float32 signal at SAMPLE_RATE, same duration and pitch
    StreamResampler(rate)(piece)        the same samples resample() gives the whole signal, piece by piece

The filter is a steep Kaiser-windowed sinc ("kaiser_best"): almost nothing is left above 7.6 kHz,
as in the sox-resampled training FLACs (torchaudio's default filter leaves ~-30 dB there). Rates
are checked by the caller (emotion.audio.check_rate).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torchaudio

SAMPLE_RATE = 16000  # Hz; everything after decoding runs at this rate
CONTEXT_SECONDS = 0.025  # > the resampling filter's half-length at every accepted input rate (>= 4 kHz)


MIN_PHASES = 16  # output samples per filter step: below this, torch's conv1d is slow (48 -> 16 kHz: 1 phase)


class _Resampler:
    """torchaudio's Resample with the same kernel and the same sums, laid out for a faster conv1d.

    torchaudio convolves with one filter per output phase (new / gcd of them) at a stride of
    orig / gcd input samples: 48 -> 16 kHz is a single 409-tap filter at stride 3, a shape
    torch's conv1d runs at a tenth of its usual speed. Here m consecutive steps become one, with
    m * phases filters (each the original one, shifted by the stride) at m times the stride: the
    products are the same and so are the samples, to float32 rounding (tested), the layout is not.
    """

    def __init__(self, orig_sr: int, new_sr: int):
        base = torchaudio.transforms.Resample(
            orig_sr,
            new_sr,
            resampling_method="sinc_interp_kaiser",
            lowpass_filter_width=64,
            rolloff=0.9475,
            beta=14.769656459379492,
        )
        g = math.gcd(orig_sr, new_sr)
        self.orig, self.new, self.width = orig_sr // g, new_sr // g, base.width
        self.m = max(1, math.ceil(MIN_PHASES / self.new))
        k = base.kernel.shape[-1]
        self.kernel = torch.zeros(self.new * self.m, 1, k + self.orig * (self.m - 1))
        for i in range(self.m):
            self.kernel[i * self.new : (i + 1) * self.new, :, self.orig * i : self.orig * i + k] = base.kernel

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        n = wave.shape[-1]
        x = torch.nn.functional.pad(wave.reshape(1, 1, n), (self.width, self.width + self.orig * self.m))
        y = torch.nn.functional.conv1d(x, self.kernel, stride=self.orig * self.m)
        return y.transpose(1, 2).reshape(-1)[: math.ceil(self.new * n / self.orig)]


@lru_cache(maxsize=16)
def _resampler(orig_sr: int, new_sr: int) -> _Resampler:
    return _Resampler(orig_sr, new_sr)


def resample(wave: np.ndarray, orig_sr: int, new_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a 1-D float32 signal, keeping its duration and pitch."""
    if orig_sr == new_sr:
        return wave.astype(np.float32, copy=False)
    with torch.inference_mode():
        out = _resampler(int(orig_sr), int(new_sr))(torch.from_numpy(np.ascontiguousarray(wave, np.float32)))
    return out.numpy()


class StreamResampler:
    """Piece-by-piece resampling to SAMPLE_RATE that gives the same samples as resampling the whole
    signal at once (to float rounding), at the cost of holding back CONTEXT_SECONDS: the live
    microphone's chunks and a long file's blocks go through it.

    Every call resamples [context, held-back samples, new piece] with resample() and keeps
    only the output whose filter saw real samples on both sides; the rest waits for the next
    piece, or for flush() at the end of the signal.
    """

    def __init__(self, sample_rate: int):
        self.sample_rate = int(sample_rate)
        g = math.gcd(self.sample_rate, SAMPLE_RATE)
        self.step_in, self.step_out = self.sample_rate // g, SAMPLE_RATE // g  # aligned block sizes
        self.context = self.step_in * math.ceil(CONTEXT_SECONDS * self.sample_rate / self.step_in)
        self.buffer = np.zeros(self.context, np.float32)  # context (zeros: the signal's start), then pending
        self.received = 0  # input samples so far

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        self.received += len(wave)
        if self.sample_rate == SAMPLE_RATE:
            return wave.astype(np.float32, copy=False)
        x = np.concatenate([self.buffer, wave.astype(np.float32, copy=False)])
        ready = (len(x) - 2 * self.context) // self.step_in * self.step_in  # input samples complete now
        if ready <= 0:
            self.buffer = x
            return np.zeros(0, np.float32)
        y = resample(x, self.sample_rate)
        a = self.context // self.step_in * self.step_out
        out = y[a : a + ready // self.step_in * self.step_out]
        self.buffer = x[ready:]  # the next call's context and the samples still pending
        return out

    def flush(self) -> np.ndarray:
        """The samples still held back, as resampling the whole signal would end it (zeros after)."""
        if self.sample_rate == SAMPLE_RATE:
            return np.zeros(0, np.float32)
        total = math.ceil(self.received * SAMPLE_RATE / self.sample_rate)  # what resample() gives for it all
        done = self.received - (len(self.buffer) - self.context)  # input samples already given out
        out = self(np.zeros(2 * self.context + self.step_in, np.float32))
        return out[: max(0, total - int(done * SAMPLE_RATE // self.sample_rate))]

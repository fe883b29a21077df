"""Audio front end: read, downmix, resample to 16 kHz, find the speech, pad or crop.

Everything that reaches the model passes through here, in training and at inference alike:

    load_audio(path | bytes | array)  -> float32 mono 16 kHz in [-1, 1], DC removed, validated
    speech_bounds(wave)               -> (start, end) sample indices of the speech, or AudioError
                                         (emotion.speech, re-exported here)
    pad_or_trim(wave, offset=None)    -> exactly N_SAMPLES, centred unless an offset is given
    prepare(source)                   -> the three above, in order: what the model sees

Streaming (emotion.live) and block-wise decoding (emotion.timeline) use the same pieces as
load_audio: check_rate, to_mono, and StreamResampler, which gives the samples resample() gives
the whole signal.
"""

from __future__ import annotations

import io
import math
import os
from functools import lru_cache
from typing import List, Optional, Tuple, Union

import numpy as np
import soundfile as sf
import torch
import torchaudio

from .errors import InputError

SAMPLE_RATE = 16000  # Hz; everything after load_audio runs at this rate
CLIP_SECONDS = 3.0  # the model's fixed input length
N_SAMPLES = int(CLIP_SECONDS * SAMPLE_RATE)  # 48000 samples in a 3-second clip

MIN_SECONDS = 0.5  # shorter input is refused: too little to judge an emotion
MIN_SPEECH_SECONDS = 0.3  # after trimming silence, at least this much speech must remain
MAX_SECONDS = 30 * 60.0  # longest input accepted at all (30 minutes); the app caps lower

FRAME = 400  # 25 ms analysis frame for the speech detector
HOP = 160  # 10 ms hop: 100 frames per second
SILENCE_DBFS = -55.0  # loudest frame quieter than this: silence
TRIM_DB = 35.0  # frames more than this below the loudest frame count as pauses
PAD_SECONDS = 0.1  # keep this much around the detected speech (onsets, releases)
PAUSE_SECONDS = 0.5  # a silence this long separates two stretches of speech
MIN_BURST_SECONDS = 0.4  # a stretch shorter than this is a click or a breath, not speech

MIN_RATE, MAX_RATE = 4000, 384000  # Hz: input sample rates accepted
RESAMPLE_CONTEXT_SECONDS = 0.025  # > the resampling filter's half-length at every rate >= MIN_RATE

SUPPORTED = "WAV, FLAC, OGG or MP3"

AudioSource = Union[str, os.PathLike, bytes, np.ndarray, torch.Tensor]


NO_SAMPLES = "The audio contains no samples. Record again or upload another file."
NON_FINITE = "The audio contains invalid values (NaN or infinity); the file is damaged."


class AudioError(InputError):
    """Input that cannot be analysed; the message tells the user what to do about it."""


def read_audio(source: AudioSource, sample_rate: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """Read a path, encoded bytes or an array into float32 samples, shape = (samples, channels).

    Arrays may be int8/uint8/int16/int32 or float, shape (samples,) or (samples, channels);
    their sample_rate is required.
    """
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu().numpy()
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise AudioError("An audio array needs its sample rate (sample_rate=...).")
        return _array_to_float(source), int(sample_rate)
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise AudioError("The audio data is empty. Record or upload a file with speech in it.")
        return _decode(io.BytesIO(source), "the audio data")
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise AudioError(f"No such audio file: {path}")
    if os.path.getsize(path) == 0:
        raise AudioError("The file is empty (0 bytes). Record again or upload another file.")
    return _decode(path, os.path.basename(path))


def _decode(file, name: str) -> Tuple[np.ndarray, int]:
    try:
        data, sr = sf.read(file, dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for unreadable input
        raise AudioError(
            f"Could not read {name} as audio. Upload a {SUPPORTED} file; "
            f"the file may be damaged or in another format ({type(exc).__name__})."
        ) from None
    return data, int(sr)


def _array_to_float(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise AudioError(f"Audio arrays must be (samples,) or (samples, channels), got shape {a.shape}.")
    if a.shape[0] < a.shape[1]:  # (channels, samples) as torchaudio gives it: be forgiving
        a = a.T
    if a.dtype == np.uint8:
        return (a.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(a.dtype, np.integer):
        return (a.astype(np.float64) / float(2 ** (8 * a.dtype.itemsize - 1))).astype(np.float32)
    if not np.issubdtype(a.dtype, np.floating):
        raise AudioError(f"Audio arrays must hold numbers, got dtype {a.dtype}.")
    return a.astype(np.float32, copy=False)


@lru_cache(maxsize=16)
def _resampler(orig_sr: int, new_sr: int) -> torchaudio.transforms.Resample:
    # A steep Kaiser-windowed sinc ("kaiser_best"): almost nothing is left above 7.6 kHz, as
    # in the sox-resampled training FLACs; torchaudio's default filter leaves ~-30 dB there.
    return torchaudio.transforms.Resample(
        orig_sr,
        new_sr,
        resampling_method="sinc_interp_kaiser",
        lowpass_filter_width=64,
        rolloff=0.9475,
        beta=14.769656459379492,
    )


def check_rate(sample_rate) -> int:
    """The sample rate as an int, or AudioError outside MIN_RATE..MAX_RATE."""
    sr = int(sample_rate)
    if not MIN_RATE <= sr <= MAX_RATE:
        raise AudioError(
            f"Unsupported sample rate {sr} Hz; use audio sampled at {MIN_RATE // 1000} kHz to {MAX_RATE // 1000} kHz."
        )
    return sr


def to_mono(data: np.ndarray) -> np.ndarray:
    """(samples, channels) float32 -> (samples,): channels averaged; AudioError for NaN or infinity."""
    if not np.all(np.isfinite(data)):
        raise AudioError(NON_FINITE)
    return (data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]).astype(np.float32, copy=False)


def resample(wave: np.ndarray, orig_sr: int, new_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a 1-D float32 signal, keeping its duration and pitch."""
    if orig_sr == new_sr:
        return wave.astype(np.float32, copy=False)
    with torch.inference_mode():
        out = _resampler(int(orig_sr), int(new_sr))(torch.from_numpy(np.ascontiguousarray(wave, np.float32)))
    return out.numpy()


class StreamResampler:
    """Piece-by-piece resampling to 16 kHz that gives the same samples as resampling the whole
    signal at once (to float rounding), at the cost of holding back RESAMPLE_CONTEXT_SECONDS:
    the live microphone's chunks and the timeline's blocks go through it.

    Every call resamples [context, held-back samples, new piece] with resample() and keeps
    only the output whose filter saw real samples on both sides; the rest waits for the next
    piece, or for flush() at the end of the signal.
    """

    def __init__(self, sample_rate: int):
        self.sample_rate = check_rate(sample_rate)
        g = math.gcd(self.sample_rate, SAMPLE_RATE)
        self.step_in, self.step_out = self.sample_rate // g, SAMPLE_RATE // g  # aligned block sizes
        self.context = self.step_in * math.ceil(RESAMPLE_CONTEXT_SECONDS * self.sample_rate / self.step_in)
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


def load_audio(source: AudioSource, sample_rate: Optional[int] = None, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Any supported input -> float32 mono at SAMPLE_RATE in [-1, 1], DC offset removed.

    Raises AudioError for empty, non-finite, too short or too long input.
    """
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source):
        try:  # refuse a long file from its header, before decoding all of it
            seconds = sf.info(os.fspath(source)).duration
        except Exception:
            seconds = None  # unreadable: read_audio says why
        if seconds is not None and seconds > max_seconds:
            raise AudioError(too_long(seconds, max_seconds))
    data, sr = read_audio(source, sample_rate)
    if data.size == 0 or data.shape[0] == 0:
        raise AudioError(NO_SAMPLES)
    wave = to_mono(data)
    sr = check_rate(sr)
    seconds = data.shape[0] / sr
    if seconds < MIN_SECONDS:
        raise AudioError(
            f"The audio is too short ({seconds * 1000:.0f} ms). Record at least "
            f"{MIN_SECONDS:g} s of speech, ideally a sentence (2-4 s)."
        )
    if seconds > max_seconds:
        raise AudioError(too_long(seconds, max_seconds))
    peak = float(np.abs(wave).max())
    if peak > 1.0:  # unnormalised float input: scale into [-1, 1] (features ignore gain anyway)
        wave = wave / peak
    wave = resample(wave.astype(np.float32), sr)
    wave = wave - wave.mean()
    return np.clip(wave, -1.0, 1.0).astype(np.float32)


def too_long(
    seconds: float, max_seconds: float, hint: str = "Cut it shorter, or use the timeline for long recordings."
) -> str:
    """The message for input over max_seconds."""
    return f"The audio is too long ({seconds / 60:.1f} min); the limit here is {max_seconds / 60:g} min. {hint}"


def pad_or_trim(wave: np.ndarray, length: int = N_SAMPLES, offset: Optional[int] = None) -> np.ndarray:
    """Exactly `length` samples: zero-pad or crop.

    offset=None centres the signal (deterministic, for inference). Otherwise, for a longer
    wave, offset is the first sample kept; for a shorter one, the number of zeros put before it.
    """
    n = len(wave)
    if offset is not None and not 0 <= offset <= abs(n - length):
        raise ValueError(f"offset {offset} outside 0..{abs(n - length)} for {n} -> {length} samples")
    if n == length:
        return wave.astype(np.float32, copy=False)
    if n > length:
        start = (n - length) // 2 if offset is None else int(offset)
        return wave[start : start + length].astype(np.float32, copy=False)
    before = (length - n) // 2 if offset is None else int(offset)
    out = np.zeros(length, dtype=np.float32)
    out[before : before + n] = wave
    return out


def clip_batch(waves: List[np.ndarray]) -> torch.Tensor:
    """Centred fixed-length clips (pad_or_trim) stacked as the model takes them,
    shape = (len(waves), N_SAMPLES)."""
    return torch.stack([torch.from_numpy(pad_or_trim(w)) for w in waves])


def prepare(source: AudioSource, sample_rate: Optional[int] = None) -> np.ndarray:
    """What the model sees: load, trim the silence, centre-pad or crop to N_SAMPLES."""
    return pad_or_trim(trim_silence(load_audio(source, sample_rate)))


# Speech detection lives in emotion.speech (it imports the constants above); its names stay
# importable from here, where the rest of the code has always found them.
from .speech import (
    active_regions,
    check_speech,
    frame_db,
    frames_to_samples,
    speech_bounds,  # noqa: E402
    speech_span,
    sustained_level,
    trim_silence,
)

__all__ = [
    "AudioError",
    "AudioSource",
    "StreamResampler",
    "check_rate",
    "clip_batch",
    "load_audio",
    "pad_or_trim",
    "prepare",
    "read_audio",
    "resample",
    "to_mono",
    "too_long",
    "active_regions",
    "check_speech",
    "frame_db",
    "frames_to_samples",
    "speech_bounds",
    "speech_span",
    "sustained_level",
    "trim_silence",
]

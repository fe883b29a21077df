"""Audio front end: read, downmix, resample to 16 kHz, find the speech, pad or crop.

Everything that reaches the model passes through here, in training and at inference alike:

    load_audio(path | bytes | array)  -> float32 mono 16 kHz in [-1, 1], DC removed, validated
    speech_bounds(wave)               -> (start, end) sample indices of the speech, or AudioError
    pad_or_trim(wave, offset=None)    -> exactly N_SAMPLES, centred unless an offset is given
    prepare(source)                   -> the three above, in order: what the model sees
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from typing import List, Optional, Tuple, Union

import numpy as np
import soundfile as sf
import torch
import torchaudio

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
MIN_DYNAMIC_DB = 15.0  # speech rises and falls; steady noise or a tone stays within this range
PAD_SECONDS = 0.1  # keep this much around the detected speech (onsets, releases)
PAUSE_SECONDS = 0.5  # a silence this long separates two stretches of speech
MIN_BURST_SECONDS = 0.4  # a stretch shorter than this is a click or a breath, not speech

SUPPORTED = "WAV, FLAC, OGG or MP3"

AudioSource = Union[str, os.PathLike, bytes, np.ndarray, torch.Tensor]


NO_SAMPLES = "The audio contains no samples. Record again or upload another file."
NON_FINITE = "The audio contains invalid values (NaN or infinity); the file is damaged."


class AudioError(ValueError):
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
        orig_sr, new_sr, resampling_method="sinc_interp_kaiser",
        lowpass_filter_width=64, rolloff=0.9475, beta=14.769656459379492,
    )


def resample(wave: np.ndarray, orig_sr: int, new_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a 1-D float32 signal, keeping its duration and pitch."""
    if orig_sr == new_sr:
        return wave.astype(np.float32, copy=False)
    with torch.inference_mode():
        out = _resampler(int(orig_sr), int(new_sr))(torch.from_numpy(np.ascontiguousarray(wave)))
    return out.numpy()


def load_audio(source: AudioSource, sample_rate: Optional[int] = None,
               max_seconds: float = MAX_SECONDS) -> np.ndarray:
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
    if not np.all(np.isfinite(data)):
        raise AudioError(NON_FINITE)
    if sr < 4000 or sr > 384000:
        raise AudioError(f"Unsupported sample rate {sr} Hz; use 8 kHz to 192 kHz audio.")
    seconds = data.shape[0] / sr
    if seconds < MIN_SECONDS:
        raise AudioError(
            f"The audio is too short ({seconds * 1000:.0f} ms). Record at least "
            f"{MIN_SECONDS:g} s of speech, ideally a sentence (2-4 s)."
        )
    if seconds > max_seconds:
        raise AudioError(too_long(seconds, max_seconds))
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    peak = float(np.abs(wave).max())
    if peak > 1.0:  # unnormalised float input: scale into [-1, 1] (features ignore gain anyway)
        wave = wave / peak
    wave = resample(wave.astype(np.float32), sr)
    wave = wave - wave.mean()
    return np.clip(wave, -1.0, 1.0).astype(np.float32)


def too_long(seconds: float, max_seconds: float,
             hint: str = "Cut it shorter, or use the timeline for long recordings.") -> str:
    """The message for input over max_seconds."""
    return f"The audio is too long ({seconds / 60:.1f} min); the limit here is {max_seconds / 60:g} min. {hint}"


def frame_db(wave: np.ndarray) -> np.ndarray:
    """Level of each 25 ms frame (10 ms hop) in dBFS, shape = (n_frames,)."""
    if len(wave) < FRAME:
        wave = np.pad(wave, (0, FRAME - len(wave)))
    csum = np.concatenate([[0.0], np.cumsum(wave.astype(np.float64) ** 2)])
    starts = np.arange(0, len(wave) - FRAME + 1, HOP)
    power = (csum[starts + FRAME] - csum[starts]) / FRAME
    return 10.0 * np.log10(power + 1e-12)


def active_regions(db: np.ndarray, threshold: float) -> List[Tuple[int, int]]:
    """Runs of frames above threshold, as (first, last) frame indices.

    Runs closer than PAUSE_SECONDS are merged (pauses inside a sentence); runs shorter than
    MIN_BURST_SECONDS after merging (clicks, breaths, lip smacks) are dropped.
    """
    idx = np.flatnonzero(db > threshold)
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > PAUSE_SECONDS * SAMPLE_RATE / HOP)
    firsts = np.concatenate([[idx[0]], idx[breaks + 1]])
    lasts = np.concatenate([idx[breaks], [idx[-1]]])
    min_frames = MIN_BURST_SECONDS * SAMPLE_RATE / HOP
    return [(int(a), int(b)) for a, b in zip(firsts, lasts) if b - a + 1 >= min_frames]


def frames_to_samples(first: int, last: int, n_samples: int) -> Tuple[int, int]:
    """Sample span of frames first..last, widened by PAD_SECONDS on each side."""
    pad = int(PAD_SECONDS * SAMPLE_RATE)
    return max(0, first * HOP - pad), min(n_samples, last * HOP + FRAME + pad)


def sustained_level(db: np.ndarray, seconds: float = MIN_BURST_SECONDS) -> float:
    """The level (dBFS) that at least half of the frames of some `seconds`-long stretch reach:
    the loudest sustained sound, however short the input's speech is relative to its length.
    Clicks and other short bursts do not count."""
    k = max(1, min(len(db), int(round(seconds * SAMPLE_RATE / HOP))))
    windows = np.lib.stride_tricks.sliding_window_view(db, k)[::max(1, k // 8)]
    return float(np.median(windows, axis=1).max())


def check_speech(db: np.ndarray, loudest: float) -> None:
    """AudioError unless the frame levels look like speech: loud enough, and rising and falling."""
    if loudest < SILENCE_DBFS:
        raise AudioError(
            "No speech found: the recording is silent or almost silent. Check the microphone "
            "and speak a sentence closer to it."
        )
    # a sustained stretch well above the background (not p95 of all frames: one sentence in a
    # long recording is a few percent of its frames)
    if sustained_level(db) - np.percentile(db, 10) < MIN_DYNAMIC_DB:
        raise AudioError(
            "No speech found: the recording sounds like steady noise or a tone. "
            "Record a spoken sentence in a quieter place."
        )


def speech_bounds(wave: np.ndarray) -> Tuple[int, int]:
    """(start, end) sample indices of the speech in a 16 kHz wave: energy-based.

    Speech is every frame within TRIM_DB of the loudest one, ignoring isolated short bursts.
    Raises AudioError when there is no speech: digital silence, a level too low to be a voice,
    or a steady sound (noise, hum, a tone) whose level never rises and falls like speech.
    """
    db = frame_db(wave)
    loudest = float(db.max())
    check_speech(db, loudest)
    regions = active_regions(db, loudest - TRIM_DB)
    if not regions:
        raise AudioError("Too little speech found: only short bursts of sound. Record a whole sentence.")
    start, end = frames_to_samples(regions[0][0], regions[-1][1], len(wave))
    if (end - start) < MIN_SPEECH_SECONDS * SAMPLE_RATE:
        raise AudioError(
            f"Too little speech found ({(end - start) / SAMPLE_RATE:.2f} s). "
            "Record a whole sentence."
        )
    return start, end


def trim_silence(wave: np.ndarray) -> np.ndarray:
    """The speech part of a 16 kHz wave, without leading and trailing silence."""
    start, end = speech_bounds(wave)
    return wave[start:end]


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
        return wave[start:start + length].astype(np.float32, copy=False)
    before = (length - n) // 2 if offset is None else int(offset)
    out = np.zeros(length, dtype=np.float32)
    out[before:before + n] = wave
    return out


def clip_batch(waves: List[np.ndarray]) -> torch.Tensor:
    """Centred fixed-length clips (pad_or_trim) stacked as the model takes them,
    shape = (len(waves), N_SAMPLES)."""
    return torch.stack([torch.from_numpy(pad_or_trim(w)) for w in waves])


def prepare(source: AudioSource, sample_rate: Optional[int] = None) -> np.ndarray:
    """What the model sees: load, trim the silence, centre-pad or crop to N_SAMPLES."""
    return pad_or_trim(trim_silence(load_audio(source, sample_rate)))

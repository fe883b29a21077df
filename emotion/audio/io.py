"""The audio front end: the one module that opens, measures, seeks, decodes and envelopes a file,
encoded bytes, an array or a stream. What leaves it is float32 mono at 16 kHz in [-1, 1], DC removed.

    load_audio(source)          the whole input, validated (AudioError says what to do instead)
    iter_blocks(source)         the same, a minute at a time (files decoded block by block)
    read_seconds(source, a, b)  seconds a..b only (files: seek, decode just that)
    duration(source)            seconds, from a file's header or an array's shape
    Envelope                    min/max per 10 ms of a stream, reduced to columns for drawing
    pad_or_trim(wave)           the model's fixed N_SAMPLES window, centred (clip_offset: where)

Resampling lives in emotion.audio.resampling, speech detection in emotion.audio.speech (which builds on this).
"""

from __future__ import annotations

import io
import os
from typing import Iterator, List, Optional, Tuple, Union

import numpy as np
import soundfile as sf
import torch

from ..errors import InputError
from .resampling import SAMPLE_RATE, StreamResampler, resample

CLIP_SECONDS = 3.0  # the model's fixed input length
N_SAMPLES = int(CLIP_SECONDS * SAMPLE_RATE)  # 48000 samples in a 3-second clip
MIN_SECONDS = 0.5  # shorter input is refused: too little to judge an emotion
MAX_SECONDS = 30 * 60.0  # longest input accepted at all (30 minutes); the app caps lower
MIN_RATE, MAX_RATE = 4000, 384000  # Hz: input sample rates accepted
BLOCK_SECONDS = 60.0  # iter_blocks decodes this much at a time
ENVELOPE_HOP = SAMPLE_RATE // 100  # one min/max pair of an Envelope per 10 ms
SUPPORTED = "WAV, FLAC, OGG or MP3"
NO_SAMPLES = "The audio contains no samples. Record again or upload another file."
NON_FINITE = "The audio contains invalid values (NaN or infinity); the file is damaged."

AudioSource = Union[str, os.PathLike, bytes, np.ndarray, torch.Tensor]


class AudioError(InputError):
    """Input that cannot be analysed; the message tells the user what to do about it."""


class TooLongError(AudioError):
    """Input over the length asked for; `seconds` says how long it is (a caller may take another route)."""

    def __init__(self, seconds: float, max_seconds: float, hint: str = ""):
        super().__init__(too_long(seconds, max_seconds, *([hint] if hint else [])))
        self.seconds = float(seconds)


def too_long(
    seconds: float, max_seconds: float, hint: str = "Cut it shorter, or use the timeline for long recordings."
) -> str:
    """The message for input over max_seconds."""
    return f"The audio is too long ({seconds / 60:.1f} min); the limit here is {max_seconds / 60:g} min. {hint}"


def _is_file(source) -> bool:
    return isinstance(source, (str, os.PathLike, bytes, bytearray))


def _open(source) -> sf.SoundFile:
    """A path or encoded bytes as an open SoundFile; AudioError for missing, empty or unreadable input."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise AudioError("The audio data is empty. Record or upload a file with speech in it.")
        file, name = io.BytesIO(bytes(source)), "the audio data"
    else:
        file = name = os.fspath(source)
        if not os.path.isfile(file):
            raise AudioError(f"No such audio file: {file}")
        if os.path.getsize(file) == 0:
            raise AudioError("The file is empty (0 bytes). Record again or upload another file.")
        name = os.path.basename(file)
    try:
        return sf.SoundFile(file)
    except Exception as exc:  # libsndfile raises several types for unreadable input
        raise AudioError(
            f"Could not read {name} as audio. Upload a {SUPPORTED} file; "
            f"the file may be damaged or in another format ({type(exc).__name__})."
        ) from None


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
    with _open(source) as f:
        return f.read(dtype="float32", always_2d=True), int(f.samplerate)


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


def remove_dc(wave: np.ndarray, dc: Optional[float] = None) -> np.ndarray:
    """The wave less its DC offset (its mean, or `dc` when given), clipped to [-1, 1], float32."""
    return np.clip(wave - (wave.mean() if dc is None else dc), -1.0, 1.0).astype(np.float32, copy=False)


def duration(source: AudioSource, sample_rate: Optional[int] = None) -> Optional[float]:
    """Seconds of input from a file's header or an array's shape; None when unknown (the loader
    then says what is wrong)."""
    try:
        if _is_file(source):
            with _open(source) as f:
                return f.frames / f.samplerate
        if sample_rate:
            return int(np.shape(source)[0]) / float(sample_rate)
    except Exception:
        return None
    return None


def load_audio(source: AudioSource, sample_rate: Optional[int] = None, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Any supported input -> float32 mono at SAMPLE_RATE in [-1, 1], DC offset removed.

    Raises AudioError for empty, non-finite or too short input, TooLongError (before decoding a
    file: from its header) for input over max_seconds.
    """
    if _is_file(source):
        with _open(source) as f:
            if f.frames / f.samplerate > max_seconds:
                raise TooLongError(f.frames / f.samplerate, max_seconds)
            data, sr = f.read(dtype="float32", always_2d=True), int(f.samplerate)
    else:
        data, sr = read_audio(source, sample_rate)
    if data.size == 0 or data.shape[0] == 0:
        raise AudioError(NO_SAMPLES)
    wave, sr = to_mono(data), check_rate(sr)
    seconds = data.shape[0] / sr
    if seconds < MIN_SECONDS:
        raise AudioError(
            f"The audio is too short ({seconds * 1000:.0f} ms). Record at least "
            f"{MIN_SECONDS:g} s of speech, ideally a sentence (2-4 s)."
        )
    if seconds > max_seconds:
        raise TooLongError(seconds, max_seconds)
    peak = float(np.abs(wave).max())
    if peak > 1.0:  # unnormalised float input: scale into [-1, 1] (features ignore gain anyway)
        wave = wave / peak
    return remove_dc(resample(wave.astype(np.float32), sr))


def iter_blocks(
    source: AudioSource, sample_rate: Optional[int] = None, block_seconds: Optional[float] = None
) -> Iterator[np.ndarray]:
    """16 kHz mono float32 blocks of the input (block_seconds, default BLOCK_SECONDS, each). Files are
    decoded block by block, resampled seamlessly (StreamResampler), each block's DC offset removed,
    with load_audio's checks."""
    block_seconds = block_seconds or BLOCK_SECONDS
    if not isinstance(source, (str, os.PathLike)):
        wave = load_audio(source, sample_rate, max_seconds=float("inf"))
        step = int(block_seconds * SAMPLE_RATE)
        for i in range(0, len(wave), step):
            yield wave[i : i + step]
        return
    with _open(source) as f:
        if f.frames == 0:
            raise AudioError(NO_SAMPLES)
        if f.frames / f.samplerate > MAX_SECONDS:
            raise AudioError(too_long(f.frames / f.samplerate, MAX_SECONDS, "Cut it shorter."))
        resampler = StreamResampler(check_rate(f.samplerate))  # no seams between blocks
        dc = 0.0
        for block in f.blocks(blocksize=int(block_seconds * f.samplerate), dtype="float32", always_2d=True):
            mono = to_mono(block)  # refuses NaN and infinity, as load_audio does
            dc = float(mono.mean())
            yield remove_dc(resampler(mono), dc)
        yield remove_dc(resampler.flush(), dc)


def read_seconds(source: AudioSource, sample_rate: Optional[int], start: float, end: float) -> np.ndarray:
    """Seconds start..end of the input at 16 kHz mono, DC removed; a file is read from there
    without decoding the rest (the display of one window of a recording too long to hold whole)."""
    if not _is_file(source):
        wave = load_audio(source, sample_rate, max_seconds=float("inf"))
        return wave[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    with _open(source) as f:
        f.seek(min(f.frames, int(start * f.samplerate)))
        block = f.read(int((end - start) * f.samplerate), dtype="float32", always_2d=True)
        rate = f.samplerate
    return remove_dc(resample(to_mono(block), rate))


class Envelope:
    """The minimum and maximum of every ENVELOPE_HOP samples of a 16 kHz stream, fed piece by piece;
    max_seconds keeps only the most recent stretch (a rolling view)."""

    def __init__(self, max_seconds: Optional[float] = None):
        self.keep = None if max_seconds is None else int(max_seconds * SAMPLE_RATE / ENVELOPE_HOP) + 1
        self.low: List[np.ndarray] = []
        self.high: List[np.ndarray] = []
        self.carry = np.zeros(0, np.float32)
        self.total = 0  # samples fed

    def feed(self, wave: np.ndarray) -> None:
        self.total += len(wave)
        x = np.concatenate([self.carry, wave])
        n = len(x) // ENVELOPE_HOP
        blocks = x[: n * ENVELOPE_HOP].reshape(n, ENVELOPE_HOP)
        self.low.append(blocks.min(axis=1))
        self.high.append(blocks.max(axis=1))
        self.carry = x[n * ENVELOPE_HOP :]
        if self.keep is not None and len(self.low) > 64:  # bounded: trim the pieces now and then
            self.low, self.high = [np.concatenate(self.low)[-self.keep :]], [np.concatenate(self.high)[-self.keep :]]

    def columns(self, n: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times in s, low, high) per 10 ms (the last max_seconds), or in at most n columns."""
        low = np.concatenate(self.low or [np.zeros(0, np.float32)])
        high = np.concatenate(self.high or [np.zeros(0, np.float32)])
        if self.keep is not None:
            low, high = low[-self.keep :], high[-self.keep :]
        done = (self.total - len(self.carry)) / SAMPLE_RATE  # end of the last full hop
        times = done - (np.arange(len(low))[::-1] + 0.5) * ENVELOPE_HOP / SAMPLE_RATE
        per = -(-len(low) // n) if n and len(low) > n else 1
        if per > 1:
            m = -(-len(low) // per) * per
            low = np.pad(low, (0, m - len(low)), mode="edge").reshape(-1, per).min(axis=1)
            high = np.pad(high, (0, m - len(high)), mode="edge").reshape(-1, per).max(axis=1)
            times = np.pad(times, (0, m - len(times)), mode="edge").reshape(-1, per).mean(axis=1)
        return times, low.astype(np.float32), high.astype(np.float32)


def clip_offset(n: int, length: int = N_SAMPLES) -> int:
    """Where the centred `length`-sample clip of an n-sample wave starts, relative to the wave: the
    first sample kept (n >= length), or minus the zeros put before it (n < length)."""
    return (n - length) // 2 if n >= length else -((length - n) // 2)


def pad_or_trim(wave: np.ndarray, length: int = N_SAMPLES, offset: Optional[int] = None) -> np.ndarray:
    """Exactly `length` samples: zero-pad or crop.

    offset=None centres the signal (clip_offset; deterministic, for inference). Otherwise, for a
    longer wave, offset is the first sample kept; for a shorter one, the number of zeros put before it.
    """
    n = len(wave)
    if offset is not None and not 0 <= offset <= abs(n - length):
        raise ValueError(f"offset {offset} outside 0..{abs(n - length)} for {n} -> {length} samples")
    if n == length:
        return wave.astype(np.float32, copy=False)
    offset = abs(clip_offset(n, length)) if offset is None else int(offset)
    if n > length:
        return wave[offset : offset + length].astype(np.float32, copy=False)
    out = np.zeros(length, dtype=np.float32)
    out[offset : offset + n] = wave
    return out


def clip_batch(waves: List[np.ndarray]) -> torch.Tensor:
    """Centred fixed-length clips (pad_or_trim) stacked as the model takes them,
    shape = (len(waves), N_SAMPLES)."""
    return torch.stack([torch.from_numpy(pad_or_trim(w)) for w in waves])

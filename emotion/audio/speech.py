"""Speech detection: where the speech is in a 16 kHz wave, and whether there is speech to judge.

Two questions, answered separately:

* Is there speech, and is it clear enough? (check_speech) Speech rises and falls with its
  syllables (2-8 Hz) in some frequency band, even tightly cut with no silence around it or
  under loud noise; steady noise, hum and tones do not. Each band's level, smoothed over
  100 ms, is compared with its own 10th percentile: MODULATION_DB is the largest rise among
  the bands. The noise floor is each band's 10th percentile and the speech level the loudest
  frames' excess over it, which gives an estimated signal-to-noise ratio (SNR): below
  MIN_SNR_DB the model's out-of-fold accuracy collapses (docs/snr/snr_curve.json), and the
  input is refused as too noisy rather than as "no speech".
* Where is it? (speech_span) Every frame within TRIM_DB of the loudest one, ignoring isolated
  short bursts, padded by PAD_SECONDS: energy only, so a clean clip is cut as it always was.

    speech_bounds(wave) -> (start, end): both, in that order; AudioError with the reason
    prepare(source)     -> load, trim, centre-pad or crop: what the model sees of a clip
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

import numpy as np

from .io import SAMPLE_RATE, AudioError, AudioSource, load_audio, pad_or_trim

FRAME = 400  # 25 ms analysis frame for the speech detector
HOP = 160  # 10 ms hop: 100 frames per second
SILENCE_DBFS = -55.0  # loudest frame quieter than this: silence
TRIM_DB = 35.0  # frames more than this below the loudest frame count as pauses
PAD_SECONDS = 0.1  # keep this much around the detected speech (onsets, releases)
PAUSE_SECONDS = 0.5  # a silence this long separates two stretches of speech
MIN_BURST_SECONDS = 0.4  # a stretch shorter than this is a click or a breath, not speech
MIN_SPEECH_SECONDS = 0.3  # after trimming silence, at least this much speech must remain

BAND_EDGES = (100, 300, 600, 1200, 2400, 4800, 8000)  # Hz: the bands judged for speech (none below 100 Hz)
SMOOTH_FRAMES = 10  # 100 ms: keeps the syllable rhythm, averages out a steady noise's own flicker
MIN_MODULATION_DB = 3.5  # steady noise, hum and tones rise < 3 dB in every band; speech at -5 dB SNR > 4
MIN_SNR_DB = -4.0  # estimated SNR below which the model is not trusted: see docs/snr/snr_curve.json and the README
SNR_OFFSET_DB = 1.0  # the estimator reads about this much high on white noise; subtracted
SPEECH_FRAMES = 200  # the speech level is the mean over the loudest half of the frames, at most 2 s of them


class TooNoisyError(AudioError):
    """There is speech, but under so much noise that the model's answer would be a guess."""


def frame_db(wave: np.ndarray) -> np.ndarray:
    """Level of each 25 ms frame (10 ms hop) in dBFS, shape = (n_frames,)."""
    if len(wave) < FRAME:
        wave = np.pad(wave, (0, FRAME - len(wave)))
    csum = np.concatenate([[0.0], np.cumsum(wave.astype(np.float64) ** 2)])
    starts = np.arange(0, len(wave) - FRAME + 1, HOP)
    power = (csum[starts + FRAME] - csum[starts]) / FRAME
    return 10.0 * np.log10(power + 1e-12)


@lru_cache(maxsize=1)
def _band_matrix() -> np.ndarray:
    """(FRAME // 2 + 1, n_bands) 0/1 matrix summing FFT bins into BAND_EDGES' bands."""
    f = np.fft.rfftfreq(FRAME, 1.0 / SAMPLE_RATE)
    return np.stack([(f >= a) & (f < b) for a, b in pairwise(BAND_EDGES)], 1).astype(np.float64)


def band_power(wave: np.ndarray) -> np.ndarray:
    """Power of each frame (the frame_db grid) in each band of BAND_EDGES (Hann window),
    shape = (n_frames, n_bands). Frames are independent: a wave cut on the frame grid
    (a multiple of HOP, with FRAME - HOP of overlap) gives the same rows piece by piece."""
    if len(wave) < FRAME:
        wave = np.pad(wave, (0, FRAME - len(wave)))
    n = (len(wave) - FRAME) // HOP + 1
    out = np.empty((n, len(BAND_EDGES) - 1))
    window = np.hanning(FRAME)
    for i in range(0, n, 4096):  # bounded memory for long blocks
        idx = np.arange(i, min(n, i + 4096))[:, None] * HOP + np.arange(FRAME)
        spectrum = np.abs(np.fft.rfft(wave[idx].astype(np.float64) * window, axis=1)) ** 2
        out[i : i + len(idx)] = spectrum @ _band_matrix()
    return out


def frame_levels(wave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frame_db(wave), band_power(wave)): everything the speech detector reads."""
    return frame_db(wave), band_power(wave)


def _smooth(p: np.ndarray, k: int = SMOOTH_FRAMES) -> np.ndarray:
    """Moving average over k frames along axis 0 (edges repeated), same shape."""
    k = max(1, min(k, len(p)))
    padded = np.pad(p, ((k // 2, k - 1 - k // 2), (0, 0)), mode="edge")
    c = np.concatenate([np.zeros((1, p.shape[1])), np.cumsum(padded, axis=0)])
    return (c[k:] - c[:-k]) / k


def sustained_level(db: np.ndarray, seconds: float = MIN_BURST_SECONDS) -> float:
    """The level (dBFS) that at least half of the frames of some `seconds`-long stretch reach:
    the loudest sustained sound, however short the input's speech is relative to its length.
    Clicks and other short bursts do not count."""
    k = max(1, min(len(db), round(seconds * SAMPLE_RATE / HOP)))
    windows = np.lib.stride_tricks.sliding_window_view(db, k)[:: max(1, k // 8)]
    return float(np.median(windows, axis=1).max())


def speech_measures(bands: np.ndarray) -> tuple[float, float]:
    """(modulation in dB, estimated SNR in dB) from band_power's rows.

    modulation: the largest rise, over the bands, of the sustained level (smoothed) above the
    band's 10th percentile. SNR: mean excess power of the loudest frames over the summed band
    floors (10th percentiles), relative to those floors, less SNR_OFFSET_DB."""
    power = _smooth(bands)
    level = 10.0 * np.log10(power + 1e-12)
    floor_db = np.percentile(level, 10, axis=0)
    modulation = max(sustained_level(level[:, b]) - floor_db[b] for b in range(level.shape[1]))
    floor = float(np.sum(10.0 ** (floor_db / 10.0)))
    excess = np.sort(np.clip(power.sum(axis=1) - floor, 0.0, None))
    loud = excess[-max(1, min(len(excess) // 2, SPEECH_FRAMES)) :]
    snr = 10.0 * np.log10(float(loud.mean()) / max(floor, 1e-20) + 1e-12) - SNR_OFFSET_DB
    return float(modulation), float(snr)


def check_speech(db: np.ndarray, bands: np.ndarray) -> float:
    """AudioError unless the frames hold speech clear enough to judge; returns the estimated SNR (dB).

    db : frame_db levels, bands : band_power rows of the same frames."""
    if len(db) == 0 or float(db.max()) < SILENCE_DBFS:
        raise AudioError(
            "No speech found: the recording is silent or almost silent. Check the microphone "
            "and speak a sentence closer to it."
        )
    modulation, snr = speech_measures(bands)
    if modulation < MIN_MODULATION_DB:
        raise AudioError(
            "No speech found: the recording sounds like steady noise or a tone. "
            "Record a spoken sentence in a quieter place."
        )
    if snr < MIN_SNR_DB:
        raise TooNoisyError(
            f"The speech is too noisy to judge reliably (estimated signal-to-noise ratio {snr:.0f} dB; "
            f"the model needs about {MIN_SNR_DB:g} dB or more). Record closer to the microphone or in a quieter place."
        )
    return snr


def active_regions(db: np.ndarray, threshold: float) -> list[tuple[int, int]]:
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


def frames_to_samples(first: int, last: int, n_samples: int) -> tuple[int, int]:
    """Sample span of frames first..last, widened by PAD_SECONDS on each side."""
    pad = int(PAD_SECONDS * SAMPLE_RATE)
    return max(0, first * HOP - pad), min(n_samples, last * HOP + FRAME + pad)


def speech_span(db: np.ndarray, n_samples: int) -> tuple[int, int]:
    """(start, end) sample indices of the speech from frame_db levels: every frame within
    TRIM_DB of the loudest, isolated short bursts ignored, PAD_SECONDS kept around. Judges
    nothing but length (AudioError when too little remains)."""
    regions = active_regions(db, float(db.max()) - TRIM_DB)
    if not regions:
        raise AudioError("Too little speech found: only short bursts of sound. Record a whole sentence.")
    start, end = frames_to_samples(regions[0][0], regions[-1][1], n_samples)
    if (end - start) < MIN_SPEECH_SECONDS * SAMPLE_RATE:
        raise AudioError(f"Too little speech found ({(end - start) / SAMPLE_RATE:.2f} s). Record a whole sentence.")
    return start, end


def speech_bounds(wave: np.ndarray) -> tuple[int, int]:
    """(start, end) sample indices of the speech in a 16 kHz wave (speech_span), after
    check_speech: AudioError for silence, steady sound (noise, hum, a tone), or speech too
    noisy to judge, with a message that says which. Whether the span is a voice at all (not
    beeps, a melody, music) the Predictor asks the model's own states (emotion.model.gate)."""
    db, bands = frame_levels(wave)
    check_speech(db, bands)
    return speech_span(db, len(wave))


def trim_silence(wave: np.ndarray) -> np.ndarray:
    """The speech part of a 16 kHz wave, without leading and trailing silence."""
    start, end = speech_bounds(wave)
    return wave[start:end]


def prepare(source: AudioSource, sample_rate=None) -> np.ndarray:
    """What the model sees of a clip: load (emotion.audio), trim the silence, centre-pad or crop to N_SAMPLES."""
    return pad_or_trim(trim_silence(load_audio(source, sample_rate)))

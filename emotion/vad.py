"""Is it a voice? The judge that keeps tones, beeps and music from getting an emotion.

The level-based detector (emotion.speech) refuses silence, steady sound and speech under too
much noise, and says where the speech is. Sounds that rise and fall like syllables but are not
speech (a beep every half second, a melody, chords, a drum pattern) pass it. This module asks
two more questions of the span it found:

* Silero VAD (v6, the ONNX model that faster-whisper ships; offline, about 4 ms a second of
  audio on one thread): the mean speech probability of its most speech-like 0.5 s (16 chunks
  of 32 ms), VOICE_SCORE. Speech in RAVDESS, cut tightly or under 10 dB of noise, scores
  0.45-0.99; beeps, chords, drums and hum 0.0-0.3.
* Tonality, because Silero gives some melodies 0.7 and misses some screamed speech (0.05):
  in the loud frames (within ACTIVE_DB of the loudest), the share of the power (100 Hz-8 kHz)
  in the PEAK_BINS strongest FFT bins. Notes and chords of a few partials put >= 0.97 there,
  speech <= 0.95 (its harmonics are many and move), so PEAK_SHARE is a refusal on its own.
  Speech Silero misses is rescued when it is harmonic (spectral flatness < RESCUE_FLATNESS),
  not tonal and dense (ACTIVE_SHARE of its frames loud): a beep every 0.5 s is loud 5-20% of
  the time, a drum pattern is noise-like (flatness 0.55).

Figures: tests/test_nonspeech.py (>= 95% of seeded beeps, melodies, chords, drums and hum
refused; 100% measured) and tests/test_speech_detection.py (tight, noisy speech still judged).
Without faster-whisper or onnxruntime the tonality rule works alone and a warning is logged once.

    voice_problem(wave) -> None, or the reason it is not a voice (a message for the user)
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Optional

import numpy as np

from .audio import SAMPLE_RATE

log = logging.getLogger(__name__)

CHUNK = 512  # Silero's 32 ms chunk at 16 kHz
TOP_CHUNKS = 16  # VOICE_SCORE: the mean probability of the 16 most speech-like chunks (0.5 s)
VOICE_SCORE = 0.3  # below it Silero hears no voice (RAVDESS speech >= 0.45 but for screams)
FFT = 512  # tonality: 32 ms Hann frames every 10 ms
HOP = 160
ACTIVE_DB = 20.0  # loud frames: within this of the loudest
PEAK_BINS = 8  # of the 250 bins from 100 Hz to 8 kHz
PEAK_SHARE = 0.965  # notes, chords and sine melodies >= 0.97; speech <= 0.953 (1,200 RAVDESS clips)
RESCUE_FLATNESS = 0.02  # speech Silero misses is harmonic: flatness <= 0.003; drums 0.55
ACTIVE_SHARE = 0.5  # ... and dense: >= 0.59 of its frames loud; Chromium's beeps 0.05-0.2
MAX_FRAMES = 3000  # tonality reads at most this many loud frames (30 s), evenly spaced

NOT_A_VOICE = "No speech found: the recording sounds like {what}, not a voice. Record or upload a spoken sentence."


@lru_cache(maxsize=1)
def _silero():
    """faster-whisper's Silero VAD, or None when it (or onnxruntime) is not installed."""
    try:
        from faster_whisper.vad import get_vad_model

        return get_vad_model()
    except Exception as exc:  # ImportError, or onnxruntime missing (RuntimeError)
        log.warning(
            "Silero VAD unavailable (%s): tones and music are judged by tonality alone. "
            "pip install faster-whisper to use it.",
            exc,
        )
        return None


def speech_probability(wave: np.ndarray) -> Optional[np.ndarray]:
    """Silero's speech probability per 32-ms chunk of a 16 kHz wave, shape = (n_chunks,); None
    without faster-whisper."""
    model = _silero()
    if model is None:
        return None
    x = np.pad(np.asarray(wave, np.float32), (0, (-len(wave)) % CHUNK))
    return np.asarray(model(x), np.float64).ravel()


def voice_score(wave: np.ndarray) -> Optional[float]:
    """Mean Silero probability of the TOP_CHUNKS most speech-like chunks; None without Silero."""
    p = speech_probability(wave)
    return None if p is None or len(p) == 0 else float(np.sort(p)[-TOP_CHUNKS:].mean())


@lru_cache(maxsize=1)
def _band() -> np.ndarray:
    f = np.fft.rfftfreq(FFT, 1.0 / SAMPLE_RATE)
    return (f >= 100) & (f < 8000)


def tonality(wave: np.ndarray) -> tuple:
    """(peak share, spectral flatness, share of loud frames) of a 16 kHz wave: medians over the
    frames within ACTIVE_DB of the loudest (at most MAX_FRAMES of them, evenly spaced)."""
    wave = np.asarray(wave, np.float32)
    if len(wave) < FFT:
        wave = np.pad(wave, (0, FFT - len(wave)))
    n = (len(wave) - FFT) // HOP + 1
    starts = np.arange(n) * HOP
    csum = np.concatenate([[0.0], np.cumsum(wave.astype(np.float64) ** 2)])
    db = 10 * np.log10((csum[starts + FFT] - csum[starts]) / FFT + 1e-12)
    loud = np.flatnonzero(db > db.max() - ACTIVE_DB)
    share = len(loud) / n
    loud = loud[np.linspace(0, len(loud) - 1, min(len(loud), MAX_FRAMES)).astype(int)]
    frames = wave[starts[loud][:, None] + np.arange(FFT)] * np.hanning(FFT)
    power = np.abs(np.fft.rfft(frames, axis=1))[:, _band()] ** 2 + 1e-12
    total = power.sum(axis=1)
    peak = np.sort(power, axis=1)[:, -PEAK_BINS:].sum(axis=1) / total
    flatness = np.exp(np.log(power).mean(axis=1)) / power.mean(axis=1)
    return float(np.median(peak)), float(np.median(flatness)), float(share)


def voice_problem(wave: np.ndarray) -> Optional[str]:
    """None when the 16 kHz wave (the detected speech span) sounds like a voice, else a message
    for the user saying it does not. See the module docstring for the rule."""
    peak, flatness, share = tonality(wave)
    if peak >= PEAK_SHARE:
        return NOT_A_VOICE.format(what="music or a tone (a few pure pitches)")
    score = voice_score(wave)
    if score is None or score >= VOICE_SCORE:
        return None
    if flatness < RESCUE_FLATNESS and share >= ACTIVE_SHARE:
        return None  # harmonic and dense: a voice Silero misses (screamed speech)
    return NOT_A_VOICE.format(what="beeps, music or other sounds")

"""Deterministic, seedable signal corruptions of 16 kHz float32 mono waves, shape = (samples,).

Used as training augmentation (random_corruption) and for the robustness table
(CONDITIONS, scored by emotion.training.robustness). Every function returns float32 of the input's
length, finite; the random ones take an np.random.Generator, so a seed reproduces them.

    add_noise(wave, snr_db, color, rng)  white or pink noise at an SNR relative to the speech
    reverb(wave, rng, rt60)              a synthetic room: exponentially decaying noise RIR
    gain(wave, db)                       louder or quieter, clipped to [-1, 1] like a recorder
    telephone(wave)                      an 8 kHz telephone channel, 300-3400 Hz
    degrade(wave, rng)                   one or two of noise, a room, a telephone, a cheap microphone
                                         (the voice gate's degraded copies: emotion.training.voice_gate)
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt, sosfiltfilt

from .io import SAMPLE_RATE, resample

NOISE_COLORS = ("white", "pink")
TELEPHONE_RATE = 8000
TELEPHONE_BAND = (300.0, 3400.0)  # Hz, the classic telephone pass band
LN_1000 = np.log(1000.0)  # 60 dB of energy decay = a factor 1000 in amplitude


def _out(wave: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.asarray(wave, dtype=np.float32), nan=0.0, posinf=1.0, neginf=-1.0)


def make_noise(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """n samples of unit-RMS noise (float64). Pink: white noise shaped to 1/f power in the
    frequency domain (amplitude 1/sqrt(f), no DC)."""
    if color not in NOISE_COLORS:
        raise ValueError(f"noise color must be one of {NOISE_COLORS}, got {color!r}")
    noise = rng.standard_normal(n)
    if color == "pink" and n > 1:
        spectrum = np.fft.rfft(noise)
        f = np.fft.rfftfreq(n)
        spectrum[0] = 0.0
        spectrum[1:] /= np.sqrt(f[1:])
        noise = np.fft.irfft(spectrum, n)
    rms = np.sqrt(np.mean(noise**2)) if n else 0.0
    return noise / rms if rms > 0 else noise


def add_noise(wave: np.ndarray, snr_db: float, color: str = "white", rng: np.random.Generator = None) -> np.ndarray:
    """wave + noise over its whole length (padding included, as in a noisy room), scaled so that
    the speech-to-noise power ratio over the wave's non-zero samples is snr_db. A wave without
    non-zero samples has no speech level to refer to and comes back unchanged."""
    rng = rng if rng is not None else np.random.default_rng()
    wave = np.asarray(wave, dtype=np.float32)
    speech = wave != 0
    noise = make_noise(len(wave), color, rng)
    if not speech.any():
        return wave.copy()
    speech_rms = np.sqrt(np.mean(wave[speech].astype(np.float64) ** 2))
    noise_rms = np.sqrt(np.mean(noise[speech] ** 2))  # the noise's level during the speech
    scale = speech_rms / (10.0 ** (snr_db / 20.0)) / max(noise_rms, 1e-12)
    return _out(wave + scale * noise)


def room_impulse_response(
    rng: np.random.Generator, rt60: float = 0.5, drr_db: float = 0.0, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """A synthetic RIR, rt60 seconds long: a direct-path impulse of 1 at t=0 plus Gaussian noise
    whose energy decays by 60 dB in rt60 seconds, its total energy drr_db below the direct path."""
    if rt60 <= 0:
        raise ValueError(f"rt60 must be positive, got {rt60}")
    n = max(2, int(round(rt60 * sample_rate)))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-LN_1000 * t / rt60)
    tail[0] = 0.0
    tail *= 10.0 ** (-drr_db / 20.0) / np.sqrt(np.sum(tail**2))
    tail[0] = 1.0
    return tail


def reverb(wave: np.ndarray, rng: np.random.Generator, rt60: float = 0.5, drr_db: float = 0.0) -> np.ndarray:
    """wave convolved with room_impulse_response (causal: the direct path stays in place), cut
    to the input's length and rescaled to the input's peak level."""
    wave = np.asarray(wave, dtype=np.float32)
    rir = room_impulse_response(rng, rt60, drr_db)
    if len(wave) == 0:
        return wave.copy()
    out = fftconvolve(wave.astype(np.float64), rir)[: len(wave)]
    peak_in, peak_out = float(np.abs(wave).max()), float(np.abs(out).max())
    if peak_out == 0.0:
        return np.zeros_like(wave)
    return _out(out * (peak_in / peak_out))


def gain(wave: np.ndarray, db: float) -> np.ndarray:
    """wave * 10**(db/20), clipped to [-1, 1] as a recording would be."""
    return _out(np.clip(np.asarray(wave, dtype=np.float64) * 10.0 ** (db / 20.0), -1.0, 1.0))


@lru_cache(maxsize=1)
def _telephone_sos() -> np.ndarray:
    return butter(6, TELEPHONE_BAND, btype="bandpass", fs=TELEPHONE_RATE, output="sos")


def telephone(wave: np.ndarray) -> np.ndarray:
    """An 8 kHz telephone channel: resample 16k -> 8k, band-pass 300-3400 Hz (zero-phase
    Butterworth), resample back to 16 kHz; same length out."""
    wave = np.asarray(wave, dtype=np.float32)
    n = len(wave)
    narrow = resample(np.ascontiguousarray(wave), SAMPLE_RATE, TELEPHONE_RATE).astype(np.float64)
    sos = _telephone_sos()
    padlen = 3 * (2 * len(sos) + 1)
    narrow = sosfiltfilt(sos, narrow) if len(narrow) > padlen else sosfilt(sos, narrow)
    out = resample(narrow.astype(np.float32), TELEPHONE_RATE, SAMPLE_RATE)
    out = out[:n] if len(out) >= n else np.pad(out, (0, n - len(out)))
    return _out(out)


CONDITIONS = OrderedDict(
    [
        ("clean", lambda w, rng: _out(w).copy()),
        ("white noise 20 dB", lambda w, rng: add_noise(w, 20.0, "white", rng)),
        ("white noise 10 dB", lambda w, rng: add_noise(w, 10.0, "white", rng)),
        ("pink noise 20 dB", lambda w, rng: add_noise(w, 20.0, "pink", rng)),
        ("pink noise 10 dB", lambda w, rng: add_noise(w, 10.0, "pink", rng)),
        ("reverb (RT60 0.5 s)", lambda w, rng: reverb(w, rng, rt60=0.5)),
        ("gain +12 dB", lambda w, rng: gain(w, 12.0)),
        ("gain -12 dB", lambda w, rng: gain(w, -12.0)),
        ("telephone (8 kHz band)", lambda w, rng: telephone(w)),
    ]
)


def random_corruption(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Training augmentation. Independently: reverb with RT60 ~ U[0.2, 0.8] s (p=0.25), white or
    pink noise at an SNR ~ U[5, 30] dB (p=0.5), a telephone channel (p=0.15); applied in that
    order (room, then background noise, then the channel). Every draw is made whatever the
    outcome, so a seed gives the same choices for any wave."""
    do_noise, do_reverb, do_phone = rng.random(3) < (0.5, 0.25, 0.15)
    color = NOISE_COLORS[int(rng.integers(2))]
    snr_db = rng.uniform(5.0, 30.0)
    rt60 = rng.uniform(0.2, 0.8)
    out = _out(wave).copy()
    if do_reverb:
        out = reverb(out, rng, rt60=rt60)
    if do_noise:
        out = add_noise(out, snr_db, color, rng)
    if do_phone:
        out = telephone(out)
    return _out(out)


def degrade(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of: noise at 0-20 dB SNR, a room (RT60 0.3-1.0 s), a telephone channel, a cheap
    microphone (300 Hz-4 kHz, clipped after +6-18 dB); 30% of the time two of them."""

    def cheap_mic(w, rng):
        band = sosfilt(butter(2, (300, 4000), "bandpass", fs=SAMPLE_RATE, output="sos"), w)
        return np.tanh(band * 10 ** (rng.uniform(6, 18) / 20)).astype(np.float32)

    steps = [
        lambda w, rng: add_noise(w, rng.uniform(0, 20), ("white", "pink")[int(rng.integers(2))], rng),
        lambda w, rng: reverb(w, rng, rt60=rng.uniform(0.3, 1.0)),
        lambda w, rng: telephone(w),
        cheap_mic,
    ]
    picks = rng.choice(len(steps), size=2 if rng.random() < 0.3 else 1, replace=False)
    for k in sorted(picks, key=lambda k: (k != 1, k)):  # the room first, as in life
        wave = steps[k](wave, rng)
    return np.asarray(wave, np.float32)

"""Sounds that are not a voice, made from seeds: what the voice gate (emotion.model.gate) learns to refuse
and is checked on. Nothing here is committed audio; every clip is rebuilt from its seed.

* Instrument music: random MIDI (mido) played by Debian's fluidsynth through a General MIDI
  soundfont (`apt-get install -y fluidsynth fluid-soundfont-gm`; `timgm6mb-soundfont` is a second
  one, kept for checking). Each piece has a melody, and by its seed chords, a bass line and drums,
  on programs drawn from one instrument family. The choir and voice programs are never used.
* Synthetic signals: beeps like Chromium's fake microphone, sine melodies, chords, a drum pattern,
  mains hum, and noise.

    render_music(seed, family, seconds, soundfont) -> float32 wave at 16 kHz
    synthetic(kind, seconds, seed)                 -> float32 wave at 16 kHz
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, load_audio

SR = SAMPLE_RATE
SOUNDFONTS = {
    "fluidr3": Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),  # fitting (fluid-soundfont-gm)
    "timgm6mb": Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),  # checking only (timgm6mb-soundfont)
}
VOICE_PROGRAMS = {52, 53, 54, 85, 91}  # choir aahs, voice oohs, synth voice, lead 6 (voice), pad 4 (choir)
# General MIDI families (program numbers, 0-based): the gate is fitted on some and checked on the others
FAMILIES = {
    "piano": range(0, 8),
    "chromatic": range(8, 16),
    "organ": range(16, 24),
    "guitar": range(24, 32),
    "bass": range(32, 40),
    "strings": range(40, 52),
    "brass": range(56, 64),
    "reed": range(64, 72),
    "pipe": range(72, 80),
    "synth": range(80, 96),
    "ethnic": range(104, 112),
}


class RenderError(RuntimeError):
    """fluidsynth or a soundfont is missing."""


def can_render(soundfont: str = "fluidr3") -> bool:
    return shutil.which("fluidsynth") is not None and SOUNDFONTS[soundfont].exists()


def random_midi(seed: int, family: str, seconds: float):
    """A mido.MidiFile of about `seconds`: a melody on a program of `family`, and (by the seed)
    chords, a bass line, drums (channel 10)."""
    import mido

    rng = np.random.default_rng(seed)
    programs = [p for p in FAMILIES[family] if p not in VOICE_PROGRAMS]
    bpm = int(rng.integers(60, 170))
    tpb = 480
    beats = max(4, int(seconds * bpm / 60))
    song = mido.MidiFile(ticks_per_beat=tpb)
    key = int(rng.integers(45, 65))
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16])

    def track(channel: int, program: int, notes):
        t = mido.MidiTrack()
        song.tracks.append(t)
        if channel != 9:
            t.append(mido.Message("program_change", program=program, channel=channel, time=0))
        events = []
        for start, length, pitches, velocity in notes:
            for p in pitches:
                events.append((int(start * tpb), 1, int(p), int(velocity)))
                events.append((int((start + length) * tpb), 0, int(p), 0))
        now = 0
        for tick, on, pitch, velocity in sorted(events):
            kind = "note_on" if on else "note_off"
            t.append(
                mido.Message(kind, note=min(127, max(0, pitch)), velocity=velocity, channel=channel, time=tick - now)
            )
            now = tick

    melody, beat = [], 0.0
    while beat < beats:
        length = float(rng.choice([0.25, 0.5, 0.5, 1.0, 1.0, 2.0]))
        if rng.random() > 0.1:  # a rest now and then
            pitch = key + 12 + int(rng.choice(scale))
            melody.append((beat, length * 0.95, [pitch], int(rng.integers(60, 120))))
        beat += length
    track(0, int(rng.choice(programs)), melody)
    if rng.random() < 0.6:  # chords, one per bar
        chord_notes = [
            (b, 3.9, [key + d + s for s in (0, 4, 7)], int(rng.integers(40, 90)))
            for b, d in zip(range(0, beats, 4), rng.choice([0, 5, 7, 9], size=beats))
        ]
        track(1, int(rng.choice(programs)), chord_notes)
    if rng.random() < 0.4:  # a bass line
        bass = [(b, 0.9, [key - 12 + int(rng.choice([0, 5, 7]))], 90) for b in range(beats)]
        track(2, int(rng.integers(32, 40)), bass)
    if rng.random() < 0.4:  # drums: kick, snare, hi-hat
        hits = [(b / 2, 0.1, [42], 70) for b in range(beats * 2)]
        hits += [(b, 0.1, [36 if b % 2 == 0 else 38], 100) for b in range(beats)]
        track(9, 0, hits)
    return song


def render_music(seed: int, family: str, seconds: float = 6.0, soundfont: str = "fluidr3") -> np.ndarray:
    """A random piece (random_midi) rendered by fluidsynth at 16 kHz, cut to `seconds`,
    peak-normalised to a random level between -20 and -1 dBFS. RenderError without fluidsynth."""
    if not can_render(soundfont):
        raise RenderError(
            f"needs fluidsynth and {SOUNDFONTS[soundfont]} (apt-get install fluidsynth fluid-soundfont-gm)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "song.mid", Path(tmp) / "song.wav"
        random_midi(seed, family, seconds).save(mid)
        cmd = [
            "fluidsynth",
            "-ni",
            "-q",
            "-g",
            "0.6",
            "-F",
            str(wav),
            "-r",
            str(SR),
            str(SOUNDFONTS[soundfont]),
            str(mid),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        wave = load_audio(wav)
    wave = wave[: int(seconds * SR)]
    peak = float(np.abs(wave).max())
    level = 10 ** (np.random.default_rng(seed + 7).uniform(-20, -1) / 20)
    return (wave * (level / peak if peak > 0 else 0.0)).astype(np.float32)


# --- synthetic signals ------------------------------------------------------------------------


def beeps(seconds: float, seed: int) -> np.ndarray:
    """Chromium's fake audio device (media/audio/fake_audio_input_stream.cc): a 20 ms, 400 Hz
    square-wave beep every 500 ms; seeds vary the phase, length (20-60 ms) and pitch."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    length, pitch = 0.02 * (1 + seed % 3), 400 * (1 + rng.integers(0, 3) * 0.5)
    on = ((t + rng.uniform(0, 0.5)) % 0.5) < length
    return (0.5 * np.sign(np.sin(2 * np.pi * pitch * t)) * on).astype(np.float32)


def _notes(seconds: float, rng, lengths, make) -> np.ndarray:
    n, out, i = int(seconds * SR), np.zeros(int(seconds * SR)), 0
    while i < n:
        t = np.arange(min(int(rng.choice(lengths) * SR), n - i)) / SR
        out[i : i + len(t)] = make(t)
        i += len(t)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def melody(seconds: float, seed: int) -> np.ndarray:
    """Sine notes of 1/8 to 1/2 s over two octaves from A3, plucked; odd seeds with 3 overtones."""
    rng = np.random.default_rng(seed)
    partials = 4 if seed % 2 else 1

    def note(t):
        f = 220 * 2 ** (rng.integers(0, 24) / 12)
        return (
            np.minimum(1, t / 0.01)
            * np.exp(-3 * t)
            * sum(np.sin(2 * np.pi * f * k * t) / k**1.5 for k in range(1, partials + 1))
        )

    return _notes(seconds, rng, (0.125, 0.25, 0.5), note)


def chords(seconds: float, seed: int) -> np.ndarray:
    """Major chords (root, third, fifth, octave) of 0.5 or 1 s."""
    rng = np.random.default_rng(seed)

    def chord(t):
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        return (
            np.minimum(1, t / 0.02)
            * np.exp(-1.5 * t)
            * sum(np.sin(2 * np.pi * root * 2 ** (s / 12) * t) for s in (0, 4, 7, 12))
        )

    return _notes(seconds, rng, (0.5, 1.0), chord)


def arpeggio(seconds: float, seed: int) -> np.ndarray:
    """A square-wave arpeggio (root, third, fifth, octave) in eighth notes."""
    rng = np.random.default_rng(seed)
    root, steps = 110 * 2 ** (rng.integers(0, 12) / 12), [0, 4, 7, 12]
    counter = iter(range(10**6))

    def note(t):
        f = root * 2 ** (steps[next(counter) % 4] / 12)
        return np.sign(np.sin(2 * np.pi * f * t)) * np.exp(-4 * t)

    return _notes(seconds, rng, (0.125,), note)


def drums(seconds: float, seed: int) -> np.ndarray:
    """Kick, hi-hat, snare, hi-hat on eighth notes at 80-140 bpm."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out, step = np.zeros(n), int(SR * 60 / rng.uniform(80, 140) / 2)
    for j, i in enumerate(range(0, n, step)):
        m = min(step, n - i)
        t = np.arange(m) / SR
        if j % 4 == 0:
            out[i : i + m] += np.sin(2 * np.pi * (60 + 80 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
        elif j % 4 == 2:
            out[i : i + m] += 0.6 * rng.standard_normal(m) * np.exp(-t * 20)
        out[i : i + m] += 0.3 * rng.standard_normal(m) * np.exp(-t * 80)
    return (0.4 * out / np.abs(out).max()).astype(np.float32)


def hum(seconds: float, seed: int) -> np.ndarray:
    """50 or 60 Hz mains hum with 10 harmonics of random level and phase, a little hiss."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = (50, 60)[seed % 2]
    x = sum(rng.uniform(0.2, 1) / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) for k in range(1, 12))
    return (0.3 * x / np.abs(x).max() + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def bursts(seconds: float, seed: int) -> np.ndarray:
    """Noise in bursts of 0.1-0.6 s (rustling, traffic, a fan switched on and off), white or pink."""
    from ..audio.corruptions import make_noise

    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    noise = make_noise(n, ("white", "pink")[seed % 2], rng)
    gate = np.zeros(n)
    i = 0
    while i < n:
        on = int(rng.uniform(0.1, 0.6) * SR)
        gate[i : i + on] = rng.uniform(0.2, 1.0)
        i += on + int(rng.uniform(0.1, 0.5) * SR)
    return (0.2 * noise * np.convolve(gate, np.hanning(801) / 400, mode="same")).astype(np.float32)


SYNTHETIC = dict(beeps=beeps, melody=melody, chords=chords, arpeggio=arpeggio, drums=drums, hum=hum, bursts=bursts)


def synthetic(kind: str, seconds: float, seed: int) -> np.ndarray:
    return SYNTHETIC[kind](seconds, seed)

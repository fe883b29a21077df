"""Emotion over time for long recordings, in bounded memory.

1. The input is decoded, downmixed and resampled block by block (a minute at a time, with
   load_audio's checks and a seamless resampler: audio.iter_blocks); the
   16 kHz signal goes to a temporary file and the level of every 25 ms frame is kept, overall
   and in six bands (speech.frame_levels): the bands tell speech from steady noise, the overall
   level places it (energy-based voice activity, see speech_segments; pauses of
   speech.PAUSE_SECONDS or more split segments); the waveform's envelope is kept on the way.
2. The speech segments are cut into the model's 3-second windows (half-overlapping in long
   stretches; a segment of up to 4 s is one window, centre-cropped or padded exactly as a
   single clip is) and read back from the file, and predicted in batches; windows that are no
   voice (beeps, a melody, music: the gate on the same encoder states, Predictor.voiced) are dropped.
Memory holds a block of audio, a batch of windows and 100 levels per second of audio.
"""

from __future__ import annotations

import tempfile
from typing import List, Optional, Tuple

import numpy as np
import pandas as pd
import torch

from .. import audio
from ..audio import N_SAMPLES, SAMPLE_RATE, AudioError, AudioSource, speech
from ..audio.speech import FRAME, HOP
from ..model.gate import MUSIC
from . import speakers as speakers_

ENVELOPE_COLUMNS = 2000  # the waveform's envelope kept with the timeline, for drawing
WINDOW_HOP = N_SAMPLES // 2  # 1.5 s between windows inside a long stretch of speech
SINGLE_WINDOW_SECONDS = 4.0  # speech up to this long is one row, centre-cropped like a clip
BATCH = 32  # windows per model call


def speech_segments(db: np.ndarray, bands: np.ndarray, n_samples: int) -> List[Tuple[int, int]]:
    """(start, end) sample indices of each stretch of speech, from frame levels in dBFS and the
    band powers of the same frames (speech.frame_levels).

    The whole recording is judged first (speech.check_speech: silence, steady sound, too noisy).
    Coarse: frames 10 dB above the background (10th percentile) and within 60 dB of the loud
    speech level (speech.sustained_level: the loudest 0.4 s, however little of the recording
    is speech), split at pauses. Fine: each stretch, with half of the pause on either side (the whole
    recording for one stretch), is trimmed against its own loudest frame by the rule that trims a
    single clip (speech.speech_span), so a sentence is cut as it would be on its own, and a
    recording of one sentence exactly as predict cuts it.
    """
    speech.check_speech(db, bands)
    loud = speech.sustained_level(db)
    floor = float(np.percentile(db, 10))
    coarse = speech.active_regions(db, max(floor + 10.0, loud - 60.0))
    segments = []
    for i, (first, last) in enumerate(coarse):  # each stretch with half the pause on either side
        lo = 0 if i == 0 else (coarse[i - 1][1] + first) // 2
        hi = len(db) - 1 if i == len(coarse) - 1 else (last + coarse[i + 1][0]) // 2
        seg = db[lo : hi + 1]
        fine = speech.active_regions(seg, float(seg.max()) - speech.TRIM_DB)
        if fine:
            segments.append(speech.frames_to_samples(lo + fine[0][0], lo + fine[-1][1], n_samples))
    if not segments:
        raise AudioError("No speech found: only short bursts of sound, no sentence.")
    return segments


def windows(segments: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """The model's windows over the speech: one per segment of up to SINGLE_WINDOW_SECONDS
    (centre-cropped or padded, as a single clip is), half-overlapping windows in longer ones."""
    out = []
    for s, e in segments:
        if e - s <= SINGLE_WINDOW_SECONDS * SAMPLE_RATE:
            out.append((s, e))
            continue
        starts = list(range(s, e - N_SAMPLES, WINDOW_HOP)) + [e - N_SAMPLES]
        out.extend((a, a + N_SAMPLES) for a in starts)
    return out


def decode_to(store, blocks, envelope: Optional[audio.Envelope] = None) -> Tuple[np.ndarray, np.ndarray, int]:
    """Pass 1: write the 16 kHz mono blocks (audio.iter_blocks) to `store` (a binary file, float32)
    and return the level of every frame in dBFS, the band powers of every frame
    (speech.frame_levels, shape = (n_frames, n_bands)) and the length in samples; the envelope,
    when given, is fed the same blocks."""
    levels, powers, total, carry = [], [], 0, np.zeros(0, np.float32)
    for block in blocks:
        store.write(block.astype(np.float32).tobytes())
        if envelope is not None:
            envelope.feed(block)
        total += len(block)
        buf = np.concatenate([carry, block])
        n = (len(buf) - FRAME) // HOP + 1
        if n > 0:
            db, bands = speech.frame_levels(buf[: (n - 1) * HOP + FRAME])
            levels.append(db)
            powers.append(bands)
            carry = buf[n * HOP :]
        else:
            carry = buf
    if total < audio.MIN_SECONDS * SAMPLE_RATE:
        raise AudioError(f"The audio is too short; record at least {audio.MIN_SECONDS:g} s of speech.")
    return np.concatenate(levels), np.concatenate(powers), total


def read_span(store, start: int, end: int) -> np.ndarray:
    """Samples start..end of the 16 kHz signal written by decode_to."""
    store.seek(start * 4)
    return np.frombuffer(store.read((end - start) * 4), dtype=np.float32).copy()


def timeline(
    predictor,
    source: AudioSource,
    sample_rate: Optional[int] = None,
    wave: Optional[np.ndarray] = None,
    speakers: speakers_.SpeakerCount = None,
) -> pd.DataFrame:
    """One row per analysed window: start, end (s), a probability column per emotion, emotion, and
    the window's verdict (emotion.clarity: verdict text, clear, unfamiliar).
    wave: the input already decoded by audio.load_audio (it is not decoded again).
    speakers: None (no attribution), "auto" or how many: each window then belongs to one speaker
    (a "speaker" column, 1, 2, ...; the speech is cut at every change of speaker before windows
    are placed, emotion.longform.speakers) and attrs["turns"] holds the speaker turns.
    attrs: "envelope", the waveform's (times, low, high) in at most ENVELOPE_COLUMNS columns, and
    "distance", the windows' familiarity distances (when the checkpoint has them)."""
    step = int(audio.BLOCK_SECONDS * SAMPLE_RATE)
    blocks = (
        audio.iter_blocks(source, sample_rate)
        if wave is None
        else (wave[i : i + step] for i in range(0, len(wave), step))
    )
    envelope = audio.Envelope()
    with tempfile.TemporaryFile() as store:  # the 16 kHz signal lives on disk, not in memory
        db, bands, n_samples = decode_to(store, blocks, envelope)
        segments, owners = speech_segments(db, bands, n_samples), None
        if speakers is not None:  # who speaks when; no window straddles a change of speaker
            turns = speakers_.diarise(segments, lambda s, e: read_span(store, s, e), speakers)
            pieces = speakers_.split_segments(segments, turns)
            segments, owners = [p for p, _ in pieces], [w for _, w in pieces]
        spans = windows(segments)
        probs, dists, voiced = [], [], []
        for i in range(0, len(spans), BATCH):
            clips = [torch.from_numpy(audio.pad_or_trim(read_span(store, s, e))) for s, e in spans[i : i + BATCH]]
            info = {}
            p, d = predictor.probabilities(torch.stack(clips), distances=True, info=info)
            probs.append(p)
            dists.append(d)
            voiced.extend(info["voiced"])
    if not any(voiced):  # windows that are no voice (beeps, a melody, music: Predictor.voiced) are dropped
        raise AudioError(MUSIC)
    keep = torch.tensor(voiced)
    if owners is not None:  # each window's speaker: the one of the piece of speech it lies in
        owner = [next(w for (s, e), w in zip(segments, owners) if s <= a and b <= e) for a, b in spans]
        owner = [w for w, v in zip(owner, voiced) if v]
    spans = [span for span, v in zip(spans, voiced) if v]
    p = torch.cat(probs)[keep].double()
    p = (p / p.sum(dim=1, keepdim=True)).numpy()
    frame = pd.DataFrame(p, columns=list(predictor.labels))
    frame.insert(0, "end", [round(e / SAMPLE_RATE, 3) for _, e in spans])
    frame.insert(0, "start", [round(s / SAMPLE_RATE, 3) for s, _ in spans])
    frame["emotion"] = [predictor.labels[k] for k in p.argmax(axis=1)]
    if owners is not None:
        frame.insert(2, "speaker", owner)
        frame.attrs["turns"] = turns
    frame.attrs["envelope"] = envelope.columns(ENVELOPE_COLUMNS)
    distance = None
    if dists[0] is not None:  # the windows' emotion.model.familiarity distances (Predictor.analyze weighs them)
        distance = frame.attrs["distance"] = torch.cat(dists)[keep].numpy().astype(float)
    # each window's verdict by the headline's rule (emotion.clarity): near-tie, unfamiliar
    said = [v.fields() for v in predictor.verdicts(p, distance)]
    for column in ("verdict", "clear", "unfamiliar"):
        frame[column] = [v[column] for v in said]
    return frame


def speaker_turns(wave: np.ndarray, speakers: speakers_.SpeakerCount) -> List[speakers_.Turn]:
    """The speaker turns of a decoded 16 kHz wave, over the speech the timeline would judge."""
    db, bands = speech.frame_levels(wave)
    return speakers_.diarise(speech_segments(db, bands, len(wave)), lambda s, e: wave[s:e], speakers)

"""Emotion over time for long recordings, in bounded memory.

Two passes over the audio, each reading it in blocks (decode, downmix, resample per block):
1. the level of every 25 ms frame (energy-based voice activity, see speech_segments; pauses
   of audio.PAUSE_SECONDS or more split segments);
2. the speech segments are cut into the model's 3-second windows (overlapping by half for long
   stretches, centred and zero-padded for short ones, exactly as a single clip is) and
   predicted in batches.
Memory holds one block plus one window of audio, whatever the length of the file.
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from . import audio
from .audio import HOP, N_SAMPLES, SAMPLE_RATE, AudioError, AudioSource
from .labels import EMOTIONS

BLOCK_SECONDS = 60.0  # audio decoded at a time
WINDOW_HOP = N_SAMPLES // 2  # 1.5 s between windows inside a long stretch of speech
SINGLE_WINDOW_SECONDS = 4.0  # speech up to this long is one row, centre-cropped like a clip
BATCH = 32  # windows per model call


def iter_blocks(source: AudioSource, sample_rate: Optional[int] = None,
                block_seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """16 kHz mono float32 blocks of the input. Files are decoded block by block."""
    if isinstance(source, (np.ndarray, torch.Tensor, bytes, bytearray)):
        wave = audio.load_audio(source, sample_rate, max_seconds=float("inf"))
        step = int(block_seconds * SAMPLE_RATE)
        for i in range(0, len(wave), step):
            yield wave[i:i + step]
        return
    try:
        f = sf.SoundFile(str(source))
    except Exception:
        audio.read_audio(source)  # raises the user-facing AudioError for this input
        raise AudioError(f"Could not read {source} as audio.") from None
    with f:
        if f.frames == 0:
            raise AudioError("The audio contains no samples. Record again or upload another file.")
        if f.frames / f.samplerate > audio.MAX_SECONDS:
            raise AudioError(f"The audio is longer than {audio.MAX_SECONDS / 60:g} minutes; cut it shorter.")
        for block in f.blocks(blocksize=int(block_seconds * f.samplerate), dtype="float32", always_2d=True):
            if not np.all(np.isfinite(block)):
                raise AudioError("The audio contains invalid values (NaN or infinity); the file is damaged.")
            yield np.clip(audio.resample(block.mean(axis=1), f.samplerate), -1.0, 1.0)


def speech_segments(db: np.ndarray, n_samples: int) -> List[Tuple[int, int]]:
    """(start, end) sample indices of each stretch of speech, from frame levels in dBFS.

    Coarse: frames 10 dB above the background (10th percentile) and within 60 dB of the loud
    speech level (99th percentile), split at pauses. Fine: each stretch is trimmed against its own loudest frame, with the same
    rule (audio.active_regions) that trims a single clip, so a sentence in a long recording is
    cut as it would be on its own.
    """
    loud = float(np.percentile(db, 99))
    audio.check_speech(db, loud)
    floor = float(np.percentile(db, 10))
    segments = []
    for first, last in audio.active_regions(db, max(floor + 10.0, loud - 60.0)):
        seg = db[first:last + 1]
        fine = audio.active_regions(seg, float(seg.max()) - audio.TRIM_DB)
        if fine:
            segments.append(audio.frames_to_samples(first + fine[0][0], first + fine[-1][1], n_samples))
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


def frame_levels(source, sample_rate=None) -> Tuple[np.ndarray, int]:
    """Pass 1: frame levels in dBFS over the whole input, and its length in 16 kHz samples."""
    levels, total, carry = [], 0, np.zeros(0, np.float32)
    for block in iter_blocks(source, sample_rate):
        total += len(block)
        buf = np.concatenate([carry, block])
        n = (len(buf) - audio.FRAME) // HOP + 1
        if n > 0:
            levels.append(audio.frame_db(buf[:(n - 1) * HOP + audio.FRAME]))
            carry = buf[n * HOP:]
        else:
            carry = buf
    if total < audio.MIN_SECONDS * SAMPLE_RATE:
        raise AudioError(f"The audio is too short; record at least {audio.MIN_SECONDS:g} s of speech.")
    return np.concatenate(levels), total


def window_clips(source, sample_rate, spans: List[Tuple[int, int]]) -> Iterator[np.ndarray]:
    """Pass 2: the model input for each span, in order, from a second blockwise read."""
    buf, offset, i = np.zeros(0, np.float32), 0, 0
    for block in iter_blocks(source, sample_rate):
        buf = np.concatenate([buf, block])
        while i < len(spans) and spans[i][1] <= offset + len(buf):
            s, e = spans[i]
            yield audio.pad_or_trim(buf[s - offset:e - offset])
            i += 1
        keep_from = min(spans[i][0] - offset, len(buf)) if i < len(spans) else len(buf)
        buf, offset = buf[keep_from:], offset + keep_from
    while i < len(spans):  # spans reaching the very end
        s, e = spans[i]
        yield audio.pad_or_trim(buf[s - offset:e - offset])
        i += 1


def timeline(predictor, source: AudioSource, sample_rate: Optional[int] = None) -> pd.DataFrame:
    """One row per analysed window: start, end (s), a probability column per emotion, emotion."""
    db, n_samples = frame_levels(source, sample_rate)
    spans = windows(speech_segments(db, n_samples))
    probs, batch = [], []
    for clip in window_clips(source, sample_rate, spans):
        batch.append(torch.from_numpy(clip))
        if len(batch) == BATCH:
            probs.append(predictor.probabilities(torch.stack(batch)))
            batch = []
    if batch:
        probs.append(predictor.probabilities(torch.stack(batch)))
    p = torch.cat(probs).double()
    p = (p / p.sum(dim=1, keepdim=True)).numpy()
    frame = pd.DataFrame(p, columns=list(EMOTIONS))
    frame.insert(0, "end", [round(e / SAMPLE_RATE, 3) for _, e in spans])
    frame.insert(0, "start", [round(s / SAMPLE_RATE, 3) for s, _ in spans])
    frame["emotion"] = [EMOTIONS[k] for k in p.argmax(axis=1)]
    return frame

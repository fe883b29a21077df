"""The headline of a recording longer than one window: what Predictor.analyze/predict say about it.

The model hears 3 s. Speech (detected by speech.speech_bounds) of up to SINGLE_WINDOW_SECONDS
is one window, judged as a single clip (centre-cropped or padded, exactly as in training and
in the shipped metrics). Longer speech is judged window by window (Predictor.timeline: pauses
skipped) and the headline is the speech-weighted mean of the windows' probabilities: each
window weighs the seconds of speech it stands for (overlapping windows split their overlap at
the midpoint between their centres, so every second of speech counts once). So a headline
never comes from a stretch that is mostly pause.

    speech_weights(starts, ends)      -> seconds of speech each window stands for
    summarise(frame, labels)          -> ({label: probability}, row of the representative window)
    judged_spans(frame)               -> [(start, end)] s: what the model heard of each window
    covered_seconds(spans)            -> seconds inside any span (overlaps once)
    speaker_summary(frame, labels)    -> per speaker: speech seconds, mean emotion, most intense moments
    clip_start(start, end)            -> where the model's clip of a stretch of speech begins (s)
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from .. import audio
from ..audio import CLIP_SECONDS, SAMPLE_RATE


def window_spans(starts, ends) -> Tuple[np.ndarray, np.ndarray]:
    """(left, right) s: the stretch of time each window stands for. Overlapping neighbours split
    their overlap at the midpoint between their centres, so every instant belongs to one window
    (the nearest); the timeline plot draws the windows so, and the headline weighs them so."""
    left, right = np.asarray(starts, float).copy(), np.asarray(ends, float).copy()
    centres = (left + right) / 2
    for i in range(1, len(left)):
        if left[i] < right[i - 1]:
            mid = (centres[i - 1] + centres[i]) / 2
            right[i - 1] = min(right[i - 1], mid)
            left[i] = max(left[i], mid)
    return left, np.maximum(right, left)


def speech_weights(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Seconds of speech each window stands for (window_spans)."""
    left, right = window_spans(starts, ends)
    return right - left


def summarise(frame, labels: Sequence[str]) -> Tuple[Dict[str, float], int]:
    """The speech-weighted mean of the timeline rows' probabilities ({label: p}, summing to 1)
    and the position of the row that best shows it (of the rows whose top is the headline, the
    most confident one; the row most confident in the headline if no row has it on top)."""
    probs = frame[list(labels)].to_numpy(dtype=float)
    keep = np.isfinite(probs).all(axis=1)
    weights = speech_weights(frame["start"].to_numpy(float), frame["end"].to_numpy(float)) * keep
    if not keep.any():
        raise ValueError("no window of the timeline holds speech")
    if weights.sum() <= 0:
        weights = keep.astype(float)
    mean = (np.nan_to_num(probs) * weights[:, None]).sum(axis=0) / weights.sum()
    mean = mean / mean.sum()
    top = int(mean.argmax())
    score = np.where(keep, np.nan_to_num(probs[:, top]), -1.0)
    on_top = keep & (np.nan_to_num(probs).argmax(axis=1) == top)
    row = int(np.argmax(np.where(on_top, score, -1.0))) if on_top.any() else int(np.argmax(score))
    return dict(zip(labels, mean.tolist())), row


def clip_start(start: int, end: int) -> float:
    """Where the model's 3-s clip of the speech start..end (samples) begins, in s of the input
    (before `start` when the speech is padded with silence: audio.pad_or_trim)."""
    return (start + audio.clip_offset(end - start)) / SAMPLE_RATE


def judged_span(start: float, end: float) -> Tuple[float, float]:
    """What the model hears of the speech start..end (s): all of it up to CLIP_SECONDS, else
    the centred CLIP_SECONDS (audio.pad_or_trim)."""
    n = int(round((end - start) * SAMPLE_RATE))
    if n <= audio.N_SAMPLES:
        return float(start), float(end)
    first = start + audio.clip_offset(n) / SAMPLE_RATE
    return float(first), float(first + CLIP_SECONDS)


def judged_spans(frame) -> List[Tuple[float, float]]:
    return [judged_span(s, e) for s, e in zip(frame["start"], frame["end"])]


def covered_seconds(spans) -> float:
    """Seconds of input inside any of the spans [(start, end)] s: overlapping windows count once."""
    total, reach = 0.0, float("-inf")
    for s, e in sorted(spans):
        total += max(0.0, e - max(s, reach))
        reach = max(reach, e)
    return total


INTENSE_LEAVE_OUT = ("neutral", "calm")  # not what "the most intense moments" means
MOMENTS = 3


def speaker_summary(frame, labels: Sequence[str]):
    """Per speaker of a timeline with a "speaker" column (Predictor.timeline(..., speakers=...)):
    a pandas DataFrame, one row per speaker in order: speaker, seconds (of speech), emotion (the
    top of the mean), a column per label (the speech-weighted mean of its windows, as the
    headline's), and moments: its MOMENTS most intense windows ("12.5-15.5 s angry 0.81"): of the
    windows whose top emotion is not neutral or calm, the most confident."""
    import pandas as pd

    labels = list(labels)
    weights = speech_weights(frame["start"].to_numpy(float), frame["end"].to_numpy(float))
    strong = [k for k in labels if k not in INTENSE_LEAVE_OUT] or labels
    rows = []
    for who in sorted(frame["speaker"].dropna().unique()):
        mine = (frame["speaker"] == who).to_numpy()
        probs = frame.loc[mine, labels].to_numpy(float)
        w = weights[mine] if weights[mine].sum() > 0 else np.ones(mine.sum())
        mean = (probs * w[:, None]).sum(axis=0) / w.sum()
        mean = mean / mean.sum()
        part = frame.loc[mine]
        top = part[labels].astype(float).idxmax(axis=1)
        vivid = part[top.isin(strong)]  # windows heard as an emotion other than neutral or calm
        peak = vivid[strong].max(axis=1).sort_values(ascending=False).index[:MOMENTS]
        moments = [
            f"{part.at[i, 'start']:.1f}-{part.at[i, 'end']:.1f} s {top[i]} {float(part.at[i, top[i]]):.2f}"
            for i in sorted(peak, key=lambda i: part.at[i, "start"])
        ]
        rows.append(
            dict(
                speaker=int(who),
                seconds=round(float(weights[mine].sum()), 1),
                emotion=labels[int(mean.argmax())],
                **dict(zip(labels, mean.round(4).tolist())),
                moments="; ".join(moments),
            )
        )
    return pd.DataFrame(rows, columns=["speaker", "seconds", "emotion", *labels, "moments"])

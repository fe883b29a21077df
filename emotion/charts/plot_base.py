"""What every chart of the app shares: its colours, and the envelope that draws a long wave at
screen resolution. Drawing only, no signal processing. Every chart is a Vega-Lite spec the browser
draws (the matplotlib figures of the Metrics tab were the last to go, issue 33).

    emotion.charts.plots          the Analyze tab's charts
    emotion.charts.timeline_plots probabilities over time (long input, the Live tab)
    emotion.charts.metric_plots   the Metrics tab: confusion matrix, reliability diagram, per actor
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

ACCENT = "#e4572e"  # highlighted bar (the top label)
BASE = "#4c72b0"  # other bars, the waveform
SPEECH = "#55a868"  # shading of the detected speech
MAX_POINTS = 4000  # longer waves are drawn as a min/max envelope of this many columns
# One colour per emotion, in the order of emotion.EMOTIONS (calm/sad cool, angry/happy warm).
EMOTION_COLORS = {
    "neutral": "#9e9e9e",
    "calm": "#8fd3e8",
    "happy": "#f2c12e",
    "sad": "#3b6fb6",
    "angry": "#d62728",
    "fearful": "#8c5fb5",
    "disgust": "#5a9e4b",
    "surprised": "#f28e2b",
}
# Labels of other checkpoints (a manifest's own label set) get these, in the checkpoint's order.
OTHER_COLORS = (
    "#4c72b0",
    "#dd8452",
    "#55a868",
    "#c44e52",
    "#8172b3",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
)


def label_colors(labels: Sequence[str]) -> dict:
    """A colour per label: the emotion colours for RAVDESS's names, a fixed cycle for the others."""
    others = [name for name in labels if name not in EMOTION_COLORS]
    return {name: EMOTION_COLORS.get(name) or OTHER_COLORS[others.index(name) % len(OTHER_COLORS)] for name in labels}


def envelope(wave, sr: int):
    """(times, low, high): a wave (samples,) reduced to at most MAX_POINTS // 2 columns, or an
    envelope given as such a tuple already."""
    if isinstance(wave, tuple):
        t, lo, hi = (np.asarray(a, dtype=float) for a in wave)
        return t, lo, hi
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    cols = max(1, min(MAX_POINTS // 2, len(wave)))
    per = max(1, len(wave) // cols)
    usable = (len(wave) // per) * per
    blocks = wave[:usable].reshape(-1, per)
    t = (np.arange(len(blocks)) + 0.5) * per / sr
    return t, blocks.min(axis=1), blocks.max(axis=1)

"""What every figure of the app shares: size, fonts, colours, fixed margins, PNG output, and the
envelope that draws a long wave at screen resolution. Drawing only, no signal processing.

Every figure is a new `matplotlib.figure.Figure`, made without pyplot (`Figure(...)`): none is in
pyplot's global list, so one that nobody closes is freed like any other object.

    emotion.plots          the Analyze tab's charts (Vega-Lite specs the browser draws, in these colours)
    emotion.timeline_plots probabilities over time (long input, the Live tab; Vega-Lite as well)
    emotion.metric_plots   the Metrics tab: confusion matrix, reliability diagram, per actor
"""

from __future__ import annotations

import functools
import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: render to images only (before anything imports pyplot)

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DPI = 100
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

# Readable at phone width (390 px): the PNGs are WIDTH inches at DPI (500 px), scaled to their
# column, so text is sized for a ~320-px one (12 pt = 17 px in the PNG: ~11 px there).
WIDTH = 5.0
TEXT, TITLE, SMALL = 12, 12, 11
RC = {
    "font.size": TEXT,
    "axes.titlesize": TITLE,
    "axes.labelsize": TEXT,
    "xtick.labelsize": TEXT,
    "ytick.labelsize": TEXT,
    "legend.fontsize": SMALL,
}


def label_colors(labels: Sequence[str]) -> dict:
    """A colour per label: the emotion colours for RAVDESS's names, a fixed cycle for the others."""
    others = [name for name in labels if name not in EMOTION_COLORS]
    return {name: EMOTION_COLORS.get(name) or OTHER_COLORS[others.index(name) % len(OTHER_COLORS)] for name in labels}


def readable(draw):
    """Draw under RC (matplotlib reads the sizes when text is created), not changing global rcParams."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return draw(*args, **kwargs)

    return wrapper


def figure(
    width: float, height: float, left: float = 0.6, right: float = 0.15, bottom: float = 0.45, top: float = 0.3
) -> Figure:
    """A figure with fixed margins in inches (no layout engine: it costs more than the drawing)."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)
    return fig


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


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (for tests and saving); the figure stays usable."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()

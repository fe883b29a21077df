"""The emotion timeline as a figure: probabilities over time, stacked (one colour per label), under
the waveform's envelope. For Predictor.timeline rows (the Analyze tab's long input, the batch
job's --timeline) and the Live tab's rolling history; the style is emotion.plot_base's.

    timeline(frame, wave=None, xlim=None, width=WIDTH)   # TIMELINE_WIDTH: a whole panel
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from .long_input import window_spans  # how the timeline's windows share time
from .plot_base import BASE, SMALL, WIDTH, envelope, figure, label_colors, readable

# The emotion timeline spans a whole panel (about 1,200 px on a laptop): a 5-in figure there was a
# 300-px strip in which minutes of windows became a barcode. On a phone the page lets it scroll
# sideways inside its box at no less than TIMELINE_MIN_PX (ui/common.py CSS), text >= 10 px.
TIMELINE_WIDTH = 12.0
TIMELINE_MIN_PX = 860


@readable
def timeline(
    frame,
    wave=None,
    sr: int = 16000,
    xlim: Optional[Sequence[float]] = None,
    title: str = "Emotion over time",
    width: float = WIDTH,
) -> Figure:
    """Probabilities over time, stacked (one colour per emotion), under the waveform envelope.

    frame : rows as Predictor.timeline returns them: start, end (s), a probability column per
        emotion (NaN rows: no speech, left blank), emotion. Overlapping windows share their overlap.
    wave : optional, the whole signal (samples,) at `sr`, or its envelope (times, low, high).
    xlim : the time range shown (default: the whole wave, or the rows).
    width : inches (at DPI); the margins stay the same, the time axis gets the rest.
    """
    # the probability columns: those between end and emotion, in the predictor's label order
    labels = [
        c for c in frame.columns if c not in ("start", "end", "duration") and getattr(frame[c].dtype, "kind", "") == "f"
    ]
    colors = label_colors(labels)
    starts = frame["start"].to_numpy(dtype=float) if len(frame) else np.zeros(0)
    ends = frame["end"].to_numpy(dtype=float) if len(frame) else np.zeros(0)
    probs = frame[labels].to_numpy(dtype=float) if len(frame) else np.zeros((0, len(labels)))
    height = 2.9 if wave is not None else 2.2
    fig = figure(width, height + 0.3, left=0.7, right=1.35, bottom=0.5, top=0.3)
    if wave is not None:
        gs = fig.add_gridspec(2, 1, height_ratios=(1, 2.6), hspace=0.08)
        ax_wave = fig.add_subplot(gs[0])
        ax = fig.add_subplot(gs[1], sharex=ax_wave)
        t, lo, hi = envelope(wave, sr)
        if len(t):
            ax_wave.fill_between(t, lo, hi, color=BASE, linewidth=0.4)
            peak = max(float(np.nanmax(np.abs(np.concatenate([lo, hi])))), 1e-3)
            ax_wave.set_ylim(-peak * 1.1, peak * 1.1)
        ax_wave.set_yticks([])
        ax_wave.tick_params(labelbottom=False)
        ax_wave.set_title(title)
        if xlim is None and len(t):
            xlim = (0.0, float(t[-1] + (t[1] - t[0] if len(t) > 1 else 0.0) / 2))
    else:
        ax = fig.add_subplot()
        ax.set_title(title)
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    left, right = window_spans(starts, ends)
    keep = np.isfinite(probs).all(axis=1)  # rows without speech stay blank
    left, right, probs = left[keep], right[keep], probs[keep]
    tops = np.cumsum(probs, axis=1)
    for k, name in enumerate(labels):  # one collection of rectangles per emotion (fast to draw)
        low = tops[:, k] - probs[:, k]
        verts = np.stack(
            [
                np.stack([left, low], 1),
                np.stack([right, low], 1),
                np.stack([right, tops[:, k]], 1),
                np.stack([left, tops[:, k]], 1),
            ],
            axis=1,
        )
        ax.add_collection(PolyCollection(verts, facecolors=colors[name], linewidths=0))
    if xlim is None:
        xlim = (float(starts.min()), float(ends.max())) if len(frame) else (0.0, 1.0)
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 1)
    ax.set_yticks([0, 0.5, 1.0], ["0", "50%", "100%"])
    ax.set_xlabel("time (s)")
    handles = [Patch(color=colors[name], label=name) for name in reversed(labels)]  # stacking order
    ax.legend(
        handles=handles,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=SMALL - 1,
        frameon=False,
        handlelength=1.0,
    )
    return fig

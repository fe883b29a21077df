"""The emotion timeline as a chart: probabilities over time, stacked (one colour per label), under
the waveform's envelope, as a Vega-Lite spec the browser draws (emotion.plots' helpers). For
Predictor.timeline rows (the Analyze tab's long input) and the Live tab's rolling history
(LiveSession.history_frame); a matplotlib PNG of a long recording's timeline took ~100 ms and more.

    timeline(frame, wave=None, xlim=None, title="")
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .long_input import window_spans  # how the timeline's windows share time
from .plot_base import BASE, envelope, label_colors
from .plots import FONT, TIME_AXIS, chart, envelope_peak, fold_columns, rounded

# The long-input timeline holds minutes of 3-s windows: on a phone it keeps at least this width and
# scrolls inside its box (ui/common.py PAGE_CSS) rather than squeezing them into a barcode.
TIMELINE_MIN_PX = 860
WAVE_BAND = 0.2  # timeline: the waveform's share of the chart's height, above the probabilities


def timeline(frame, wave=None, sr: int = 16000, xlim: Optional[Sequence[float]] = None, title: str = "") -> dict:
    """Probabilities over time, stacked (one colour per label), under the waveform's envelope.

    frame : rows as Predictor.timeline (or LiveSession.history_frame) gives them: start, end (s), a
        probability column per label (NaN rows: no speech, left blank); overlapping windows share
        their overlap (long_input.window_spans). wave : optional, the signal at `sr` or its envelope
        (times, low, high), drawn in the top WAVE_BAND of the chart. xlim : the time range shown
        (default: the whole wave, or the rows)."""
    labels = [c for c in frame.columns if c not in ("start", "end", "duration") and frame[c].dtype.kind == "f"]
    colors = label_colors(labels)
    starts, ends = frame["start"].to_numpy(dtype=float), frame["end"].to_numpy(dtype=float)
    probs = frame[labels].to_numpy(dtype=float).reshape(len(frame), len(labels))
    left, right = window_spans(starts, ends)
    keep = np.isfinite(probs).all(axis=1)  # rows without speech stay blank
    tops = np.cumsum(probs[keep], axis=1)
    bars = [
        {"left": a, "right": b, "emotion": name, "low": round(float(top - p), 4), "high": round(float(top), 4)}
        for a, b, ps, ts in zip(rounded(left[keep], 3), rounded(right[keep], 3), probs[keep], tops)
        for name, p, top in zip(labels, ps, ts)
    ]
    env = envelope(wave, sr) if wave is not None else None  # (times, low, high)
    if xlim is None and env is not None and len(env[0]):  # the whole recording
        t = env[0]
        xlim = (0.0, float(t[-1] + ((t[1] - t[0]) / 2 if len(t) > 1 else 0.0)))
    if xlim is None:
        xlim = (float(starts.min()), float(ends.max())) if len(frame) else (0.0, 1.0)
    x = {"type": "quantitative", "scale": {"domain": [float(v) for v in xlim], "nice": False}, "title": "time (s)"}
    room = 1.0 / (1.0 - WAVE_BAND) if wave is not None else 1.0  # the bars' scale leaves the top band free
    layers = [
        {
            "data": {"values": bars},
            "mark": {"type": "rect", "clip": True},
            "encoding": {
                "x": {"field": "left", **x, "axis": TIME_AXIS},
                "x2": {"field": "right"},
                "y": {
                    "field": "low",
                    "type": "quantitative",
                    "scale": {"domain": [0, room], "nice": False},
                    "axis": {"values": [0, 0.5, 1], "format": ".0%"},
                    "title": None,
                },
                "y2": {"field": "high"},
                "color": {
                    "field": "emotion",
                    "type": "nominal",
                    # the legend lists them in stacking order, above the chart at its start: on a phone the
                    # chart scrolls sideways inside its box, and a legend on its right was off-screen
                    "scale": {"domain": labels[::-1], "range": [colors[k] for k in labels[::-1]]},
                    "legend": {
                        "title": None,
                        "orient": "top",
                        "direction": "horizontal",
                        "columns": 3,  # fits a phone's width
                        "labelFontSize": FONT - 1,
                    },
                },
            },
        }
    ]
    if env is not None:
        t, lo, hi = fold_columns(*env)
        peak = envelope_peak(lo, hi)
        bottom = -peak * (2.0 - WAVE_BAND) / WAVE_BAND  # -peak lands at 1 - WAVE_BAND of the height
        layers.append(
            {
                "data": {
                    "values": [{"t": a, "lo": b, "hi": c} for a, b, c in zip(rounded(t), rounded(lo), rounded(hi))]
                },
                "mark": {"type": "area", "color": BASE, "clip": True},
                "encoding": {
                    "x": {"field": "t", **x},
                    "y": {"field": "lo", "type": "quantitative", "scale": {"domain": [bottom, peak]}, "axis": None},
                    "y2": {"field": "hi"},
                },
            }
        )
    return chart(
        "Emotion over time: the probability of each emotion, stacked, under the waveform",
        title or "Emotion over time",
        "",
        190,
        layer=layers,
        resolve={"scale": {"y": "independent"}},
    )

"""The emotion timeline as a chart: probabilities over time, stacked (one colour per label), under
the waveform's envelope, as a Vega-Lite spec the browser draws (emotion.charts.plots' helpers). For
Predictor.timeline rows (the Analyze tab's long input) and the Live tab's rolling history
(LiveSession.history_frame); a matplotlib PNG of a long recording's timeline took ~100 ms and more.

    timeline(frame, wave=None, xlim=None, title="")

With a "speaker" column (Predictor.timeline(..., speakers=...)) each speaker gets a lane of its own,
"Speaker 1" on top, labelled on the y axis, with a thin strip under it where that speaker talks
(frame.attrs["turns"], when there).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..longform.long_input import window_spans  # how the timeline's windows share time
from .plot_base import BASE, envelope, label_colors
from .plots import FONT, TIME_AXIS, chart, envelope_peak, fold_columns, rounded

# The long-input timeline holds minutes of 3-s windows: on a phone it keeps at least this width and
# scrolls inside its box (ui/common.py PAGE_CSS) rather than squeezing them into a barcode.
TIMELINE_MIN_PX = 860
WAVE_BAND = 0.2  # timeline: the waveform's share of the chart's height, above the probabilities
LANE_GAP = 0.3  # between speakers' lanes, in units of a lane's height (its turns' strip sits there)
LANE_PX = 100  # the chart grows by this for each speaker after the first


def speaker_lanes(frame) -> list:
    """The speakers drawn, in order: those of the windows and of the turns (frame.attrs["turns"])."""
    if "speaker" not in frame.columns:
        return []
    found = {int(s) for s in frame["speaker"].dropna()} | {int(t.speaker) for t in frame.attrs.get("turns") or ()}
    return sorted(found)


def _lane_axis(lanes: list) -> dict:
    """The y axis of speakers' lanes: "Speaker N" in the middle of each (speaker 1 on top)."""
    n, rule = len(lanes), ""
    for i, who in enumerate(lanes[:-1]):  # a value above lane i's bottom is lane i's
        rule += f"datum.value > {(n - 1 - i) * (1 + LANE_GAP) - LANE_GAP / 2:g} ? 'Speaker {who}' : "
    rule += f"'Speaker {lanes[-1]}'" if lanes else "''"
    middles = [(n - 1 - i) * (1 + LANE_GAP) + 0.5 for i in range(n)]
    return {"values": middles, "labelExpr": rule, "ticks": False, "domain": False, "labelFontSize": FONT}


def timeline(frame, wave=None, sr: int = 16000, xlim: Optional[Sequence[float]] = None, title: str = "") -> dict:
    """Probabilities over time, stacked (one colour per label), under the waveform's envelope.

    frame : rows as Predictor.timeline (or LiveSession.history_frame) gives them: start, end (s), a
        probability column per label (NaN rows: no speech, left blank); overlapping windows share
        their overlap (long_input.window_spans). wave : optional, the signal at `sr` or its envelope
        (times, low, high), drawn in the top WAVE_BAND of the chart. xlim : the time range shown
        (default: the whole wave, or the rows)."""
    labels = [
        c for c in frame.columns if c not in ("start", "end", "duration", "speaker") and frame[c].dtype.kind == "f"
    ]
    colors = label_colors(labels)
    starts, ends = frame["start"].to_numpy(dtype=float), frame["end"].to_numpy(dtype=float)
    probs = frame[labels].to_numpy(dtype=float).reshape(len(frame), len(labels))
    left, right = window_spans(starts, ends)
    keep = np.isfinite(probs).all(axis=1)  # rows without speech stay blank
    lanes = speaker_lanes(frame)
    step = 1 + LANE_GAP  # lane i (speaker lanes[i]) spans [(n - 1 - i) * step, ... + 1]
    base = {who: (len(lanes) - 1 - i) * step for i, who in enumerate(lanes)}
    offsets = (
        frame["speaker"].map(lambda w: base.get(int(w), 0.0) if w == w else 0.0).to_numpy(float)
        if lanes
        else np.zeros(len(frame))
    )
    tops = np.cumsum(probs[keep], axis=1) + offsets[keep, None]
    bars = [
        {"left": a, "right": b, "emotion": name, "low": round(float(top - p), 4), "high": round(float(top), 4)}
        for a, b, ps, ts in zip(rounded(left[keep], 3), rounded(right[keep], 3), probs[keep], tops)
        for name, p, top in zip(labels, ps, ts)
    ]
    height = max(1, len(lanes)) * step - LANE_GAP  # the lanes' share of the y scale ...
    floor = -LANE_GAP if lanes else 0.0  # ... above the lowest turns' strip
    env = envelope(wave, sr) if wave is not None else None  # (times, low, high)
    if xlim is None and env is not None and len(env[0]):  # the whole recording
        t = env[0]
        xlim = (0.0, float(t[-1] + ((t[1] - t[0]) / 2 if len(t) > 1 else 0.0)))
    if xlim is None:
        xlim = (float(starts.min()), float(ends.max())) if len(frame) else (0.0, 1.0)
    x = {"type": "quantitative", "scale": {"domain": [float(v) for v in xlim], "nice": False}, "title": "time (s)"}
    # the bars' scale leaves the top band free for the waveform
    room = floor + (height - floor) / (1.0 - WAVE_BAND) if wave is not None else height
    y_scale = {"domain": [floor, round(room, 4)], "nice": False}
    y_axis = _lane_axis(lanes) if lanes else {"values": [0, 0.5, 1], "format": ".0%"}
    layers = [
        {
            "data": {"values": bars},
            "mark": {"type": "rect", "clip": True},
            "encoding": {
                "x": {"field": "left", **x, "axis": TIME_AXIS},
                "x2": {"field": "right"},
                "y": {"field": "low", "type": "quantitative", "scale": y_scale, "axis": y_axis, "title": None},
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
    turns = [t for t in frame.attrs.get("turns") or () if int(t.speaker) in base] if lanes else []
    if turns:  # where each speaker talks: a strip in the gap under its lane
        strips = [
            dict(
                left=round(float(t.start), 3),
                right=round(float(t.end), 3),
                speaker=f"Speaker {t.speaker}",
                low=round(base[int(t.speaker)] - 0.22, 4),
                high=round(base[int(t.speaker)] - 0.08, 4),
            )
            for t in turns
        ]
        layers.append(
            {
                "data": {"values": strips},
                "mark": {"type": "rect", "color": BASE, "opacity": 0.5, "clip": True},
                "encoding": {
                    "x": {"field": "left", **x},
                    "x2": {"field": "right"},
                    "y": {"field": "low", "type": "quantitative", "scale": y_scale, "axis": None},
                    "y2": {"field": "high"},
                    "tooltip": [{"field": "speaker"}, {"field": "left", "title": "from (s)"}],
                },
            }
        )
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
    who = f", one lane per speaker ({', '.join(f'Speaker {w}' for w in lanes)})" if lanes else ""
    return chart(
        f"Emotion over time: the probability of each emotion, stacked, under the waveform{who}",
        title or "Emotion over time",
        "",
        190 + LANE_PX * max(0, len(lanes) - 1),
        layer=layers,
        resolve={"scale": {"y": "independent"}},
    )

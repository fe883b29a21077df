"""The charts of one analysis (the Analyze tab) as Vega-Lite specifications: the browser draws
them, so the server writes a few kilobytes of JSON instead of rendering PNGs (matplotlib took
40-90 ms a figure on a 2-core machine, most of a /predict answer; these take about 1 ms).

    waveform(wave, sr, judged=..., highlight=...)  the signal, shaded where the model listened
    spectrogram(mel, saliency=None, t0=...)         what the model heard; with saliency, why
    probabilities(probs)                            a bar for every label, the top one in colour

The emotion timeline (long input, the Live tab) is emotion.charts.timeline_plots, on the helpers here.
Each returns a dict (the JSON that gr.Plot sends as an "altair" chart; `json.dumps` it to save).
The spectrogram travels as a PNG of its own pixels (a data URL) placed on the chart's axes.
Colours and the envelope of a long wave are emotion.charts.plot_base's, as in the matplotlib figures.
"""

from __future__ import annotations

import base64
import io
from typing import Mapping, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .plot_base import ACCENT, BASE, SPEECH, envelope

__all__ = [
    "waveform",
    "spectrogram",
    "probabilities",
    "overlay",
    "image_of",
    "chart",
    "fold_columns",
    "envelope_peak",
    "SALIENT",
    "SCHEMA",
]

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
SALIENT = (1.0, 0.22, 0.05)  # colour of the saliency overlay (its opacity is the saliency)
COLUMNS = 600  # a waveform is sent as its min/max envelope of at most this many columns
# whole and half seconds, no crowding; labels by a fixed rule: a "~g" format takes its precision from
# the tick step (d3's tickFormat), and a 20-s step printed "0, 2e+1, 4e+1" on long recordings
TIME_AXIS = {"tickCount": 6, "labelExpr": "format(datum.value, '~f')", "labelFlush": True}
FONT = 13  # px: axis titles and labels; titles 14
CONFIG = {
    "view": {"stroke": None},
    "axis": {"labelFontSize": FONT, "titleFontSize": FONT, "titleFontWeight": "normal"},
    "title": {"fontSize": FONT + 1, "fontWeight": "normal", "anchor": "start", "subtitleFontSize": FONT - 1},
}


def chart(description: str, title: str, subtitle, height: int, **spec) -> dict:
    """A chart as wide as its panel (the description is the canvas's aria-label); subtitle: a line or lines."""
    head = {"text": title, **({"subtitle": subtitle} if subtitle else {})}
    return {
        "$schema": SCHEMA,
        "description": description,
        "title": head,
        "width": "container",
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": CONFIG,
        **spec,
    }


def rounded(a, digits: int = 4) -> list:
    return np.round(np.asarray(a, dtype=float), digits).tolist()


def waveform(
    wave,
    sr: int,
    judged: Sequence[Sequence[float]] = (),
    highlight: Optional[Sequence[float]] = None,
    xlim: Optional[Sequence[float]] = None,
    title: str = "Waveform",
) -> dict:
    """The signal against time in seconds, `judged` = [(start, end) s, ...] (what the model heard)
    shaded, `highlight` (s) outlined (the window in the spectrogram).

    wave : shape = (samples,), or its envelope (times, low, high) (audio.Envelope.columns); sent as
    a min/max envelope of at most COLUMNS columns (the same picture at screen resolution)."""
    t, lo, hi = envelope(wave, sr)  # plot_base's min/max columns, then folded to at most COLUMNS
    if isinstance(wave, tuple):
        seconds = float(t[-1] + (t[1] - t[0]) / 2) if len(t) > 1 else 0.0
    else:
        seconds = np.asarray(wave).size / float(sr)
    t, lo, hi = fold_columns(t, lo, hi)
    peak = envelope_peak(lo, hi)
    domain = [float(x) for x in (xlim if xlim is not None else (0.0, max(seconds, 1e-3)))]
    x = {"type": "quantitative", "scale": {"domain": domain, "nice": False}, "axis": TIME_AXIS, "title": "time (s)"}
    layers = [
        {
            "data": {"values": [{"start": round(float(s), 3), "end": round(float(e), 3)} for s, e in judged]},
            "mark": {"type": "rect", "color": SPEECH, "opacity": 0.3, "clip": True},
            "encoding": {"x": {"field": "start", **x}, "x2": {"field": "end"}},
        },
        {
            "data": {"values": [{"t": a, "lo": b, "hi": c} for a, b, c in zip(rounded(t), rounded(lo), rounded(hi))]},
            "mark": {"type": "area", "color": BASE, "clip": True},
            "encoding": {
                "x": {"field": "t", **x},
                "y": {"field": "lo", "type": "quantitative", "scale": {"domain": [-peak, peak]}, "axis": None},
                "y2": {"field": "hi"},
            },
        },
    ]
    if highlight is not None:
        layers.append(
            {
                "data": {"values": [{"start": float(highlight[0]), "end": float(highlight[1])}]},
                "mark": {"type": "rect", "fillOpacity": 0, "stroke": ACCENT, "strokeWidth": 2, "clip": True},
                "encoding": {"x": {"field": "start", **x}, "x2": {"field": "end"}},
            }
        )
    # one line each: at 390 px "shaded: ...; outlined: ..." ran past the chart's edge (issue 33, item 12)
    subtitle = (["shaded: what the model heard"] if judged else []) + (
        ["outlined: the window in the spectrogram"] if highlight is not None else []
    )
    return chart("Waveform of the recording, shaded where the model listened", title, subtitle, 120, layer=layers)


def image_of(rgb: np.ndarray) -> str:
    """An (rows, cols, 3) array in [0, 1], row 0 at the bottom (a spectrogram's lowest band), as a
    PNG data URL with row 0 at the top, as images are stored."""
    from PIL import Image

    pixels = np.round(np.clip(np.asarray(rgb, dtype=float), 0.0, 1.0)[::-1] * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), "RGB").save(buf, format="png", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def overlay(mel: ArrayLike, sal: ArrayLike) -> np.ndarray:
    """The spectrogram in grey with the saliency map in [0, 1] composited over it ("over": opaque
    where salient), shape = mel's + (3,), in [0, 1]."""
    mel, sal = np.asarray(mel, dtype=float), np.clip(np.asarray(sal, dtype=float), 0.0, 1.0)
    if mel.shape != sal.shape:
        raise ValueError(f"saliency shape {sal.shape} differs from the spectrogram's {mel.shape}")
    grey = np.clip((mel - mel.min()) / max(float(mel.max() - mel.min()), 1e-9), 0.0, 1.0)[..., None]
    alpha = (0.9 * sal**0.75)[..., None]  # a little stronger than linear: the salient parts stand out
    return grey * (1.0 - alpha) + np.asarray(SALIENT) * alpha


def spectrogram(
    mel: ArrayLike,
    saliency: Optional[ArrayLike] = None,
    hop_seconds: float = 0.01,
    t0: float = 0.0,
    xlim: Optional[Sequence[float]] = None,
    title: str = "What the model heard",
) -> dict:
    """The log-mel spectrogram the model read, shape = (n_mels, n_frames), on the input's time axis
    (t0: the time of its first frame, as on the waveform; xlim: the range shown): in the magma
    colours, or with `saliency` (same shape, in [0, 1]) in grey with the salient parts in orange."""
    mel = np.asarray(mel, dtype=float)
    n_mels, n_frames = mel.shape
    if saliency is None:
        from matplotlib import colormaps

        scaled = (mel - mel.min()) / max(float(mel.max() - mel.min()), 1e-9)
        rgb, subtitle = colormaps["magma"](scaled)[..., :3], "bright: loud"
    else:
        rgb, subtitle = overlay(mel, saliency), "orange: what drove the prediction (saliency)"
    t1 = t0 + n_frames * hop_seconds
    domain = [float(x) for x in (xlim if xlim is not None else (t0, t1))]
    return chart(
        "Spectrogram of what the model heard"
        + (", highlighted where it drove the top emotion" if saliency is not None else ""),
        title,
        subtitle,
        150,
        data={"values": [{"x": float(t0), "x2": float(t1), "y": 0, "y2": n_mels, "url": image_of(rgb)}]},
        mark={"type": "image", "aspect": False, "smooth": False, "clip": True},
        encoding={
            "x": {
                "field": "x",
                "type": "quantitative",
                "scale": {"domain": domain, "nice": False},
                "axis": TIME_AXIS,
                "title": "time (s)",
            },
            "x2": {"field": "x2"},
            "y": {"field": "y2", "type": "quantitative", "scale": {"domain": [0, n_mels]}, "title": "mel band"},
            "y2": {"field": "y"},
            "url": {"field": "url", "type": "nominal"},
        },
    )


def probabilities(probs: Mapping[str, float], title: str = "Probability of each emotion") -> dict:
    """A horizontal bar for every label, in the mapping's order (top to bottom), the highest in colour."""
    values = {k: float(v) for k, v in probs.items()}
    top = max(values, key=values.get) if values else None
    rows = [{"emotion": k, "p": round(v, 4), "top": k == top, "text": f"{v:.0%}"} for k, v in values.items()]
    return chart(
        "Bar chart of the probability of every emotion",
        title,
        "",
        24 * max(1, len(rows)),
        data={"values": rows},
        encoding={
            "y": {"field": "emotion", "type": "nominal", "sort": None, "title": None},
            "x": {
                "field": "p",
                "type": "quantitative",
                "scale": {"domain": [0, 1.15]},
                "axis": {"values": [0, 0.5, 1], "format": ".0%"},
                "title": None,
            },
        },
        layer=[
            {
                "mark": {"type": "bar", "height": {"band": 0.7}},
                "encoding": {"color": {"condition": {"test": "datum.top", "value": ACCENT}, "value": BASE}},
            },
            {
                "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": FONT},
                "encoding": {"text": {"field": "text"}},
            },
        ],
    )


def envelope_peak(lo, hi) -> float:
    """The y range's half height for an envelope: its largest magnitude, 10% of room, never zero."""
    return max(float(max(np.abs(lo).max(initial=0.0), np.abs(hi).max(initial=0.0))), 1e-3) * 1.1


def fold_columns(t, lo, hi) -> tuple:
    """An envelope (times, low, high) folded to at most COLUMNS columns, its extremes kept."""
    if len(t) > COLUMNS:
        per = int(np.ceil(len(t) / COLUMNS))
        n = len(t) // per * per
        t, lo, hi = t[:n].reshape(-1, per).mean(1), lo[:n].reshape(-1, per).min(1), hi[:n].reshape(-1, per).max(1)
    return t, lo, hi

"""Charts of model evaluation (the Metrics tab) as Vega-Lite specs the browser draws, as wide as
their panel (emotion.charts.plots.chart): on a phone they fit the screen with their titles and labels
whole, where the matplotlib PNGs they replace kept their size and were cut off (issue 33).

    confusion(matrix, labels, normalize=False) # heat map with a number in every cell
    reliability(rel, before, ece, ece_before)  # accuracy per confidence bin vs the diagonal
    per_actor(table, overall)                  # accuracy per held-out actor
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from .plots import BASE, FONT, chart

FEMALE = "#c0504d"  # per_actor: female actors' bars (male: BASE)
GREY = "#999999"
PERCENT = {"format": ".0%"}
ACTOR_AXIS = {"labelAngle": 0, "labelFontSize": FONT - 3}  # 20 actors side by side on a phone


def confusion(matrix, labels: Sequence[str], normalize: bool = False, title: Optional[str] = None) -> dict:
    """Heat map of a confusion matrix (rows true, columns predicted) with a number in each cell.

    normalize=True divides every row by its total (recall on the diagonal); empty rows stay 0.
    """
    counts = np.asarray(matrix, dtype=float)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        vmax = 1.0
    else:
        values = counts
        vmax = max(float(counts.max()), 1.0) if counts.size else 1.0
    cells = [
        {"true": t, "predicted": p, "value": round(float(values[i, j]), 4), "dark": bool(values[i, j] > 0.55 * vmax),
         "text": f"{values[i, j]:.2f}" if normalize else f"{values[i, j]:.0f}"}
        for i, t in enumerate(labels)
        for j, p in enumerate(labels)
    ]  # fmt: skip
    order = list(labels)
    return chart(
        "Confusion matrix, rows the true emotion, columns the predicted one",
        title or ("Confusion matrix (row-normalised)" if normalize else "Confusion matrix (counts)"),
        "rows: true emotion; each row sums to 1" if normalize else "rows: true emotion",
        28 * max(1, len(order)),
        data={"values": cells},
        encoding={
            "x": {"field": "predicted", "type": "nominal", "sort": order, "axis": {"labelAngle": -45}},
            "y": {"field": "true", "type": "nominal", "sort": order},
        },
        layer=[
            {
                "mark": "rect",
                "encoding": {
                    "color": {
                        "field": "value",
                        "type": "quantitative",
                        "scale": {"scheme": "blues", "domain": [0, vmax]},
                        "legend": None,
                    }
                },
            },
            {
                "mark": {"type": "text", "fontSize": FONT - 3},
                "encoding": {
                    "text": {"field": "text"},
                    "color": {"condition": {"test": "datum.dark", "value": "white"}, "value": "black"},
                },
            },
        ],
    )


def _bins(rel: Mapping, series: str) -> list:
    edges = np.asarray(rel["edges"], dtype=float)
    return [
        {"x": float(a), "x2": float(b), "accuracy": round(float(acc), 4), "series": series}
        for a, b, acc in zip(edges[:-1], edges[1:], rel["accuracy"])
        if acc is not None
    ]


def reliability(
    rel: Mapping,
    before: Optional[Mapping] = None,
    ece: Optional[float] = None,
    ece_before: Optional[float] = None,
    title: str = "Reliability diagram",
) -> dict:
    """Accuracy per confidence bin (bars) against perfect calibration (the diagonal).

    rel : {"edges": [b+1 floats], "accuracy": [b], "confidence": [b], "count": [b]} with None
    for empty bins, as emotion.evaluation.scoring.reliability returns. `before` (same form) is drawn as
    an outline, e.g. the bins before temperature scaling; `ece`/`ece_before` go in the legend.
    """
    after = ("after temperature scaling" if before is not None else "accuracy") + (
        f" (ECE {ece:.3f})" if ece is not None else ""
    )
    bars = _bins(rel, after)
    layers = []
    scale = {"domain": [0, 1], "nice": False}
    x = {"field": "x", "type": "quantitative", "scale": scale, "title": "confidence (top probability)"}
    y = {"field": "accuracy", "type": "quantitative", "scale": scale, "title": "accuracy"}
    layers.append(
        {
            "data": {"values": bars},
            "mark": {"type": "bar", "color": BASE, "opacity": 0.75, "stroke": "white"},
            "encoding": {"x": x, "x2": {"field": "x2"}, "y": y, "y2": {"datum": 0}},
        }
    )
    if before is not None:
        label = "before temperature scaling" + (f" (ECE {ece_before:.3f})" if ece_before is not None else "")
        layers.append(
            {
                "data": {"values": _bins(before, label)},
                "mark": {"type": "bar", "fillOpacity": 0, "stroke": GREY, "strokeWidth": 1},
                "encoding": {"x": x, "x2": {"field": "x2"}, "y": y, "y2": {"datum": 0}},
            }
        )
    layers.append(
        {
            "data": {"values": [{"x": 0.0, "accuracy": 0.0}, {"x": 1.0, "accuracy": 1.0}]},
            "mark": {"type": "line", "color": "gray", "strokeDash": [4, 4]},
            "encoding": {"x": x, "y": y},
        }
    )
    subtitle = ["dashed: perfect calibration", "blue: " + after] + (
        [f"outlined: {label}"] if before is not None else []
    )
    return chart("Reliability diagram: accuracy per confidence bin", title, subtitle, 260, layer=layers)


def per_actor(table, overall: Optional[float] = None, title: str = "Accuracy per held-out actor") -> dict:
    """Bars of accuracy per actor (table: columns actor, sex, n, accuracy, as
    emotion.evaluation.report.per_actor_table returns); female and male in two shades, the overall
    accuracy as a dashed line."""
    rows = [
        {"actor": str(a), "sex": str(s), "accuracy": round(float(acc), 4)}
        for a, s, acc in zip(table["actor"], table["sex"], table["accuracy"])
    ]
    layers = [
        {
            "mark": {"type": "bar", "width": {"band": 0.75}},
            "encoding": {
                "x": {"field": "actor", "type": "ordinal", "sort": None, "title": "actor", "axis": ACTOR_AXIS},
                "y": {
                    "field": "accuracy",
                    "type": "quantitative",
                    "scale": {"domain": [0, 1]},
                    "axis": {"format": ".0%"},
                },
                "color": {"condition": {"test": "datum.sex == 'female'", "value": FEMALE}, "value": BASE},
            },
        }
    ]
    if overall is not None:
        layers.append(
            {
                "data": {"values": [{"overall": round(float(overall), 4), "text": f"all {overall:.0%}"}]},
                "mark": {"type": "rule", "color": "gray", "strokeDash": [4, 4]},
                "encoding": {"y": {"field": "overall", "type": "quantitative", "title": "accuracy"}},
            }
        )
    return chart(
        "Bar chart of the accuracy per held-out actor",
        title,
        "blue: male, red: female" + (f"; dashed: all actors, {overall:.0%}" if overall is not None else ""),
        180,
        data={"values": rows},
        layer=layers,
    )

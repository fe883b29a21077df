"""Figures of model evaluation (the Metrics tab): a confusion matrix with a number in every
cell, the reliability diagram, accuracy per actor. The style is emotion.plot_base's (no pyplot,
fixed margins).

    confusion(matrix, labels, normalize=False) # heat map with a number in every cell
    reliability(rel)                           # accuracy per confidence bin vs the diagonal
    per_actor(table, overall)                  # accuracy per held-out actor
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from .plot_base import BASE, figure


def confusion(matrix, labels: Sequence[str], normalize: bool = False, title: Optional[str] = None) -> Figure:
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
    n = len(labels)
    fig = figure(5.4, 4.6, left=0.95, right=0.45, bottom=0.95, top=0.3)
    ax = fig.add_subplot()
    im = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = f"{v:.2f}" if normalize else f"{v:.0f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if v > 0.55 * vmax else "black")
    ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(
        title or ("Confusion matrix (row-normalised)" if normalize else "Confusion matrix (counts)"), fontsize=10
    )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    return fig


def reliability(
    rel: Mapping,
    before: Optional[Mapping] = None,
    ece: Optional[float] = None,
    ece_before: Optional[float] = None,
    title: str = "Reliability diagram",
) -> Figure:
    """Accuracy per confidence bin (bars) against perfect calibration (the diagonal).

    rel : {"edges": [b+1 floats], "accuracy": [b], "confidence": [b], "count": [b]} with None
    for empty bins, as emotion.scoring.reliability returns. `before` (same form) is drawn as
    an outline, e.g. the bins before temperature scaling; `ece`/`ece_before` go in the legend.
    """
    edges = np.asarray(rel["edges"], dtype=float)
    width = np.diff(edges)
    centres = edges[:-1] + width / 2
    fig = figure(4.4, 4.2, left=0.6, right=0.2, bottom=0.5, top=0.3)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=1, label="perfect calibration")

    def bars(r: Mapping):
        acc = np.array([np.nan if a is None else float(a) for a in r["accuracy"]])
        keep = ~np.isnan(acc)
        return centres[keep], acc[keep], width[keep]

    if before is not None:
        x, acc, w = bars(before)
        label = "before temperature scaling" + (f" (ECE {ece_before:.3f})" if ece_before is not None else "")
        ax.bar(x, acc, width=w, fill=False, edgecolor="#999999", linewidth=1.0, label=label)
    x, acc, w = bars(rel)
    label = "after temperature scaling" if before is not None else "accuracy"
    if ece is not None:
        label += f" (ECE {ece:.3f})"
    ax.bar(x, acc, width=w, color=BASE, alpha=0.75, edgecolor="white", linewidth=0.5, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    return fig


def per_actor(table, overall: Optional[float] = None, title: str = "Accuracy per held-out actor") -> Figure:
    """Bars of accuracy per actor (table: columns actor, sex, n, accuracy, as
    emotion.report.per_actor_table returns); female and male in two shades, the overall
    accuracy as a dashed line."""
    fig = figure(6.4, 2.6, left=0.6, right=0.15, bottom=0.5, top=0.3)
    ax = fig.add_subplot()
    x = np.arange(len(table))
    colours = ["#c0504d" if s == "female" else BASE for s in table["sex"]]
    ax.bar(x, table["accuracy"], color=colours, width=0.75)
    if overall is not None:
        ax.axhline(overall, color="gray", linestyle="--", linewidth=1)
        ax.text(len(table) - 0.5, overall, f"all {overall:.0%}", ha="right", va="bottom", fontsize=7, color="gray")
    ax.set_xticks(x, [str(a) for a in table["actor"]], fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_xlabel("actor (blue: male, red: female)", fontsize=8)
    ax.set_ylabel("accuracy", fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig

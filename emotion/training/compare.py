"""Comparing and combining training runs from their out-of-fold tables (oof_predictions.csv):

    python -m emotion.training.evaluate --compare BASE/oof_predictions.csv NEW/oof_predictions.csv
    python -m emotion.training.evaluate --combine RUN_A/oof_predictions.csv RUN_B/oof_predictions.csv ...

A table has the columns id, actor, fold, emotion (the true label) and one probability column per
label, in the model's order; any label set works, as long as the runs share it and their folds.
"""

from __future__ import annotations

import sys
from typing import Optional

import numpy as np
import pandas as pd
import torch

from ..evaluation.scoring import cv_summary, metrics_report, print_report, write_metrics

NOT_LABELS = ("id", "actor", "fold", "emotion")


def label_columns(table: pd.DataFrame) -> list:
    """The probability columns of an out-of-fold table: its labels, in the model's order."""
    return [c for c in table.columns if c not in NOT_LABELS]


def read_oof_tables(paths: list) -> tuple:
    """Out-of-fold tables (oof_predictions.csv) sorted by clip id, and their shared true label
    indices. Raises ValueError when they cover different clips or assign them different folds."""
    tables = [pd.read_csv(p).sort_values("id").reset_index(drop=True) for p in paths]
    first = tables[0]
    names = label_columns(first)
    for path, t in zip(paths[1:], tables[1:]):
        if not (len(t) == len(first) and t["id"].equals(first["id"]) and t["fold"].equals(first["fold"])):
            raise ValueError(
                f"{path} does not cover the same clips in the same folds as {paths[0]}; "
                "use only runs trained with the same --folds and actors"
            )
        if label_columns(t) != names:
            raise ValueError(f"{path} has the labels {label_columns(t)}, {paths[0]} {names}")
    labels = first["emotion"].map({e: i for i, e in enumerate(names)}).to_numpy()
    return tables, labels


def combine_oof(paths: list) -> tuple:
    """Labels, ensemble log-probabilities and fold ids from out-of-fold tables of runs with the same
    folds. Raises ValueError when the tables cover different clips or assign them different folds."""
    tables, labels = read_oof_tables(paths)
    first = tables[0]
    logp = np.mean([np.log(t[label_columns(first)].to_numpy(dtype=np.float64).clip(1e-8)) for t in tables], axis=0)
    return labels, logp, first["fold"].to_numpy(), list(first["id"])


def macro_f1(true: np.ndarray, pred: np.ndarray, n_labels: int) -> float:
    """sklearn's f1_score(average="macro", labels=range(n_labels), zero_division=0), from one
    bincount: 2 TP / (true + predicted) per label. The bootstrap calls it thousands of times, where
    f1_score's input checks took 1 ms a call (tests/test_train.py checks the two agree)."""
    cm = np.bincount(true * n_labels + pred, minlength=n_labels * n_labels).reshape(n_labels, n_labels)
    support = cm.sum(0) + cm.sum(1)
    return float(np.mean(np.where(support > 0, 2 * np.diag(cm) / np.maximum(support, 1), 0.0)))


def compare_oof(base_path, new_path, n_boot: int = 2000, seed: int = 0) -> dict:
    """Paired bootstrap over actors of run NEW minus run BASE (macro-F1 and accuracy).

    Each resample draws the actors with replacement and scores both runs on the same clips, so
    the interval reflects how much the difference depends on which speakers were held out.
    """
    (base, new), labels = read_oof_tables([base_path, new_path])
    preds = [t[label_columns(base)].to_numpy().argmax(1) for t in (base, new)]
    actors = base["actor"].to_numpy()
    groups = [np.flatnonzero(actors == a) for a in np.unique(actors)]
    labels_all = list(range(len(label_columns(base))))

    def scores(idx):
        return [(macro_f1(labels[idx], p[idx], len(labels_all)), float(np.mean(labels[idx] == p[idx]))) for p in preds]

    (f1_b, acc_b), (f1_n, acc_n) = scores(np.arange(len(labels)))
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))])
        (fb, ab), (fn, an) = scores(idx)
        diffs.append((fn - fb, an - ab))
    diffs = np.array(diffs)
    return dict(
        base=dict(macro_f1=f1_b, accuracy=acc_b),
        new=dict(macro_f1=f1_n, accuracy=acc_n),
        diff=dict(macro_f1=f1_n - f1_b, accuracy=acc_n - acc_b),
        ci95=dict(
            macro_f1=np.percentile(diffs[:, 0], [2.5, 97.5]).tolist(),
            accuracy=np.percentile(diffs[:, 1], [2.5, 97.5]).tolist(),
        ),
        p_new_better=dict(macro_f1=float(np.mean(diffs[:, 0] > 0)), accuracy=float(np.mean(diffs[:, 1] > 0))),
        n_actors=len(groups),
        n_boot=n_boot,
    )


def _compare_main(paths: list, out: Optional[str]) -> int:
    try:
        result = compare_oof(*paths)
    except (OSError, ValueError, KeyError) as exc:
        print(f"Cannot compare: {exc}", file=sys.stderr)
        return 1
    print(
        f"{paths[1]} minus {paths[0]}, paired bootstrap over {result['n_actors']} actors "
        f"({result['n_boot']} resamples):"
    )
    for m in ("macro_f1", "accuracy"):
        lo, hi = result["ci95"][m]
        print(
            f"  {m:<9} {result['base'][m]:.3f} -> {result['new'][m]:.3f}  difference {result['diff'][m]:+.3f} "
            f"(95% interval {lo:+.3f} to {hi:+.3f}; new better in {100 * result['p_new_better'][m]:.0f}% of resamples)"
        )
    if out:
        write_metrics(result, out)
    return 0


def _combine_main(paths: list, out: Optional[str]) -> int:
    try:
        labels, logp, folds, ids = combine_oof(paths)
    except (OSError, ValueError, KeyError) as exc:
        print(f"Cannot combine: {exc}", file=sys.stderr)
        return 1
    names = label_columns(pd.read_csv(paths[0], nrows=0))
    split = dict(kind=f"per-fold ensemble of {len(paths)} runs' out-of-fold predictions", runs=[str(p) for p in paths])
    metrics = metrics_report(labels, torch.from_numpy(logp), 1.0, split, ids=ids, names=names)
    metrics["cross_validation"] = cv_summary(labels, logp.argmax(1), folds, n_classes=len(names))
    cv = metrics["cross_validation"]
    print("per fold: " + "  ".join(f"{m} {cv['mean'][m]:.3f} +- {cv['std'][m]:.3f}" for m in cv["mean"]))
    print_report(metrics, labels, logp.argmax(1))
    if out:
        write_metrics(metrics, out)
    return 0

"""Scoring: metrics, calibration, and the one out-of-fold scorer.

Metrics (accuracy, macro precision/recall/F1, UAR, the confusion matrix, expected calibration
error and the reliability diagram) come from scikit-learn; the temperature is fitted by LBFGS.

The out-of-fold rule lives here once: a clip is scored only by models that never heard its
speaker. For a checkpoint of fold models, that is the fold model that held the clip's actor out;
actors no model trained on (e.g. the blind actors 21-24) are scored by the whole ensemble; actors
that every model heard cannot be scored fairly and are left out. The Examples browser, the Metrics
recompute, `emotion.training.evaluate` and `emotion.training.train --merge` all call
`out_of_fold_logits`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import classification_report, confusion_matrix, precision_recall_fscore_support

from .. import audio
from ..data.ravdess import index_dataset, load_waves
from ..labels import EMOTIONS, speaker_key, stored_speaker

ECE_BINS = 15


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE with equal-width confidence bins (those of reliability): sum over bins of
    |accuracy - confidence| * share."""
    rel = reliability(probs, labels, bins)
    n = max(sum(rel["count"]), 1)
    return float(sum(c / n * abs(a - f) for c, a, f in zip(rel["count"], rel["accuracy"], rel["confidence"]) if c))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Per-bin confidence, accuracy and count, for a reliability diagram."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    out = dict(edges=edges.tolist(), confidence=[], accuracy=[], count=[])
    for b in range(bins):
        sel = which == b
        out["count"].append(int(sel.sum()))
        out["confidence"].append(float(conf[sel].mean()) if sel.any() else None)
        out["accuracy"].append(float(correct[sel].mean()) if sel.any() else None)
    return out


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Temperature T minimising the NLL of softmax(logits / T) (Guo et al., 2017)."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)
    logits, labels = logits.detach().float(), labels.long()

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.detach().exp())
    if not np.isfinite(t) or not 0.05 <= t <= 20.0:  # near-uniform logits: LBFGS can run off; search a grid
        grid = torch.linspace(np.log(0.05), np.log(20.0), 601).exp()
        nll = torch.stack([torch.nn.functional.cross_entropy(logits / g, labels) for g in grid])
        t = float(grid[int(nll.argmin())])
    return t


def metrics_report(
    labels: np.ndarray,
    logits: torch.Tensor,
    temperature: float = 1.0,
    split: Optional[dict] = None,
    ids: Optional[list] = None,
    *,
    names: Sequence[str],
) -> dict:
    """All metrics for integer labels and logits, shape = (n, len(names)), as a JSON-able dict;
    names: the labels in the model's output order (a checkpoint's, a manifest's).

    confusion_matrix rows are true labels, columns predicted, both in `names` order.
    """
    labels = np.asarray(labels)
    names = list(names)
    raw = torch.softmax(torch.as_tensor(logits).float(), dim=1).numpy()
    probs = torch.softmax(torch.as_tensor(logits).float() / temperature, dim=1).numpy()
    pred = probs.argmax(axis=1)
    idx = list(range(len(names)))
    p, r, f, s = precision_recall_fscore_support(labels, pred, labels=idx, zero_division=0)
    out = dict(
        n=int(len(labels)),
        accuracy=float((pred == labels).mean()),
        macro_precision=float(p.mean()),
        macro_recall=float(r.mean()),
        macro_f1=float(f.mean()),
        unweighted_average_recall=float(r.mean()),
        labels=names,
        confusion_matrix=confusion_matrix(labels, pred, labels=idx).tolist(),
        per_class={
            names[i]: dict(precision=float(p[i]), recall=float(r[i]), f1=float(f[i]), support=int(s[i])) for i in idx
        },
        temperature=float(temperature),
        ece=expected_calibration_error(raw, labels),
        ece_calibrated=expected_calibration_error(probs, labels),
        reliability=reliability(probs, labels),
        reliability_uncalibrated=reliability(raw, labels),
    )
    if split is not None:
        out["split"] = split
    if ids is not None:
        out["predictions"] = {i: names[k] for i, k in zip(ids, pred)}
    return out


def cv_summary(labels: np.ndarray, pred: np.ndarray, folds: np.ndarray, n_classes: int) -> dict:
    """Accuracy, macro-F1 and unweighted average recall (over n_classes labels) per fold, with their
    mean and std."""
    idx = list(range(n_classes))
    per_fold = []
    for k in sorted(set(int(f) for f in folds if f >= 0)):
        sel = folds == k
        _, r, f, _ = precision_recall_fscore_support(labels[sel], pred[sel], labels=idx, zero_division=0)
        per_fold.append(
            dict(
                fold=k,
                n=int(sel.sum()),
                accuracy=float((labels[sel] == pred[sel]).mean()),
                macro_f1=float(f.mean()),
                uar=float(r.mean()),
            )
        )
    keys = ("accuracy", "macro_f1", "uar")
    return dict(
        per_fold=per_fold,
        mean={m: float(np.mean([f[m] for f in per_fold])) for m in keys},
        std={m: float(np.std([f[m] for f in per_fold], ddof=1)) if len(per_fold) > 1 else 0.0 for m in keys},
    )


def write_metrics(metrics: dict, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(metrics, indent=1))


def print_report(metrics: dict, labels: np.ndarray, pred: np.ndarray) -> None:
    names = metrics["labels"]
    print(
        f"n={metrics['n']}  accuracy {metrics['accuracy']:.3f}  macro precision "
        f"{metrics['macro_precision']:.3f}  macro recall {metrics['macro_recall']:.3f}  "
        f"macro F1 {metrics['macro_f1']:.3f}  ECE {metrics['ece']:.3f} -> "
        f"{metrics['ece_calibrated']:.3f} (T={metrics['temperature']:.2f})"
    )
    print(
        classification_report(
            labels, pred, labels=list(range(len(names))), target_names=names, digits=3, zero_division=0
        )
    )


# ----- the out-of-fold scorer --------------------------------------------------------------

ProgressFn = Callable[[float, str], None]
ENSEMBLE = ()  # "every model of the checkpoint": for actors none of them trained on


def scoring_models(predictor, actor) -> Optional[tuple]:
    """The models that may score a clip of this actor (or speaker): (k,) for the fold model that
    held it out, ENSEMBLE for a speaker no model trained on, None when every model heard it."""
    key = speaker_key(actor)
    for k, fold in enumerate(predictor.folds[: len(predictor.models)]):
        if key in {speaker_key(a) for a in fold.get("val_actors", [])}:
            return (k,)
    if key not in {speaker_key(a) for a in predictor.train_actors}:
        return ENSEMBLE
    return None


def out_of_fold_logits(
    predictor,
    frame: pd.DataFrame,
    batch_size: int = 32,
    progress: Optional[ProgressFn] = None,
    waves: Optional[Sequence[np.ndarray]] = None,
) -> tuple:
    """Logits of every clip of `frame` (columns path, actor) from models that never heard its actor.

    waves: the trimmed speech of each row of frame, already in memory (e.g. corrupted copies, as the
    robustness table scores them); by default each clip is read from its path (ravdess.load_waves).
    Either way a clip is centred in the model's window (audio.clip_batch) and scored as it is.

    Returns (logits, shape = (n, len(predictor.labels)), of the kept rows; the kept rows of frame,
    reindexed; fold ids per kept row: k, or -1 for the ensemble; the excluded actors, heard by every model).
    """
    report = progress or (lambda fraction, desc: None)
    chosen = {stored_speaker(a): scoring_models(predictor, a) for a in frame["actor"].unique()}
    excluded = sorted((a for a, m in chosen.items() if m is None), key=speaker_key)
    kept = ~frame["actor"].map(stored_speaker).isin(excluded).to_numpy()
    frame = frame[kept].reset_index(drop=True)
    if waves is not None:
        if len(waves) != len(kept):
            raise ValueError(f"{len(waves)} waves for {len(kept)} rows")
        waves = [waves[i] for i in np.flatnonzero(kept)]
    groups: Dict[tuple, List[int]] = {}
    for i, actor in enumerate(frame["actor"].to_numpy()):
        groups.setdefault(chosen[stored_speaker(actor)], []).append(i)
    logits = torch.zeros(len(frame), len(predictor.labels))
    fold_ids = np.full(len(frame), -1)
    done, total = 0, len(frame)
    report(0.0, f"scoring {total} clips")
    for models, idx in groups.items():
        for start in range(0, len(idx), batch_size):
            chunk = idx[start : start + batch_size]
            clips = [waves[i] for i in chunk] if waves is not None else load_waves([frame.at[i, "path"] for i in chunk])
            batch = audio.clip_batch(clips)
            logits[chunk] = predictor.logits(batch, models=list(models) or None)
            done += len(chunk)
            report(done / total, f"scored {done}/{total} clips")
        fold_ids[idx] = models[0] if models else -1
    return logits, frame, fold_ids, excluded


def split_record(
    predictor,
    frame: pd.DataFrame,
    fold_ids: np.ndarray,
    excluded: Sequence[int],
    kind: str,
    channel: str = "speech",
    data_dir=None,
) -> dict:
    """The split of an out-of-fold scoring in words and actor lists (metrics.json's "split")."""
    actors = frame["actor"].to_numpy()
    present = set(speaker_key(a) for a in actors)
    split = dict(
        kind=kind,
        folds=[
            dict(
                train_actors=predictor.folds[k]["train_actors"],
                val_actors=[a for a in predictor.folds[k]["val_actors"] if speaker_key(a) in present],
            )
            for k in sorted(set(int(f) for f in fold_ids if f >= 0))
        ],
        unseen_actors=sorted({stored_speaker(a) for a in actors[fold_ids < 0]}, key=speaker_key),
        excluded_actors=list(excluded),
        channel=channel,
    )
    if data_dir is not None:
        split["data_dir"] = str(data_dir)
    return split


def recompute_metrics(predictor, data_dir, progress: Optional[ProgressFn] = None, batch_size: int = 32) -> dict:
    """Out-of-fold metrics on the speech clips of a local RAVDESS folder, without training: the
    checkpoint's fold models, each clip scored by one that never heard its actor."""
    if tuple(predictor.labels) != EMOTIONS:
        raise ValueError(
            f"This checkpoint's labels ({', '.join(predictor.labels)}) are not RAVDESS's eight "
            "emotions, so a RAVDESS folder cannot score it; its out-of-fold metrics were "
            "written by its training run (metrics.json)."
        )
    data_dir = Path(data_dir)
    frame = index_dataset(data_dir, channels=("speech",))
    if frame.empty:
        raise FileNotFoundError(f"No RAVDESS speech clips under {data_dir}")
    logits, frame, fold_ids, excluded = out_of_fold_logits(predictor, frame, batch_size, progress)
    if frame.empty:
        raise ValueError(
            f"Every actor under {data_dir} was heard by every model of this checkpoint: nothing can be scored fairly."
        )
    split = split_record(
        predictor,
        frame,
        fold_ids,
        excluded,
        data_dir=data_dir,
        kind="out-of-fold predictions of the checkpoint's fold models (speaker-independent), "
        "recomputed on a local dataset",
    )
    return metrics_report(
        frame["label"].to_numpy(), logits, predictor.temperature, split, ids=list(frame["id"]), names=predictor.labels
    )

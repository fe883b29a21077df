"""Evaluation: accuracy, macro precision/recall/F1, per-class report, confusion matrix, ECE.

    python -m emotion.evaluate --data-dir DIR [--checkpoint P] [--out FILE.json] [--folds K]
    python -m emotion.evaluate --combine RUN_A/oof_predictions.csv RUN_B/oof_predictions.csv ...
    python -m emotion.evaluate --compare BASE/oof_predictions.csv NEW/oof_predictions.csv

Without --folds, only clips of actors the checkpoint never trained on are scored (e.g. the
blind actors 21-24). With --folds K every clip gets an out-of-fold prediction: from the fold
model of the checkpoint that held its actor out when the checkpoint has K folds covering it,
otherwise from K fold models trained here first. Either way no clip is predicted by a model
that heard its speaker.

--combine scores a per-fold ensemble of training runs from their out-of-fold tables (written by
emotion.train): clip by clip, the mean log-probability of the runs' fold models. The runs must
share their folds, so every member that predicts a clip held its actor out: the ensemble's score
is as speaker-independent as each run's own.

--compare asks whether run NEW beats run BASE by more than the luck of which speakers were held
out: a paired bootstrap over actors (the same resampled actors score both runs) of the difference
in macro-F1 and accuracy, with its 95% interval and the share of resamples in which NEW is better.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from sklearn.metrics import classification_report, confusion_matrix, f1_score, precision_recall_fscore_support

from .labels import EMOTIONS

ECE_BINS = 15


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE with equal-width confidence bins: sum over bins of |accuracy - confidence| * share."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)


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


def metrics_report(labels: np.ndarray, logits: torch.Tensor, temperature: float = 1.0,
                   split: Optional[dict] = None, ids: Optional[list] = None) -> dict:
    """All metrics for integer labels and logits, shape = (n, len(EMOTIONS)), as a JSON-able dict.

    confusion_matrix rows are true labels, columns predicted, both in `labels` order.
    """
    labels = np.asarray(labels)
    raw = torch.softmax(torch.as_tensor(logits).float(), dim=1).numpy()
    probs = torch.softmax(torch.as_tensor(logits).float() / temperature, dim=1).numpy()
    pred = probs.argmax(axis=1)
    idx = list(range(len(EMOTIONS)))
    p, r, f, s = precision_recall_fscore_support(labels, pred, labels=idx, zero_division=0)
    out = dict(
        n=int(len(labels)),
        accuracy=float((pred == labels).mean()),
        macro_precision=float(p.mean()), macro_recall=float(r.mean()), macro_f1=float(f.mean()),
        unweighted_average_recall=float(r.mean()),
        labels=list(EMOTIONS),
        confusion_matrix=confusion_matrix(labels, pred, labels=idx).tolist(),
        per_class={EMOTIONS[i]: dict(precision=float(p[i]), recall=float(r[i]), f1=float(f[i]),
                                     support=int(s[i])) for i in idx},
        temperature=float(temperature),
        ece=expected_calibration_error(raw, labels),
        ece_calibrated=expected_calibration_error(probs, labels),
        reliability=reliability(probs, labels),
        reliability_uncalibrated=reliability(raw, labels),
    )
    if split is not None:
        out["split"] = split
    if ids is not None:
        out["predictions"] = {i: EMOTIONS[k] for i, k in zip(ids, pred)}
    return out


def cv_summary(labels: np.ndarray, pred: np.ndarray, folds: np.ndarray) -> dict:
    """Accuracy, macro-F1 and unweighted average recall per fold, with their mean and std."""
    idx = list(range(len(EMOTIONS)))
    per_fold = []
    for k in sorted(set(int(f) for f in folds if f >= 0)):
        sel = folds == k
        _, r, f, _ = precision_recall_fscore_support(labels[sel], pred[sel], labels=idx, zero_division=0)
        per_fold.append(dict(fold=k, n=int(sel.sum()), accuracy=float((labels[sel] == pred[sel]).mean()),
                             macro_f1=float(f.mean()), uar=float(r.mean())))
    keys = ("accuracy", "macro_f1", "uar")
    return dict(per_fold=per_fold,
                mean={m: float(np.mean([f[m] for f in per_fold])) for m in keys},
                std={m: float(np.std([f[m] for f in per_fold], ddof=1)) if len(per_fold) > 1 else 0.0 for m in keys})


def write_metrics(metrics: dict, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(metrics, indent=1))


def print_report(metrics: dict, labels: np.ndarray, pred: np.ndarray) -> None:
    print(f"n={metrics['n']}  accuracy {metrics['accuracy']:.3f}  macro precision "
          f"{metrics['macro_precision']:.3f}  macro recall {metrics['macro_recall']:.3f}  "
          f"macro F1 {metrics['macro_f1']:.3f}  ECE {metrics['ece']:.3f} -> "
          f"{metrics['ece_calibrated']:.3f} (T={metrics['temperature']:.2f})")
    print(classification_report(labels, pred, labels=list(range(len(EMOTIONS))),
                                target_names=list(EMOTIONS), digits=3, zero_division=0))


def read_oof_tables(paths: list) -> tuple:
    """Out-of-fold tables (oof_predictions.csv) sorted by clip id, and their shared true label
    indices. Raises ValueError when they cover different clips or assign them different folds."""
    import pandas as pd
    tables = [pd.read_csv(p).sort_values("id").reset_index(drop=True) for p in paths]
    first = tables[0]
    for path, t in zip(paths[1:], tables[1:]):
        if not (len(t) == len(first) and t["id"].equals(first["id"]) and t["fold"].equals(first["fold"])):
            raise ValueError(f"{path} does not cover the same clips in the same folds as {paths[0]}; "
                             "use only runs trained with the same --folds and actors")
    labels = first["emotion"].map({e: i for i, e in enumerate(EMOTIONS)}).to_numpy()
    return tables, labels


def combine_oof(paths: list) -> tuple:
    """Labels, ensemble log-probabilities and fold ids from out-of-fold tables of runs with the same
    folds. Raises ValueError when the tables cover different clips or assign them different folds."""
    tables, labels = read_oof_tables(paths)
    first = tables[0]
    logp = np.mean([np.log(t[list(EMOTIONS)].to_numpy(dtype=np.float64).clip(1e-8)) for t in tables], axis=0)
    return labels, logp, first["fold"].to_numpy(), list(first["id"])


def compare_oof(base_path, new_path, n_boot: int = 2000, seed: int = 0) -> dict:
    """Paired bootstrap over actors of run NEW minus run BASE (macro-F1 and accuracy).

    Each resample draws the actors with replacement and scores both runs on the same clips, so
    the interval reflects how much the difference depends on which speakers were held out.
    """
    (base, new), labels = read_oof_tables([base_path, new_path])
    preds = [t[list(EMOTIONS)].to_numpy().argmax(1) for t in (base, new)]
    actors = base["actor"].to_numpy()
    groups = [np.flatnonzero(actors == a) for a in np.unique(actors)]
    labels_all = list(range(len(EMOTIONS)))

    def scores(idx):
        return [(f1_score(labels[idx], p[idx], average="macro", labels=labels_all, zero_division=0),
                 float(np.mean(labels[idx] == p[idx]))) for p in preds]

    (f1_b, acc_b), (f1_n, acc_n) = scores(np.arange(len(labels)))
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))])
        (fb, ab), (fn, an) = scores(idx)
        diffs.append((fn - fb, an - ab))
    diffs = np.array(diffs)
    return dict(base=dict(macro_f1=f1_b, accuracy=acc_b), new=dict(macro_f1=f1_n, accuracy=acc_n),
                diff=dict(macro_f1=f1_n - f1_b, accuracy=acc_n - acc_b),
                ci95=dict(macro_f1=np.percentile(diffs[:, 0], [2.5, 97.5]).tolist(),
                          accuracy=np.percentile(diffs[:, 1], [2.5, 97.5]).tolist()),
                p_new_better=dict(macro_f1=float(np.mean(diffs[:, 0] > 0)), accuracy=float(np.mean(diffs[:, 1] > 0))),
                n_actors=len(groups), n_boot=n_boot)


def _compare_main(paths: list, out: Optional[str]) -> int:
    try:
        result = compare_oof(*paths)
    except (OSError, ValueError, KeyError) as exc:
        print(f"Cannot compare: {exc}", file=sys.stderr)
        return 1
    print(f"{paths[1]} minus {paths[0]}, paired bootstrap over {result['n_actors']} actors "
          f"({result['n_boot']} resamples):")
    for m in ("macro_f1", "accuracy"):
        lo, hi = result["ci95"][m]
        print(f"  {m:<9} {result['base'][m]:.3f} -> {result['new'][m]:.3f}  difference {result['diff'][m]:+.3f} "
              f"(95% interval {lo:+.3f} to {hi:+.3f}; new better in {100 * result['p_new_better'][m]:.0f}% of resamples)")
    if out:
        write_metrics(result, out)
    return 0


def _combine_main(paths: list, out: Optional[str]) -> int:
    try:
        labels, logp, folds, ids = combine_oof(paths)
    except (OSError, ValueError, KeyError) as exc:
        print(f"Cannot combine: {exc}", file=sys.stderr)
        return 1
    split = dict(kind=f"per-fold ensemble of {len(paths)} runs' out-of-fold predictions", runs=[str(p) for p in paths])
    metrics = metrics_report(labels, torch.from_numpy(logp), 1.0, split, ids=ids)
    metrics["cross_validation"] = cv_summary(labels, logp.argmax(1), folds)
    cv = metrics["cross_validation"]
    print("per fold: " + "  ".join(f"{m} {cv['mean'][m]:.3f} +- {cv['std'][m]:.3f}" for m in cv["mean"]))
    print_report(metrics, labels, logp.argmax(1))
    if out:
        write_metrics(metrics, out)
    return 0


def main(argv=None) -> int:
    from .data import index_dataset, load_waves
    from .predict import Predictor, DEFAULT_CHECKPOINT
    from . import audio

    ap = argparse.ArgumentParser(prog="python -m emotion.evaluate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", help="RAVDESS folder (required unless --combine or --compare)")
    ap.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    ap.add_argument("--out", help="write the metrics JSON here")
    ap.add_argument("--folds", type=int, help="out-of-fold predictions from K actor folds")
    ap.add_argument("--channel", default="speech", choices=["speech", "song"])
    ap.add_argument("--epochs", type=int, help="epochs per fold when --folds trains (default: the checkpoint's recipe)")
    ap.add_argument("--combine", nargs="+", metavar="OOF_CSV",
                    help="score the per-fold ensemble of these runs' oof_predictions.csv tables")
    ap.add_argument("--compare", nargs=2, metavar=("BASE_CSV", "NEW_CSV"),
                    help="paired actor bootstrap: does run NEW beat run BASE beyond speaker luck?")
    args = ap.parse_args(argv)
    if args.compare:
        return _compare_main(args.compare, args.out)
    if args.combine:
        return _combine_main(args.combine, args.out)
    if not args.data_dir:
        ap.error("--data-dir is required (or --combine / --compare)")

    predictor = Predictor.from_checkpoint(args.checkpoint)
    frame = index_dataset(args.data_dir, channels=(args.channel,))
    if frame.empty:
        print(f"No RAVDESS {args.channel} clips under {args.data_dir}", file=sys.stderr)
        return 1
    seen = set(predictor.train_actors)
    if args.folds is None:
        frame = frame[~frame["actor"].isin(seen)]
        if frame.empty:
            print("Every actor in this folder was in the checkpoint's training data. Use --folds K "
                  "for out-of-fold predictions, or a folder with other actors.", file=sys.stderr)
            return 1
        waves = audio.clip_batch(load_waves(list(frame["path"])))
        logits = predictor.logits(waves)
        split = dict(kind="held-out actors (never in training)", test_actors=sorted(frame["actor"].unique().tolist()),
                     train_actors=sorted(seen), channel=args.channel)
        fold_ids = None
    else:
        logits, split, frame, fold_ids = out_of_fold(predictor, frame, args)
    labels = frame["label"].to_numpy()
    metrics = metrics_report(labels, logits, predictor.temperature, split, ids=list(frame["id"]))
    if fold_ids is not None:
        metrics["cross_validation"] = cv_summary(labels, np.asarray(logits).argmax(1), fold_ids)
        metrics["training"] = {k: predictor.checkpoint_info.get(k) for k in ("folds", "training", "temperature")}
        cv = metrics["cross_validation"]
        print("per fold: " + "  ".join(f"{m} {cv['mean'][m]:.3f} +- {cv['std'][m]:.3f}" for m in cv["mean"]))
    print_report(metrics, labels, np.asarray(logits).argmax(1))
    if args.out:
        write_metrics(metrics, args.out)
        print(f"wrote {args.out}")
    return 0


def out_of_fold(predictor, frame, args):
    """Logits for every clip from a model that never heard its speaker."""
    from .data import load_waves
    from . import audio
    folds = predictor.folds
    covered = {a for f in folds for a in f["val_actors"]}
    if len(folds) == args.folds and set(frame["actor"]) <= covered | (set(frame["actor"]) - set(predictor.train_actors)):
        waves = audio.clip_batch(load_waves(list(frame["path"])))
        logits = torch.zeros(len(frame), len(EMOTIONS))
        actors = frame["actor"].to_numpy()
        fold_ids = np.full(len(frame), -1)
        for k, fold in enumerate(folds):
            sel = np.isin(actors, fold["val_actors"])
            fold_ids[sel] = k
            if sel.any():
                logits[torch.from_numpy(sel)] = predictor.logits(waves[torch.from_numpy(sel)], models=[k])
        unseen = ~np.isin(actors, predictor.train_actors)
        if unseen.any():
            logits[torch.from_numpy(unseen)] = predictor.logits(waves[torch.from_numpy(unseen)])
        split = dict(kind=f"{args.folds}-fold actor cross-validation of the checkpoint's fold models",
                     folds=[dict(train_actors=f["train_actors"], val_actors=f["val_actors"]) for f in folds],
                     channel=args.channel)
        return logits, split, frame, fold_ids
    if predictor.backbone != "cnn":
        raise SystemExit(f"The checkpoint's {len(folds)} fold heads do not give --folds {args.folds}; train "
                         f"them with python -m emotion.train --backbone {predictor.backbone} --folds {args.folds}.")
    from .train import train_folds
    from .data import Augment, index_dataset
    full = index_dataset(args.data_dir)
    # the checkpoint's own recipe (model config, schedule, augmentation), so the estimate is of it
    recipe = dict(epochs=60, lr=3e-3, batch_size=32, ema=0.0, bf16=False, select="best", use_song=True,
                  augment={})
    recipe.update(predictor.checkpoint_info.get("training", {}).get("recipe", {}))
    epochs = args.epochs or recipe["epochs"]
    print(f"Training {args.folds} fold models ({epochs} epochs) on {args.data_dir} for out-of-fold predictions ...")
    result = train_folds(full, args.folds, predictor.config, epochs, recipe["lr"], recipe["batch_size"],
                         predictor.checkpoint_info.get("training", {}).get("seed", 0),
                         use_song=recipe["use_song"], augment=Augment(**recipe["augment"]), ema=recipe["ema"],
                         bf16=recipe["bf16"], select=recipe["select"])
    oof = result["oof"]
    frame = frame.set_index("id").loc[oof["id"]].reset_index()
    fold_ids = oof["fold"].to_numpy()
    split = dict(kind=f"{args.folds}-fold actor cross-validation, models trained by this command",
                 folds=[dict(train_actors=f["train_actors"], val_actors=f["val_actors"]) for f in result["folds"]],
                 channel="speech")
    return torch.tensor(np.stack(oof["logits"].to_numpy())), split, frame, fold_ids


if __name__ == "__main__":
    sys.exit(main())

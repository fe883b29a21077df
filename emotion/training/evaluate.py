"""Evaluation: accuracy, macro precision/recall/F1, per-class report, confusion matrix, ECE.

    python -m emotion.training.evaluate --data-dir DIR [--checkpoint P] [--out FILE.json] [--folds K]
    python -m emotion.training.evaluate --combine RUN_A/oof_predictions.csv RUN_B/oof_predictions.csv ...
    python -m emotion.training.evaluate --compare BASE/oof_predictions.csv NEW/oof_predictions.csv
    python -m emotion.training.evaluate --manifest FILE.csv [--split test|cv|all] --checkpoint P

Without --folds, only clips of actors the checkpoint never trained on are scored (e.g. the
blind actors 21-24). With --folds K every clip gets an out-of-fold prediction: from the fold
model of the checkpoint that held its actor out when the checkpoint has K folds covering it,
otherwise from K fold models trained here first. Either way no clip is predicted by a model
that heard its speaker.

--manifest scores a manifest's rows (default split=test: the blind test kept out of training) by
the same rule: a speaker held out by a fold model is scored by it, one no model heard by the
whole ensemble, one every model heard is left out (and named).

--combine scores a per-fold ensemble of training runs from their out-of-fold tables (written by
emotion.training.train): clip by clip, the mean log-probability of the runs' fold models. The runs must
share their folds, so every member that predicts a clip held its actor out: the ensemble's score
is as speaker-independent as each run's own.

--compare asks whether run NEW beats run BASE by more than the luck of which speakers were held
out: a paired bootstrap over actors (the same resampled actors score both runs) of the difference
in macro-F1 and accuracy, with its 95% interval and the share of resamples in which NEW is better.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..data.ravdess import index_dataset
from ..errors import InputError
from ..evaluation.scoring import (
    cv_summary,
    metrics_report,
    out_of_fold_logits,
    print_report,
    split_record,
    write_metrics,
)
from ..labels import natural_key
from ..model.checkpoint import default_path
from ..predictor import Predictor
from . import program
from .compare import _combine_main, _compare_main, combine_oof, compare_oof  # noqa: F401 (--combine, --compare)

PROG = "python -m emotion.training.evaluate"


class EvaluateError(InputError):
    """An evaluation that cannot be run as asked; the message says what to do instead."""


def parser() -> argparse.ArgumentParser:
    ap = program("evaluate", __doc__)
    ap.add_argument("--data-dir", help="RAVDESS folder (required unless --combine or --compare)")
    ap.add_argument("--checkpoint", type=default_path, default=default_path())
    ap.add_argument("--out", help="write the metrics JSON here")
    ap.add_argument(
        "--oof",
        help="with --folds: write each clip's out-of-fold probabilities here (the app's "
        "oof_predictions.csv format: id, actor, fold, emotion, one column per label)",
    )
    ap.add_argument("--folds", type=int, help="out-of-fold predictions from K actor folds")
    ap.add_argument("--channel", default="speech", choices=["speech", "song"])
    ap.add_argument("--epochs", type=int, help="epochs per fold when --folds trains (default: the checkpoint's recipe)")
    ap.add_argument(
        "--combine", nargs="+", metavar="OOF_CSV", help="score the per-fold ensemble of these runs' oof_predictions.csv"
    )
    ap.add_argument(
        "--compare",
        nargs=2,
        metavar=("BASE_CSV", "NEW_CSV"),
        help="paired actor bootstrap: does run NEW beat run BASE beyond speaker luck?",
    )
    ap.add_argument("--manifest", help="score this manifest's rows (see --split) instead of a RAVDESS folder")
    ap.add_argument(
        "--split",
        default="test",
        choices=["test", "cv", "all"],
        help="--manifest: which rows (default test, the ones kept out of training)",
    )
    return ap


def main(argv=None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    if args.manifest:
        return _manifest_main(args)
    if args.compare:
        return _compare_main(args.compare, args.out)
    if args.combine:
        return _combine_main(args.combine, args.out)
    if not args.data_dir:
        ap.error("--data-dir is required (or --manifest, --combine, --compare)")
    try:
        return _data_dir_main(args)
    except InputError as exc:
        print(f"Cannot evaluate: {exc}", file=sys.stderr)
        return 1


def _data_dir_main(args) -> int:
    """A RAVDESS folder: the actors the checkpoint never heard, or with --folds K every clip out of fold."""
    predictor = Predictor.from_checkpoint(args.checkpoint)
    frame = index_dataset(args.data_dir, channels=(args.channel,))
    if frame.empty:
        raise EvaluateError(f"No RAVDESS {args.channel} clips under {args.data_dir}")
    if args.folds is None:
        logits, split, frame = unseen_actors(predictor, frame, args.channel)
    else:
        logits, split, frame, fold_ids = out_of_fold(predictor, frame, args)
    labels = frame["label"].to_numpy()
    metrics = metrics_report(
        labels, logits, predictor.temperature, split, ids=list(frame["id"]), names=predictor.labels
    )
    if args.folds is not None:
        pred = np.asarray(logits).argmax(1)
        metrics["cross_validation"] = cv_summary(labels, pred, fold_ids, len(predictor.labels))
        metrics["training"] = {k: predictor.checkpoint_info.get(k) for k in ("folds", "training", "temperature")}
        cv = metrics["cross_validation"]
        print("per fold: " + "  ".join(f"{m} {cv['mean'][m]:.3f} +- {cv['std'][m]:.3f}" for m in cv["mean"]))
        if args.oof:
            write_oof(predictor, frame, logits, fold_ids, args.oof)
    return _report(metrics, labels, logits, args.out)


def unseen_actors(predictor, frame: pd.DataFrame, channel: str) -> tuple:
    """(logits, split, frame) of the clips of actors the checkpoint never trained on, scored by the
    whole ensemble. EvaluateError when every actor of the frame was in its training data."""
    seen = set(predictor.train_actors)
    frame = frame[~frame["actor"].isin(seen)]
    if frame.empty:
        raise EvaluateError(
            "Every actor in this folder was in the checkpoint's training data. Use --folds K "
            "for out-of-fold predictions, or a folder with other actors."
        )
    logits, frame = out_of_fold_logits(predictor, frame)[:2]  # all unseen: the whole ensemble
    split = dict(
        kind="held-out actors (never in training)",
        test_actors=sorted(frame["actor"].unique().tolist(), key=natural_key),
        train_actors=sorted(seen, key=natural_key),  # RAVDESS ints beside "emodb-08": sort as natural_key
        channel=channel,
    )
    return logits, split, frame


def write_oof(predictor, frame: pd.DataFrame, logits, fold_ids: np.ndarray, path) -> None:
    """Each clip's calibrated out-of-fold probabilities (the app's oof_predictions.csv format)."""
    probs = torch.softmax(torch.as_tensor(logits) / predictor.temperature, dim=1).numpy()
    table = frame[["id", "actor"]].assign(fold=fold_ids, emotion=frame["emotion"].to_numpy())
    table = pd.concat(
        [table.reset_index(drop=True), pd.DataFrame(probs.round(6), columns=list(predictor.labels))], axis=1
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.sort_values("id").to_csv(path, index=False)


def manifest_rows(csv_path, labels, split: str = "test") -> pd.DataFrame:
    """The rows of a manifest to score (split "test", "cv" or "all"), with their labels' indices in
    the checkpoint's order: columns id, path, actor (the speaker), label, emotion. ManifestError
    says what is wrong (no such rows, labels the checkpoint does not know, missing files)."""
    from .manifest import ManifestError

    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ManifestError(f"No manifest at {csv_path}.")
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False, skipinitialspace=True)
    table.columns = [str(c).strip().lower() for c in table.columns]
    if not {"path", "label", "speaker"} <= set(table.columns):
        raise ManifestError(f"{csv_path} needs the columns path,label,speaker[,split].")
    table = table.apply(lambda col: col.str.strip())
    kind = table["split"].str.lower().replace("", "cv") if "split" in table else pd.Series("cv", index=table.index)
    if split != "all":
        table = table[kind == split]
    if table.empty:
        raise ManifestError(f"{csv_path} has no rows with split={split}.")
    unknown = sorted(set(table["label"]) - set(labels))
    if unknown:
        raise ManifestError(
            f"labels the checkpoint does not know: {', '.join(unknown)} (it knows "
            f"{', '.join(labels)}). Relabel the manifest, or score with a matching checkpoint."
        )
    paths = [Path(p) if Path(p).is_absolute() else csv_path.parent / p for p in table["path"]]
    missing = [p for p, q in zip(table["path"], paths) if not q.is_file()]
    if missing:
        raise ManifestError(f"{len(missing)} file(s) not found: {', '.join(missing[:10])}")
    return pd.DataFrame(
        dict(
            id=list(table["path"]),
            path=[str(p) for p in paths],
            actor=list(table["speaker"]),
            label=[list(labels).index(x) for x in table["label"]],
            emotion=list(table["label"]),
        )
    )


def _manifest_main(args) -> int:
    from ..audio import AudioError
    from .manifest import ManifestError

    predictor = Predictor.from_checkpoint(args.checkpoint)
    try:
        frame = manifest_rows(args.manifest, predictor.labels, args.split)
        logits, frame, fold_ids, excluded = out_of_fold_logits(predictor, frame)
    except (ManifestError, AudioError) as exc:
        print(f"Cannot evaluate: {exc}", file=sys.stderr)
        return 1
    if excluded:
        print(
            f"left out: speakers {', '.join(map(str, excluded))} (every model of the checkpoint heard them)",
            file=sys.stderr,
        )
    if frame.empty:
        print("Nothing to score fairly: every speaker was heard by every model.", file=sys.stderr)
        return 1
    split = split_record(
        predictor,
        frame,
        fold_ids,
        [str(a) for a in excluded],
        channel="all",
        kind=f"manifest rows (split={args.split}) scored by models that never heard their speaker",
    )
    split["corpus"] = Path(args.manifest).name
    labels = frame["label"].to_numpy()
    metrics = metrics_report(
        labels, logits, predictor.temperature, split, ids=list(frame["id"]), names=predictor.labels
    )
    return _report(metrics, labels, logits, args.out)


def _report(metrics: dict, labels: np.ndarray, logits, out) -> int:
    """Print the report, write the metrics JSON when asked; the exit status."""
    print_report(metrics, labels, np.asarray(logits).argmax(1))
    if out:
        write_metrics(metrics, out)
        print(f"wrote {out}")
    return 0


def out_of_fold(predictor, frame, args):
    """Logits for every clip from a model that never heard its speaker: the checkpoint's own fold
    models when they are the K folds asked for (scoring.out_of_fold_logits), otherwise (CNN only)
    K fold models trained here with the checkpoint's recipe. Returns (logits, split, frame, fold ids)."""
    if len(predictor.folds) == args.folds:
        logits, frame, fold_ids, excluded = out_of_fold_logits(predictor, frame)
        # a joint checkpoint's folds also hold out another corpus's speakers: list only those scored here
        split = split_record(
            predictor,
            frame,
            fold_ids,
            excluded,
            channel=args.channel,
            kind=f"{args.folds}-fold actor cross-validation of the checkpoint's fold models",
        )
        return logits, split, frame, fold_ids
    if not predictor.backbone.trained_from_scratch:
        raise EvaluateError(
            f"The checkpoint's {len(predictor.folds)} fold heads do not give --folds {args.folds}; train "
            f"them with python -m emotion.training.train --backbone {predictor.backbone} --folds {args.folds}."
        )
    return retrained_folds(predictor, frame, args.data_dir, args.folds, args.epochs)


def retrained_folds(predictor, frame: pd.DataFrame, data_dir, k: int, epochs=None) -> tuple:
    """Out-of-fold logits of the clips of frame from k CNN fold models trained here on data_dir with
    the checkpoint's own recipe (model config, schedule, augmentation; epochs if given), so the
    estimate is of it. Returns (logits, split, frame, fold ids) as out_of_fold does."""
    from dataclasses import replace

    from .cnn import train_cnn_folds
    from .recipes import CnnRecipe

    training = predictor.checkpoint_info.get("training", {})
    recipe = CnnRecipe.from_dict(training.get("recipe", {}))
    recipe = replace(recipe, epochs=epochs or recipe.epochs)
    print(f"Training {k} fold models ({recipe.epochs} epochs) on {data_dir} for out-of-fold predictions ...")
    result = train_cnn_folds(index_dataset(data_dir), k, predictor.config, recipe, training.get("seed", 0))
    oof = result["oof"]
    frame = frame.set_index("id").loc[oof["id"]].reset_index()
    split = dict(
        kind=f"{k}-fold actor cross-validation, models trained by this command",
        folds=[dict(train_actors=f["train_actors"], val_actors=f["val_actors"]) for f in result["folds"]],
        channel="speech",
    )
    return torch.tensor(np.stack(oof["logits"].to_numpy())), split, frame, oof["fold"].to_numpy()


if __name__ == "__main__":
    sys.exit(main())

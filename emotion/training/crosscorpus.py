"""Speakers never heard and corpora never heard, side by side, in one command.

    python -m emotion.training.crosscorpus --manifest runs/corpora/joint.csv \
        --model "RAVDESS only=checkpoints/ravdess-only/emotion.pt" \
        --model "RAVDESS + EmoDB + nEMO (shipped)=checkpoints/emotion.pt" --out checkpoints/crosscorpus.json

Every model scores the cross-validated (speech) clips of every corpus of the manifest by the one
out-of-fold rule (emotion.evaluation.scoring.out_of_fold_logits): a clip whose speaker a fold held out is
scored by that fold's model ("speakers never heard"); a clip of a corpus the model never trained
on is scored by the whole ensemble ("corpus never heard"). Clips whose emotion the model cannot
name (EmoDB has no calm or surprised) are left out and counted. Accuracy is given as the product
answers (argmax over all the model's labels) and restricted to the labels the corpus has.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from ..evaluation.scoring import metrics_report, out_of_fold_logits
from ..predictor import Predictor
from . import program
from .manifest import ManifestError, read_manifest


def score_model(predictor: Predictor, frame: pd.DataFrame, corpus: str) -> dict:
    """One model on one corpus's speech clips: the kind of test, metrics over the model's labels,
    accuracy restricted to the corpus's labels, and the per-class table."""
    known = frame["emotion"].isin(predictor.labels)
    rows = frame[known & frame["channel"].eq("speech")].reset_index(drop=True)
    logits, rows, fold_ids, excluded = out_of_fold_logits(predictor, rows)
    if excluded:
        raise ManifestError(f"every fold of the model heard speakers {excluded} of {corpus}")
    labels = np.array([predictor.labels.index(e) for e in rows["emotion"]])
    unseen = bool((fold_ids < 0).all())
    if not unseen and (fold_ids < 0).any():
        raise ManifestError(f"{corpus}: the model heard some of its speakers and not others")
    report = metrics_report(labels, logits, temperature=predictor.temperature, names=list(predictor.labels))
    present = sorted(set(labels))
    restricted = np.asarray(logits)[:, present].argmax(1)
    restricted = np.array(present)[restricted]
    per_class = {
        predictor.labels[k]: dict(
            precision=round(report["per_class"][predictor.labels[k]]["precision"], 4),
            recall=round(report["per_class"][predictor.labels[k]]["recall"], 4),
            f1=round(report["per_class"][predictor.labels[k]]["f1"], 4),
            n=int((labels == k).sum()),
        )
        for k in present
    }
    return dict(
        corpus=corpus,
        test="corpus never heard" if unseen else "speakers never heard",
        n=len(rows),
        left_out_labels=int((~known).sum()),
        speakers=sorted(rows["actor"].astype(str).unique().tolist()),
        accuracy=round(report["accuracy"], 4),
        macro_f1=round(float(np.mean([c["f1"] for c in per_class.values()])), 4),  # over the corpus's labels
        accuracy_corpus_labels=round(float(accuracy_score(labels, restricted)), 4),
        macro_f1_corpus_labels=round(float(f1_score(labels, restricted, average="macro")), 4),
        per_class=per_class,
        labels=list(predictor.labels),
        confusion_matrix=[report["confusion_matrix"][k] for k in present],
    )  # true (corpus labels) x predicted


def cross_corpus(manifest: str, models: Dict[str, str]) -> dict:
    frame, _, _ = read_manifest(manifest, check_audio=False)
    if "corpus" not in frame.columns:
        frame["corpus"] = Path(manifest).stem
    table: List[dict] = []
    for name, path in models.items():
        predictor = Predictor.from_checkpoint(path)
        trained = predictor.checkpoint_info.get("training", {}).get("command", "")
        for corpus, part in frame.groupby("corpus", sort=False):
            result = score_model(predictor, part, corpus)
            table.append(
                dict(
                    model=name,
                    checkpoint=str(path),
                    trained_on=_trained_on(predictor, frame),
                    command=trained,
                    **result,
                )
            )
            print(
                f"{name:28s} {corpus:8s} {result['test']:21s} n={result['n']:5d}  accuracy {result['accuracy']:.3f}"
                f"  macro-F1 {result['macro_f1']:.3f}  (corpus labels: {result['accuracy_corpus_labels']:.3f})"
            )
    return dict(manifest=str(manifest), rule=__doc__.split("\n\n")[2].replace("\n", " "), results=table)


def run_table(manifest: str, runs: Sequence[str]) -> pd.DataFrame:
    """Per run and corpus, from the runs' own out-of-fold tables (each clip by the fold head that
    held its speaker out): n, accuracy, macro-F1, and the largest share one emotion takes of the answers."""
    frame, _, _ = read_manifest(manifest, check_audio=False)
    corpus = dict(zip(frame["id"], frame["corpus"] if "corpus" in frame.columns else Path(manifest).stem))
    rows = []
    for run in runs:
        oof = pd.read_csv(Path(run) / "oof_predictions.csv", dtype={"id": str})
        labels = [c for c in oof.columns if c not in ("id", "actor", "fold", "emotion")]
        oof["corpus"] = oof["id"].map(corpus)
        oof["predicted"] = np.array(labels)[oof[labels].to_numpy().argmax(1)]
        for name, part in oof.groupby("corpus", sort=False):
            share = part["predicted"].value_counts(normalize=True)
            rows.append(
                dict(
                    run=str(run),
                    corpus=name,
                    n=len(part),
                    accuracy=round(float((part["predicted"] == part["emotion"]).mean()), 4),
                    macro_f1=round(
                        float(
                            f1_score(
                                part["emotion"],
                                part["predicted"],
                                average="macro",
                                labels=sorted(part["emotion"].unique()),
                            )
                        ),
                        4,
                    ),
                    top_share=f"{share.index[0]} {share.iloc[0]:.0%}",
                )
            )
    return pd.DataFrame(rows)


def _trained_on(predictor: Predictor, frame: pd.DataFrame) -> Dict[str, int]:
    """Speakers of each corpus the model trained on."""
    from ..labels import speaker_key

    seen = {speaker_key(a) for a in predictor.train_actors}
    speakers = frame.drop_duplicates("actor")
    return {
        c: int(speakers[speakers["corpus"] == c]["actor"].map(speaker_key).isin(seen).sum())
        for c in speakers["corpus"].unique()
    }


def main(argv: Sequence[str] = None) -> int:
    ap = program("crosscorpus", __doc__)
    ap.add_argument("--manifest", required=True, help="a manifest with a corpus column (emotion.training.corpora)")
    ap.add_argument("--model", action="append", default=[], metavar="NAME=CHECKPOINT")
    ap.add_argument(
        "--runs",
        nargs="+",
        help="instead: per-corpus figures of these training runs' out-of-fold "
        "tables (run folders trained on --manifest), for an ablation table",
    )
    ap.add_argument("--out", help="write the table (JSON) here")
    args = ap.parse_args(argv)
    if args.runs:
        print(run_table(args.manifest, args.runs).to_string(index=False))
        return 0
    if not args.model:
        ap.error("give --model NAME=CHECKPOINT (one or more) or --runs")
    models = dict(m.split("=", 1) for m in args.model)
    try:
        result = cross_corpus(args.manifest, models)
    except (ManifestError, RuntimeError) as exc:  # CheckpointError is a RuntimeError
        print(f"Cannot score: {exc}", file=sys.stderr)
        return 1
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

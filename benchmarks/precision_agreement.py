"""Do bf16 answers equal fp32's? Out-of-fold scoring of the RAVDESS speech clips in both (issue 25),
or of every corpus of a manifest (issue 32: all four corpora).

    python benchmarks/precision_agreement.py [--checkpoint P] [--data-dir ../shared/data/ravdess]
        [--out docs/precision/agreement.json]
    python benchmarks/precision_agreement.py --manifest runs/corpora/joint.csv --out docs/precision/agreement-4.json
        [--per-corpus N]      # a seeded sample of N clips of each corpus (bf16 is slow without native support)

Scores every clip with emotion.evaluation.scoring.out_of_fold_logits (a fold model that never heard its actor)
in fp32 and in bf16, then prints accuracy, macro-F1 and ECE for each and the share of clips whose
top label is the same. Issue 25's tolerance: accuracy and macro-F1 within 0.3 points, top label
equal on at least 99% of clips, ECE unchanged. Issue 32's, over all four corpora, for making
`auto` the default: top label equal on at least 98.5% of clips, accuracy within 0.5 points.
A manifest's clips of labels the model lacks are left out; speakers the model heard are scored
by the fold model that held them out, other corpora by the whole ensemble.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from emotion.data.ravdess import index_dataset  # noqa: E402
from emotion.evaluation.scoring import expected_calibration_error, metrics_report, out_of_fold_logits  # noqa: E402
from emotion.predictor import Predictor  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--data-dir", default="../shared/data/ravdess")
    ap.add_argument("--out", default="docs/precision/agreement.json")
    ap.add_argument("--manifest", help="instead of --data-dir: a manifest with a corpus column")
    ap.add_argument("--per-corpus", type=int, default=0, help="--manifest: a seeded sample of N clips of each corpus")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N clips (a quick check)")
    args = ap.parse_args(argv)
    if args.manifest:
        from emotion.training.manifest import read_manifest

        frame = read_manifest(args.manifest, check_audio=False)[0]
        labels = list(Predictor.from_checkpoint(args.checkpoint).labels)
        frame = frame[frame["channel"].eq("speech") & frame["emotion"].isin(labels)].reset_index(drop=True)
        frame["label"] = [labels.index(e) for e in frame["emotion"]]
        if args.per_corpus:
            n = min(args.per_corpus, int(frame.groupby("corpus").size().min()))
            frame = frame.loc[frame.groupby("corpus").sample(n=n, random_state=0).index]
            frame = frame.sort_index().reset_index(drop=True)
    else:
        frame = index_dataset(Path(args.data_dir), channels=("speech",))
    if args.limit:
        frame = frame.iloc[: args.limit]
    result = {"checkpoint": args.checkpoint or "checkpoints/emotion.pt", "clips": int(len(frame))}
    if args.manifest:
        result.update(manifest=args.manifest, per_corpus_sample=args.per_corpus or None)
    preds = {}
    for precision in ("fp32", "bf16"):
        predictor = Predictor.from_checkpoint(args.checkpoint, precision=precision)
        t = time.perf_counter()
        logits, kept, _, _ = out_of_fold_logits(predictor, frame)
        seconds = time.perf_counter() - t
        labels = kept["label"].to_numpy()
        m = metrics_report(labels, logits, predictor.temperature, names=predictor.labels)
        probs = torch.softmax(logits / predictor.temperature, dim=-1).numpy()
        preds[precision] = probs.argmax(1)
        result[precision] = {
            "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"],
            "ece": expected_calibration_error(probs, labels),
            "seconds": round(seconds, 1),
        }
        print(precision, json.dumps(result[precision]), flush=True)
        if args.manifest:
            corpus = kept["corpus"].to_numpy()
            result[precision]["per_corpus"] = {
                c: round(float(np.mean(probs.argmax(1)[corpus == c] == labels[corpus == c])), 4)
                for c in dict.fromkeys(corpus)
            }
            result["corpora"] = sorted(set(corpus))
    result["top_label_agreement"] = float(np.mean(preds["fp32"] == preds["bf16"]))
    a, b = result["fp32"], result["bf16"]
    result["within_tolerance"] = bool(
        abs(a["accuracy"] - b["accuracy"]) <= 0.003
        and abs(a["macro_f1"] - b["macro_f1"]) <= 0.003
        and result["top_label_agreement"] >= 0.99
    )
    result["auto_default_ok"] = bool(  # issue 32's bar, over every clip scored
        abs(a["accuracy"] - b["accuracy"]) <= 0.005 and result["top_label_agreement"] >= 0.985
    )
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

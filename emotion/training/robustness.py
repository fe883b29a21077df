"""Robustness table: out-of-fold accuracy and macro-F1 of a checkpoint's fold models on the
RAVDESS speech clips under signal corruptions (emotion.corruptions.CONDITIONS).

    python -m emotion.training.robustness --data-dir DIR [--checkpoint P] [--conditions NAME ...]
                                 [--out FILE.json] [--seed 0] [--threads N]

Each clip's trimmed speech is corrupted first (so noise levels are relative to the speech),
then centre-padded or cropped to the model's 3 s, and scored by the fold model that held its
actor out. Clip i under every condition uses the random generator seeded with (seed, i).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch
from sklearn.metrics import f1_score
from tqdm import tqdm

from .. import audio
from ..corruptions import CONDITIONS
from ..labels import EMOTIONS

BATCH = 64


def corrupt_all(waves: Sequence[np.ndarray], condition: Callable, seed: int = 0) -> List[np.ndarray]:
    """condition(wave, rng) for every wave, clip i with np.random.default_rng([seed, i])."""
    return [condition(w, np.random.default_rng([seed, i])) for i, w in enumerate(waves)]


def out_of_fold_logits(
    logits_fn: Callable,
    waves: Sequence[np.ndarray],
    actors: Sequence[int],
    folds: Sequence[dict],
    batch: int = BATCH,
    progress: bool = False,
):
    """Logits of fold k's model for the clips of fold k's "val_actors", in chunks of `batch`
    centred clips (audio.clip_batch). logits_fn(waves, models=[k]) -> (batch, n_classes).

    Returns (logits, covered): logits shape = (len(waves), n_classes), NaN rows for clips whose
    actor no fold held out; covered is the boolean mask of the others.
    """
    actors = np.asarray(actors)
    logits = torch.full((len(waves), len(EMOTIONS)), float("nan"))
    covered = np.zeros(len(waves), dtype=bool)
    fold_of = np.full(len(waves), -1)
    for k, fold in enumerate(folds):
        fold_of[np.isin(actors, fold["val_actors"]) & (fold_of < 0)] = k
    chunks = [
        (k, idx[i : i + batch])
        for k in range(len(folds))
        for idx in [np.flatnonzero(fold_of == k)]
        for i in range(0, len(idx), batch)
    ]
    for k, idx in tqdm(chunks, desc="scoring", unit="batch", leave=False, disable=not progress):
        logits[torch.from_numpy(idx)] = logits_fn(audio.clip_batch([waves[i] for i in idx]), models=[k]).float()
        covered[idx] = True
    return logits, covered


def score(labels: Sequence[int], logits: torch.Tensor) -> dict:
    """Accuracy, macro-F1 (over all labels of EMOTIONS) and n."""
    labels = np.asarray(labels)
    pred = torch.as_tensor(logits).argmax(dim=1).numpy()
    return dict(
        accuracy=float(np.mean(pred == labels)),
        macro_f1=float(f1_score(labels, pred, labels=list(range(len(EMOTIONS))), average="macro", zero_division=0)),
        n=int(len(labels)),
    )


def robustness(
    logits_fn: Callable,
    waves: Sequence[np.ndarray],
    labels: Sequence[int],
    actors: Sequence[int],
    folds: Sequence[dict],
    conditions: Dict[str, Callable],
    seed: int = 0,
    batch: int = BATCH,
    progress: bool = False,
) -> Dict[str, dict]:
    """{condition name: score()} of the out-of-fold predictions of the corrupted waves."""
    labels = np.asarray(labels)
    results = {}
    for name, condition in tqdm(conditions.items(), desc="conditions", disable=not progress):
        logits, covered = out_of_fold_logits(
            logits_fn, corrupt_all(waves, condition, seed), actors, folds, batch, progress
        )
        results[name] = score(labels[covered], logits[torch.from_numpy(covered)])
    return results


def format_table(results: Dict[str, dict]) -> str:
    width = max([len("condition")] + [len(n) for n in results])
    lines = [f"{'condition':<{width}}  accuracy  macro-F1      n"]
    lines += [
        f"{name:<{width}}  {r['accuracy']:8.3f}  {r['macro_f1']:8.3f}  {r['n']:5d}" for name, r in results.items()
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    from ..checkpoint import default_path
    from ..predict import Predictor
    from ..ravdess import index_dataset, load_waves

    ap = argparse.ArgumentParser(
        prog="python -m emotion.training.robustness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--data-dir", required=True, help="RAVDESS folder")
    ap.add_argument("--checkpoint", type=default_path, default=default_path())
    ap.add_argument(
        "--conditions",
        nargs="+",
        metavar="NAME",
        default=list(CONDITIONS),
        help="conditions to score (quote names with spaces); default all: " + "; ".join(CONDITIONS),
    )
    ap.add_argument("--out", help="write the results JSON here")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    unknown = [c for c in args.conditions if c not in CONDITIONS]
    if unknown:
        ap.error(f"unknown condition(s) {unknown}; choose from: " + "; ".join(CONDITIONS))

    predictor = Predictor.from_checkpoint(args.checkpoint)
    if not predictor.folds:
        print(f"{args.checkpoint} records no actor folds: no out-of-fold predictions possible.", file=sys.stderr)
        return 1
    frame = index_dataset(args.data_dir, channels=("speech",))
    covered = {int(a) for f in predictor.folds for a in f["val_actors"]}
    frame = frame[frame["actor"].isin(covered)].reset_index(drop=True)
    if frame.empty:
        print(f"No speech clips of the folds' actors under {args.data_dir}", file=sys.stderr)
        return 1
    waves = load_waves(list(frame["path"]))
    results = robustness(
        predictor.logits,
        waves,
        frame["label"].to_numpy(),
        frame["actor"].to_numpy(),
        predictor.folds,
        {c: CONDITIONS[c] for c in args.conditions},
        args.seed,
        progress=True,
    )
    print(f"{args.checkpoint} ({predictor.backbone}), out-of-fold over {len(predictor.folds)} actor folds:")
    print(format_table(results))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps(
                dict(checkpoint=str(args.checkpoint), backbone=predictor.backbone, seed=args.seed, conditions=results),
                indent=1,
            )
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Robustness table: out-of-fold accuracy and macro-F1 of a checkpoint's fold models on the
RAVDESS speech clips under signal corruptions (emotion.audio.corruptions.CONDITIONS).

    python -m emotion.training.robustness --data-dir DIR [--checkpoint P] [--conditions NAME ...]
                                 [--out FILE.json] [--seed 0] [--threads N]

Each clip's trimmed speech is corrupted first (so noise levels are relative to the speech),
then scored by the library's one out-of-fold scorer (emotion.evaluation.scoring.out_of_fold_logits, its
`waves` hook): centre-padded or cropped to the model's 3 s, by the fold model that held its actor
out. Clip i under every condition uses the random generator seeded with (seed, i).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from tqdm import tqdm

from ..audio.corruptions import CONDITIONS
from ..evaluation.scoring import out_of_fold_logits
from ..labels import speaker_key
from . import program

BATCH = 64


def corrupt_all(waves: Sequence[np.ndarray], condition: Callable, seed: int = 0) -> List[np.ndarray]:
    """condition(wave, rng) for every wave, clip i with np.random.default_rng([seed, i])."""
    return [condition(w, np.random.default_rng([seed, i])) for i, w in enumerate(waves)]


def fold_actors(predictor, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of frame whose actor one of the checkpoint's folds held out (reindexed)."""
    held_out = {speaker_key(a) for fold in predictor.folds for a in fold["val_actors"]}
    return frame[frame["actor"].map(speaker_key).isin(held_out)].reset_index(drop=True)


def score(labels: Sequence[int], logits: torch.Tensor, n_classes: int) -> dict:
    """Accuracy, macro-F1 (over all n_classes labels of the model) and n."""
    labels = np.asarray(labels)
    pred = torch.as_tensor(logits).argmax(dim=1).numpy()
    return dict(
        accuracy=float(np.mean(pred == labels)),
        macro_f1=float(f1_score(labels, pred, labels=list(range(n_classes)), average="macro", zero_division=0)),
        n=int(len(labels)),
    )


def robustness(
    predictor,
    frame: pd.DataFrame,
    waves: Sequence[np.ndarray],
    conditions: Dict[str, Callable],
    seed: int = 0,
    batch: int = BATCH,
    progress: bool = False,
) -> Dict[str, dict]:
    """{condition name: score()} of the out-of-fold predictions (scoring.out_of_fold_logits) of the
    corrupted waves of frame's clips (columns actor, label; waves[i] is row i's trimmed speech).
    Give only clips whose actor a fold held out (fold_actors) for a fold-model-only table; clips of
    actors every model heard are left out."""
    results = {}
    for name, condition in tqdm(conditions.items(), desc="conditions", disable=not progress):
        corrupted = corrupt_all(waves, condition, seed)
        logits, kept, _, _ = out_of_fold_logits(predictor, frame, batch, waves=corrupted)
        results[name] = score(kept["label"].to_numpy(), logits, len(predictor.labels))
    return results


def format_table(results: Dict[str, dict]) -> str:
    width = max([len("condition")] + [len(n) for n in results])
    lines = [f"{'condition':<{width}}  accuracy  macro-F1      n"]
    lines += [
        f"{name:<{width}}  {r['accuracy']:8.3f}  {r['macro_f1']:8.3f}  {r['n']:5d}" for name, r in results.items()
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    from ..data.ravdess import index_dataset, load_waves
    from ..model.checkpoint import default_path
    from ..predictor import Predictor

    ap = program("robustness", __doc__)
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
    frame = fold_actors(predictor, index_dataset(args.data_dir, channels=("speech",)))
    if frame.empty:
        print(f"No speech clips of the folds' actors under {args.data_dir}", file=sys.stderr)
        return 1
    waves = load_waves(list(frame["path"]))
    conditions = {c: CONDITIONS[c] for c in args.conditions}
    results = robustness(predictor, frame, waves, conditions, args.seed, progress=True)
    print(f"{args.checkpoint} ({predictor.backbone}), out-of-fold over {len(predictor.folds)} actor folds:")
    print(format_table(results))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps(
                dict(
                    checkpoint=str(args.checkpoint),
                    backbone=predictor.backbone.name,
                    seed=args.seed,
                    conditions=results,
                ),
                indent=1,
            )
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

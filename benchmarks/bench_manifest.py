"""A 500-clip corpus from a manifest, end to end: manifest -> checks -> encoder cache -> fold heads -> checkpoint.

    python benchmarks/bench_manifest.py [--data-dir ../shared/data/ravdess] [--clips 500] [--threads 2]
                                        [-- extra train flags, e.g. --epochs 20 --variants 2]

The corpus: `--clips` RAVDESS speech clips spread over the 20 actors (the same number from each),
written as a manifest with their eight emotions, then `python -m emotion.training.train --manifest`
with its default recipe (30 epochs, 4 augmented copies, 5 speaker folds, last epoch kept) and an
empty encoder cache in a temporary folder, so every step is timed. Target: under 5 minutes on
2 cores. Prints the wall time of each stage and the out-of-fold accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from common import machine  # noqa: E402

from emotion.training import encoder_cache, train  # noqa: E402
from emotion.training.manifest import layout_manifest  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "ravdess"))
    ap.add_argument("--clips", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("extra", nargs="*", help="more flags for emotion.training.train (after --)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        table = layout_manifest(args.data_dir, "ravdess", relative_to=tmp)
        actors = sorted(table["speaker"].unique())
        per_actor = -(-args.clips // len(actors))
        per_actor = min(per_actor, int(table.groupby("speaker").size().min()))
        table = table.groupby("speaker").sample(n=per_actor, random_state=0).sort_values("path").head(args.clips)
        table.to_csv(tmp / "manifest.csv", index=False)
        t_manifest = time.perf_counter() - t0
        encoder_cache.CACHE_DIR = tmp / "cache"  # an empty cache: the encoding is part of the time
        t1 = time.perf_counter()
        rc = train.main(
            [
                "--manifest",
                str(tmp / "manifest.csv"),
                "--out",
                str(tmp / "run" / "emotion.pt"),
                "--threads",
                str(args.threads),
                *args.extra,
            ]
        )
        t_train = time.perf_counter() - t1
        if rc:
            return rc
        metrics = json.loads((tmp / "run" / "metrics.json").read_text())
    total = t_manifest + t_train
    print(
        f"\n{len(table)} clips, {len(actors)} speakers, {len(metrics['labels'])} labels, "
        f"{args.threads} torch threads, train flags {args.extra or 'default'}"
    )
    print("| stage | seconds |\n|---|---|")
    print(f"| manifest written | {t_manifest:.1f} |")
    print(
        f"| train --manifest (checks, audio, encoder cache, {len(metrics['folds'])} fold heads, files) "
        f"| {t_train:.1f} |"
    )
    print(f"| **end to end** | **{total:.1f}** ({total / 60:.2f} min; target < 5 min) |")
    print(
        f"out-of-fold accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f} "
        f"(chance {1 / len(metrics['labels']):.3f})"
    )
    return 0 if total < 300 else 1


if __name__ == "__main__":
    sys.exit(main())

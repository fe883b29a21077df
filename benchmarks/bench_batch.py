"""Batch scoring throughput (python -m emotion.batch): files per second by engine and workers.

    python benchmarks/bench_batch.py [--data-dir ../shared/data/ravdess/speech] [--limit 200]
                                     [--checkpoint P] [--skip-ray]

Scores the same clips (the first --limit files of the folder, sorted, given as a CSV manifest)
with emotion.batch.run into a fresh output folder each time:
local, one process with 1 and with 2 torch threads; local --workers 2 (1 thread each); Ray Data
with 2 actors (1 thread each) on a local Ray started beforehand (ray.init(num_cpus=2); its
start-up is not counted). "files/s" is all-in: from the start of the run, workers' start-up and
model loading included, to the last part written; "first result" is when the first result came
back, and "after it" the rate from then on (overstated for Ray: its actors return blocks of up to
16 files, and the other actor's first block is already under way).
The one-process runs share this process, so the second reuses the first's loaded encoder.
Every run's probabilities are checked against the first run's (max |difference|).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from common import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # Ray's local workers import emotion from the driver's working directory
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ravdess" / "speech"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--checkpoint", default=None, help="default: $EMOTION_CHECKPOINT or checkpoints/emotion.pt")
    ap.add_argument("--skip-ray", action="store_true")
    args = ap.parse_args(argv)

    import numpy as np
    import pandas as pd

    from emotion import batch
    from emotion.batch.batch_io import expand_paths
    from emotion.labels import EMOTIONS

    files = expand_paths([args.data_dir])[: args.limit]
    if not files:
        print(f"no audio under {args.data_dir}", file=sys.stderr)
        return 1
    configs = [
        ("local, 1 process", "local", 1, 1),
        ("local, 1 process", "local", 1, 2),
        ("local --workers 2", "local", 2, 1),
    ]
    if not args.skip_ray:
        try:
            import ray

            configs.append(("ray, 2 actors", "ray", 2, 1))
        except ImportError:
            print(f"Ray not installed ({batch.PIP_HINT}): its row is skipped", file=sys.stderr)
    rows, reference = [], None
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "clips.csv"
        pd.DataFrame({"path": [str(f) for f in files]}).to_csv(manifest, index=False)
        for i, (name, engine, workers, threads) in enumerate(configs):
            if engine == "ray":
                ray.init(num_cpus=2, include_dashboard=False)
            try:
                stats = batch.run(
                    [str(manifest)],
                    Path(tmp) / f"out{i}",
                    engine=engine,
                    checkpoint=args.checkpoint,
                    workers=workers,
                    threads=threads,
                    progress=False,
                )
            finally:
                if engine == "ray":
                    ray.shutdown()
            probs = pd.read_parquet(Path(tmp) / f"out{i}").set_index("path").sort_index()[list(EMOTIONS)]
            reference = probs if reference is None else reference
            diff = float(np.nanmax(np.abs(probs.to_numpy() - reference.to_numpy())))
            rows.append((name, workers, threads, stats, diff))
            print(f"{name}: {stats}", file=sys.stderr)

    print(
        f"\n{machine()}\ncheckpoint: "
        f"{args.checkpoint or os.environ.get('EMOTION_CHECKPOINT') or 'checkpoints/emotion.pt'}"
        f"; {len(files)} clips from {args.data_dir}\n"
    )
    print(
        "| engine | workers x threads | wall s | files/s all-in | first result s | files/s after it "
        "| failed | max abs diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, workers, threads, s, diff in rows:
        warm = (s["scored"] - s["first_files"]) / max(s["seconds"] - s["first_s"], 1e-9)
        print(
            f"| {name} | {workers} x {threads} | {s['seconds']:.1f} | {s['scored'] / s['seconds']:.1f} | "
            f"{s['first_s']:.1f} | {warm:.1f} | {s['failed']} | {diff:.1e} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

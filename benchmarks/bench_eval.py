"""Batch evaluation throughput: clips per second over a folder of RAVDESS clips.

    python benchmarks/bench_eval.py [--data-dir ../shared/data/ravdess/speech] [--limit 240]
                                    [--batch-size 32] [--checkpoint P] [--threads 1]

The same path as the metrics recompute (emotion.evaluation.scoring.recompute_metrics): index the folder
with emotion.data.ravdess.index_dataset, take --limit clips spread evenly over the index, decode,
resample and trim them with emotion.data.ravdess.load_waves, centre-pad/crop (audio.pad_or_trim), and
score them in batches with Predictor.logits (every model of the checkpoint). Prints each stage's
time and clips per second, and the whole.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

from common import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ravdess" / "speech"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    ap.add_argument("--limit", type=int, default=240, help="clips to evaluate (0: all)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--checkpoint", default=None, help="default: $EMOTION_CHECKPOINT or checkpoints/emotion.pt")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from emotion import Predictor, audio
    from emotion.data.ravdess import index_dataset, load_waves

    checkpoint = args.checkpoint or os.environ.get("EMOTION_CHECKPOINT") or None
    predictor = Predictor.from_checkpoint(checkpoint)
    print(
        f"batch evaluation · {machine()} · torch {torch.__version__}, {args.threads} thread(s) · "
        f"{len(predictor.models)} model(s) in the checkpoint"
    )

    t = time.perf_counter()
    frame = index_dataset(args.data_dir)
    t_index = time.perf_counter() - t
    if frame.empty:
        raise SystemExit(f"no RAVDESS clips under {args.data_dir}")
    n = len(frame) if args.limit <= 0 else min(args.limit, len(frame))
    frame = frame.iloc[np.linspace(0, len(frame) - 1, n).round().astype(int)].reset_index(drop=True)
    seconds = sum(audio_info_seconds(p) for p in frame["path"])

    t_load = t_batch = t_model = 0.0
    logits = []
    for start in range(0, n, args.batch_size):
        paths = list(frame["path"][start : start + args.batch_size])
        t = time.perf_counter()
        waves = load_waves(paths)
        t_load += time.perf_counter() - t
        t = time.perf_counter()
        batch = audio.clip_batch(waves)
        t_batch += time.perf_counter() - t
        t = time.perf_counter()
        logits.append(predictor.logits(batch))
        t_model += time.perf_counter() - t
    total = t_load + t_batch + t_model
    predicted = torch.cat(logits).argmax(dim=1).numpy()
    agree = float((predicted == frame["label"].to_numpy()).mean())

    rows = [
        ("index_dataset (whole folder)", t_index, None),
        ("load_waves: decode, resample, trim", t_load, n / t_load),
        ("pad_or_trim + stack", t_batch, n / t_batch if t_batch else float("inf")),
        (f"Predictor.logits, batches of {args.batch_size}", t_model, n / t_model),
        ("total (without indexing)", total, n / total),
    ]
    print(f"  {n} clips ({seconds / 60:.1f} min of audio) from {args.data_dir}")
    print(f"  {'stage':<38} {'seconds':>8} {'clips/s':>9}")
    for name, s, rate in rows:
        print(f"  {name:<38} {s:>8.2f} {'' if rate is None else f'{rate:9.1f}'}")
    print(
        f"  real-time factor {total / seconds:.4f} · peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB · top-1 = file label on "
        f"{agree:.0%} (includes clips of actors the model trained on: not an accuracy)"
    )
    return 0


def audio_info_seconds(path) -> float:
    import soundfile as sf

    return sf.info(str(path)).duration


if __name__ == "__main__":
    sys.exit(main())

"""A 4-s 48 kHz clip's predict() in fp32 and bf16 against the CNN fallback, interleaved in one run (issue 25).

    python benchmarks/bench_precision.py [--repeats 20]

Loops a real 48 kHz RAVDESS clip to 4 s, writes a 16-bit WAV, times Predictor.predict on the path
(decoding included) for checkpoints/cnn/emotion.pt, the Whisper checkpoint in fp32 and in bf16,
round-robin so load on a shared machine hits all three alike; prints p50/p95 and ratios to the CNN.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from emotion.predictor import Predictor  # noqa: E402

CLIP = "../shared/data/ravdess/original-48k/03-01-01-01-01-01-01.wav"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--clip", default=CLIP)
    args = ap.parse_args(argv)
    w, sr = sf.read(args.clip, dtype="float32")
    w = w.mean(1) if w.ndim > 1 else w
    w = np.tile(w, 4 * sr // len(w) + 1)[: 4 * sr]
    path = str(Path(tempfile.mkdtemp()) / "clip4s.wav")
    sf.write(path, w, sr, subtype="PCM_16")
    ps = {
        "cnn": Predictor.from_checkpoint("checkpoints/cnn/emotion.pt"),
        "fp32": Predictor.from_checkpoint(precision="fp32"),
        "bf16": Predictor.from_checkpoint(precision="bf16"),
    }
    for p in ps.values():
        p.predict(path), p.predict(path)
    ts = {k: [] for k in ps}
    for _ in range(args.repeats):
        for k, p in ps.items():
            t = time.perf_counter()
            p.predict(path)
            ts[k].append((time.perf_counter() - t) * 1e3)
    cnn = np.median(ts["cnn"])
    for k in ps:
        print(
            f"{k:5s} p50 {np.median(ts[k]):6.1f} ms  p95 {np.percentile(ts[k], 95):6.1f} ms  "
            f"x CNN {np.median(ts[k]) / cnn:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training speed on this CPU: one optimizer step of the shipped model size, per variant.

    python benchmarks/bench_train.py [--threads 2] [--steps 30] [--batch-size 32]

A step is what train.py does per batch: log-mel of 3-s waveforms, then emotion.training.step.train_step
(forward pass with the loss, backward pass, gradient clipping, AdamW update). Variants: float32 (the default),
--bf16 (bfloat16 autocast of the forward pass), --pool-first (Conv -> MaxPool -> BN -> GELU),
and both. Prints ms per step (median over the steps, after warm-up) and the implied minutes for the 5-fold recipe
(50 steps per epoch).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import machine  # noqa: E402

from emotion import audio  # noqa: E402
from emotion.model import EmotionNet, ModelConfig  # noqa: E402
from emotion.model.features import log_mel_spectrogram  # noqa: E402
from emotion.training.step import train_step  # noqa: E402

STEPS_PER_EPOCH = 50  # about 1,600 training clips per fold / batch 32


def step_times(pool_first: bool, bf16: bool, steps: int, batch_size: int) -> np.ndarray:
    torch.manual_seed(0)
    model = EmotionNet(ModelConfig(pool_first=pool_first)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    waves = 0.1 * torch.randn(batch_size, audio.N_SAMPLES)
    labels = torch.randint(0, 8, (batch_size,))
    out = []
    for i in range(steps + 5):  # 5 warm-up steps
        t = time.perf_counter()
        train_step(model, opt, log_mel_spectrogram(waves), labels, bf16=bf16)
        if i >= 5:
            out.append((time.perf_counter() - t) * 1000)
    return np.array(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(machine(), f"· torch {torch.__version__} · {args.threads} threads")
    print(f"{'variant':<24}{'ms/step p50':>12}{'p90':>8}{'vs float32':>12}{'5 folds x 100 epochs':>24}")
    base = None
    for name, pool_first, bf16 in [
        ("float32", False, False),
        ("--bf16", False, True),
        ("--pool-first", True, False),
        ("--pool-first --bf16", True, True),
    ]:
        t = step_times(pool_first, bf16, args.steps, args.batch_size)
        p50 = float(np.median(t))
        base = base or p50
        minutes = p50 * STEPS_PER_EPOCH * 100 * 5 / 60000
        print(f"{name:<24}{p50:>12.1f}{np.percentile(t, 90):>8.1f}{base / p50:>11.2f}x{minutes:>20.0f} min")
    print("(model steps only: data loading, augmentation and validation add about 1.5 s per epoch)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

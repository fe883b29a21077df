"""Which float precision the Whisper encoder runs in (issue 25).

"fp32" keeps answers bit-for-bit; "bf16" runs the encoder under CPU autocast, which is only faster
where the CPU has native bf16 (AVX-512 BF16 or AMX); "auto" (the default since issue 32) picks bf16
there and fp32 elsewhere. Chosen by the Predictor argument, else the EMOTION_PRECISION environment
variable. bf16 agreed with fp32 on 99.5% of top labels over a seeded 300-clip sample of each of the
four corpora, accuracy 69.42% -> 69.25% (benchmarks/precision_agreement.py --manifest ... --per-corpus 300).
"""

import contextlib
import os
from typing import Optional

import torch

CHOICES = ("fp32", "bf16", "auto")


def native_bf16() -> bool:
    """True when this CPU computes bf16 natively (emulated bf16 is slower than fp32)."""
    try:
        capability = torch.backends.cpu.get_cpu_capability()  # e.g. "AVX512", "AVX2"
    except AttributeError:
        capability = ""
    if "AVX512" not in str(capability).upper():
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve(precision: Optional[str] = None) -> str:
    """'fp32' or 'bf16' for an argument, else EMOTION_PRECISION, else auto (bf16 where native)."""
    choice = (precision or os.environ.get("EMOTION_PRECISION") or "auto").strip().lower()
    if choice not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "auto":
        return "bf16" if native_bf16() else "fp32"
    return choice


def context(precision: str):
    """The context the encoder runs in: CPU bf16 autocast, or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()

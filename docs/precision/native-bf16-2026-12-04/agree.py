"""Device: native bf16 vs fp32 (and vs this repo's machine: ref.json, bf16 emulated there)."""
import copy, json, os, sys, time
from pathlib import Path

import patch  # noqa: F401
import numpy as np
import torch

from emotion import Predictor, vad
from emotion.model import encoder, precision

print("silero VAD loaded:", vad._silero() is not None)

print("threads", torch.get_num_threads(), "capability", torch.backends.cpu.get_cpu_capability(),
      "native_bf16", precision.native_bf16(), "mkldnn bf16", torch.ops.mkldnn._is_mkldnn_bf16_supported())
# the encoder alone on a 4-s clip's mel: fp32, autocast of fp32 weights (before), bf16 weights (now)
mel = encoder.features(torch.randn(1, 64000, generator=torch.Generator().manual_seed(0)) * 0.1)
f32, b16 = encoder.load_encoder(), encoder.load_encoder(bf16=True)
def t(fn, n=int(os.environ.get("AGREE_REPEATS", 30))):
    for _ in range(3): fn()
    out = []
    for _ in range(n):
        s = time.perf_counter(); fn(); out.append((time.perf_counter() - s) * 1000)
    return np.percentile(out, [50, 95])
with torch.inference_mode():
    for name, enc, ctx in (("fp32", f32, "fp32"), ("autocast, fp32 weights", f32, "bf16"), ("bf16 weights", b16, "bf16"), ("fp32 again", f32, "fp32"), ("bf16 weights again", b16, "bf16")):
        def run():
            with precision.context(ctx):
                enc(mel, n_layers=4)
        p50, p95 = t(run)
        print(f"encoder 4 s, {name}: p50 {p50:.1f} ms p95 {p95:.1f} ms")
ref = json.loads((patch.HERE / "ref.json").read_text())
clips = sorted((patch.HERE / "clips").glob("*.flac"))[: int(os.environ.get("AGREE_N", 10**6))]
res = {}
for prec in ("fp32", "bf16"):
    p = Predictor.from_checkpoint(precision=prec)
    s = time.time()
    res[prec] = {c.name: list(p.analyze(str(c), display=False).probabilities.values()) for c in clips}
    print(prec, f"{len(clips)} clips in {time.time() - s:.1f} s", flush=True)
A = {k: np.array([res[k][c.name] for c in clips]) for k in res}
R = {k: np.array([ref[k][c.name] for c in clips]) for k in ref}
def cmp(a, b, name):
    print(f"{name}: top label equal {np.mean(a.argmax(1) == b.argmax(1)) * 100:.1f}% of {len(a)}, "
          f"max |dp| {np.abs(a - b).max():.2e}, mean |dp| {np.abs(a - b).mean():.2e}")
cmp(A["fp32"], R["fp32"], "device fp32 vs here fp32 (same weights?)")
cmp(A["bf16"], R["bf16"], "device bf16 (native) vs here bf16 (emulated)")
cmp(A["bf16"], A["fp32"], "device bf16 vs device fp32")
cmp(R["bf16"], R["fp32"], "here bf16 vs here fp32")
Path(os.environ.get("OUT", "/tmp"), "device_probs.json").write_text(json.dumps(res))

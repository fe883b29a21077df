"""Which part of the bf16 encoder moves the answers? One op class kept fp32 at a time (emulated bf16)."""
import copy, json, sys, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, "/work/main")
from emotion import Predictor
from emotion.model import encoder
N = int(sys.argv[1]) if len(sys.argv) > 1 else 60
clips = sorted(Path("/work/main/.dev/clips").glob("*.flac"))[:N]
p = Predictor.from_checkpoint(precision="fp32")
mels = []
for c in clips:
    a = p.analyze(str(c))
    mels.append(p.features(torch.as_tensor(a.clip, dtype=torch.float32)[None]))
mel = torch.cat(mels)
def probs(pred, enc_ctx):
    with torch.inference_mode():
        with enc_ctx():
            st = pred.encoder(mel, n_layers=pred.config.n_layers).float()
        x = pred.models[0].select(st)
        logits = pred._stack(pred.models)(x).mean(0)
        dist = pred.familiarity.distance(x)
        return st, torch.softmax(logits / pred.scale(dist), -1).numpy()
import contextlib
st32, p32 = probs(p, contextlib.nullcontext)
def keep_fp32(mod):
    orig = mod.forward
    def f(x, *a, **k):
        with torch.autocast("cpu", enabled=False):
            return orig(x.float(), *a, **k)
    mod.forward = f
variants = {"all bf16": [], "convs fp32": ["conv1", "conv2"], "qkv fp32": ["qkv"], "out fp32": ["out"],
            "mlp1 fp32": ["mlp1"], "mlp2 fp32": ["mlp2"], "sdpa fp32": ["sdpa"]}
orig_sdpa = F.scaled_dot_product_attention
for name, parts in variants.items():
    enc = copy.deepcopy(encoder.load_encoder())
    for mname, m in enc.named_modules():
        if mname.split(".")[-1] in parts:
            keep_fp32(m)
    if "sdpa" in parts:
        F.scaled_dot_product_attention = lambda q, k, v: orig_sdpa(q.float(), k.float(), v.float())
    p.encoder = enc
    t = time.time()
    st, pb = probs(p, lambda: torch.autocast("cpu", dtype=torch.bfloat16))
    F.scaled_dot_product_attention = orig_sdpa
    rel = [(float((st[i] - st32[i]).norm() / st32[i].norm())) for i in range(st.shape[0])]
    dp = np.abs(pb - p32)
    print(f"{name:12s} top equal {np.mean(pb.argmax(1) == p32.argmax(1)) * 100:.1f}%  mean|dp| {dp.mean():.2e}  "
          f"max|dp| {dp.max():.2e}  states rel err per layer {' '.join(f'{r:.4f}' for r in rel)}  ({time.time() - t:.0f} s)", flush=True)

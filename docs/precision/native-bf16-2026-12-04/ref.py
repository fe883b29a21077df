"""Here: probabilities of .dev/clips in fp32 and bf16 (emulated on this CPU), for the device to compare."""
import json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from emotion import Predictor
clips = sorted(Path(__file__).resolve().parent.joinpath("clips").glob("*.flac"))
out = {}
for prec in ("fp32", "bf16"):
    p = Predictor.from_checkpoint(precision=prec)
    t = time.time()
    out[prec] = {c.name: list(p.analyze(str(c), display=False).probabilities.values()) for c in clips}
    print(prec, time.time() - t, flush=True)
Path(__file__).resolve().parent.joinpath("ref.json").write_text(json.dumps(out))

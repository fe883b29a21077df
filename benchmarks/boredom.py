"""Where EmoDB's boredom (Langeweile) clips land: the measurement behind leaving boredom out.

    python benchmarks/boredom.py --emodb ../shared/data/emodb --model checkpoints/ravdess-only/emotion.pt \
        --model checkpoints/emotion.pt --out docs/crosscorpus/boredom.json

RAVDESS has no boredom. If a model that never saw boredom answered it with one emotion, boredom
could be mapped onto that label; if its answers spread over several, any mapping teaches the
product a label rule that is not in the voice. Each model scores the 81 boredom clips (for a
model that trained on EmoDB's other emotions, every fold model that held the speaker out: the
one out-of-fold rule) and this prints the share of each answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emotion.evaluation.scoring import out_of_fold_logits  # noqa: E402
from emotion.predictor import Predictor  # noqa: E402
from emotion.training.manifest import layout_manifest  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emodb", required=True)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--out")
    args = ap.parse_args()
    rows = layout_manifest(args.emodb, "emodb")
    rows = rows[rows["label"] == "boredom"]
    frame = pd.DataFrame(dict(id=rows["path"], path=rows["path"], actor="emodb-" + rows["speaker"]))
    result = {}
    for path in args.model:
        predictor = Predictor.from_checkpoint(path)
        logits, kept, _, _ = out_of_fold_logits(predictor, frame.reset_index(drop=True))
        answers = np.asarray(logits).argmax(1)
        share = {predictor.labels[k]: round(float(np.mean(answers == k)), 3) for k in range(len(predictor.labels))}
        result[path] = dict(n=len(kept), share=dict(sorted(share.items(), key=lambda kv: -kv[1])))
        print(path, len(kept), "clips:", ", ".join(f"{k} {v:.0%}" for k, v in result[path]["share"].items() if v))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

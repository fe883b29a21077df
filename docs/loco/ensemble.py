"""An ensemble of recipes, scored leave one corpus out from the runs' held-out tables: the mean
log-probabilities of the runs' heads, scored as loco scores one run (emotion.training.loco.held_out_scores).

    python docs/loco/ensemble.py docs/loco/tables/three-no-korean=docs/loco/three-no-korean.json \
        docs/loco/tables/three-adversary=docs/loco/three-adversary.json \
        docs/loco/tables/three-mixup=docs/loco/three-mixup.json
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import log_softmax

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from emotion.training.loco import held_out_scores  # noqa: E402


def main(runs):
    """runs: TABLES_DIR=RUN.json, one per recipe; each corpus scored over the labels its run scored."""
    scores = []
    for corpus in json.loads(Path(runs[0].split("=")[1]).read_text())["corpora"]:
        tables = [pd.read_csv(f"{run.split('=')[0]}/without-{corpus}.csv") for run in runs]
        assert all((t["id"].to_numpy() == tables[0]["id"].to_numpy()).all() for t in tables)  # the same clips
        labels = [c.removeprefix("logit_") for c in tables[0].columns if c.startswith("logit_")]
        scored = json.loads(Path(runs[0].split("=")[1]).read_text())["corpora"][corpus]["recall"]
        shared = sorted(labels.index(name) for name in scored)
        mean = np.mean([log_softmax(t[[f"logit_{n}" for n in labels]].to_numpy(), axis=1) for t in tables], axis=0)
        s = held_out_scores(mean, tables[0]["label"].to_numpy(), shared)
        scores.append(s["accuracy"])
        print(f"{corpus}: accuracy {s['accuracy']:.1%}, confident {s['confident_share']:.0%}, "
              f"of those wrong {s['confident_wrong']:.0%}")
    print(f"mean {np.mean(scores):.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])

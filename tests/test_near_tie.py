"""The near-tie margin (emotion.training.near_tie): the shipped one is what the rule picks from the
shipped out-of-fold probabilities, and its check on corpora never heard counts what it says."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from emotion.training import near_tie

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_margin_is_the_rule_applied_to_the_shipped_out_of_fold_probabilities():
    stored = json.loads((ROOT / "checkpoints" / "near_tie.json").read_text())
    oof = ROOT / "checkpoints" / "oof_predictions.csv"
    assert stored["source_sha256"] == hashlib.sha256(oof.read_bytes()).hexdigest()  # rerun after retraining
    frame = pd.read_csv(oof)
    table = near_tie.margin_table(frame, near_tie.label_columns(frame))
    assert stored["margin"] == near_tie.choose(table) > 0
    row = table[table["margin"] == stored["margin"]].iloc[0]
    assert round(float(row["fires"]), 4) == stored["fires"] and len(frame) == stored["clips"]


def test_choose_stops_at_the_first_window_right_more_than_half_the_time():
    table = pd.DataFrame(dict(margin=[0.05, 0.1, 0.15, 0.2, 0.25], accuracy_window=[0.2, 0.4, 0.5, 0.6, 0.3]))
    assert near_tie.choose(table) == 0.15  # 0.25 is below half again, but the rule counts up from 0
    assert near_tie.choose(table.assign(accuracy_window=0.9)) == 0.0


def test_loco_check_counts_the_clips_it_fires_on():
    """Four clips, labels a/b/c: gaps 0.1 (wrong), 0.3 (right), 0.6 (right), 0.9 (wrong) at temperature 1."""
    probs = np.array([[0.45, 0.35, 0.2], [0.6, 0.3, 0.1], [0.7, 0.1, 0.2], [0.95, 0.05, 0.0]])
    logits = np.log(probs + 1e-9)
    table = pd.DataFrame(logits, columns=["logit_a", "logit_b", "logit_c"]).assign(
        emotion=["b", "a", "a", "c"], label=[1, 0, 0, 2], distance=[1.0, 1.0, 3.0, 3.0], threshold=2.0, temperature=1.0
    )
    out = near_tie.loco_check({"x": table}, margin=0.4, gamma=0.0)["x"]
    assert out["n"] == 4
    assert out["raw"]["fires"] == 0.5 and out["raw"]["accuracy_fired"] == 0.5 and out["raw"]["accuracy_rest"] == 0.5
    assert out["tempered"] == out["raw"]  # gamma 0: no tempering
    tempered = near_tie.loco_check({"x": table}, margin=0.4, gamma=5.0)["x"]["tempered"]
    assert tempered["fires"] == 1.0 and tempered["accuracy_fired"] == 0.5  # clips 3, 4 beyond the threshold: flattened

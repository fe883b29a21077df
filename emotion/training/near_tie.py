"""Choose the near-tie margin: when the top two emotions are closer than this, the app says
"no clear emotion" and shows both instead of one confident word.

    python -m emotion.training.near_tie   # checkpoints/oof_predictions.csv -> checkpoints/near_tie.json
    python -m emotion.training.near_tie runs/x/oof_predictions.csv --out runs/x/near_tie.json

Reads the out-of-fold probabilities of a checkpoint (every clip scored by the fold model that
never heard its speaker), prints for candidate margins (steps of BAND) the top-1 accuracy of the
clips whose top-two gap lies in that band, how often a near-tie fires, and the accuracy of the
clips it fires on and of the rest; it picks the largest margin below which every band's top
emotion is right at most MAX_FIRED_ACCURACY of the time: where the top word is no better than a
coin toss, the app says so. The choice, its table and the CSV's SHA-256 go to near_tie.json beside
the checkpoint, which emotion.clarity reads (rerun this after retraining: a test checks that
the JSON's SHA-256 matches the CSV's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .compare import label_columns

ROOT = Path(__file__).resolve().parents[2]
MAX_FIRED_ACCURACY = 0.5  # a near-tie's top emotion is right at most half the time


BAND = 0.05  # the margin grows in bands of this width of the top-two gap
WINDOW = 0.10  # the accuracy that decides is measured over this width below the margin (about 60
# clips of 1,200: one 0.05 band holds about 30, where one clip more or less moves it by 3 points)


def gaps(frame: pd.DataFrame, labels):
    """(gap between the top two probabilities, whether the top one is right) per clip."""
    probs = frame[list(labels)].to_numpy(float)
    order = np.sort(probs, axis=1)
    right = np.asarray(labels)[probs.argmax(axis=1)] == frame["emotion"].to_numpy()
    return order[:, -1] - order[:, -2], right


def margin_table(frame: pd.DataFrame, labels) -> pd.DataFrame:
    """One row per candidate margin m (multiples of BAND): the top-1 accuracy of the clips whose
    gap lies in [m - BAND, m), the share fired (gap < m), the accuracy of the fired and of the rest."""
    gap, right = gaps(frame, labels)
    rows = []
    for m in np.round(np.arange(BAND, 0.5 + 1e-9, BAND), 2):
        band, fired = (gap >= m - BAND) & (gap < m), gap < m
        window = (gap >= m - WINDOW) & (gap < m)
        rows.append(
            dict(
                margin=float(m),
                n_band=int(band.sum()),
                accuracy_band=float(right[band].mean()),
                accuracy_window=float(right[window].mean()),
                fires=float(fired.mean()),
                accuracy_fired=float(right[fired].mean()),
                accuracy_rest=float(right[~fired].mean()),
                accuracy_all=float(right.mean()),
            )
        )
    return pd.DataFrame(rows)


def choose(table: pd.DataFrame) -> float:
    """The largest margin below which the top emotion is right at most MAX_FIRED_ACCURACY of the
    time in every WINDOW-wide stretch of the gap (counted up from a gap of 0); 0 if the first is better."""
    margin = 0.0
    for row in table.itertuples():
        if row.margin < WINDOW - 1e-9:  # the first whole window is [0, WINDOW)
            continue
        if row.accuracy_window > MAX_FIRED_ACCURACY:
            break
        margin = row.margin
    return margin


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emotion.training.near_tie", description=__doc__.split("\n\n")[0])
    ap.add_argument("oof", nargs="?", default=str(ROOT / "checkpoints" / "oof_predictions.csv"))
    ap.add_argument("--out", default=None, help="default: near_tie.json beside the CSV")
    args = ap.parse_args(argv)
    path = Path(args.oof)
    frame = pd.read_csv(path)
    labels = label_columns(frame)  # the model's labels, in its order
    table = margin_table(frame, labels)
    margin = choose(table)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if margin == 0:
        print("no margin: even the closest calls are right more than half the time; near_tie.json not written")
        return 1
    row = table[table["margin"] == margin].iloc[0]
    print(
        f"\nchosen margin {margin:.2f}: fires on {row['fires']:.1%} of {len(frame)} out-of-fold clips "
        f"(their top emotion right {row['accuracy_fired']:.1%}); accuracy of the rest {row['accuracy_rest']:.1%} "
        f"(all {row['accuracy_all']:.1%})"
    )
    out = Path(args.out) if args.out else path.parent / "near_tie.json"
    out.write_text(
        json.dumps(
            dict(
                margin=margin,
                rule=f"largest margin below which every {WINDOW:g}-wide stretch of the top-two gap "
                f"(in steps of {BAND:g}) is right <= {MAX_FIRED_ACCURACY:.0%}",
                fires=round(float(row["fires"]), 4),
                accuracy_fired=round(float(row["accuracy_fired"]), 4),
                accuracy_rest=round(float(row["accuracy_rest"]), 4),
                clips=len(frame),
                source=path.name,
                source_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                command="python -m emotion.training.near_tie "
                + (str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)),
                table=[
                    {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                    for r in table.to_dict("records")
                ],
            ),
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

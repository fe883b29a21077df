"""Choose the near-tie margin: when the top two emotions are closer than this, the app says
"no clear emotion" and shows both instead of one confident word.

    python -m emotion.training.near_tie   # checkpoints/oof_predictions.csv -> checkpoints/near_tie.json
    python -m emotion.training.near_tie runs/x/oof_predictions.csv --out runs/x/near_tie.json
    python -m emotion.training.near_tie --loco docs/loco/tables/three-mixup/*.csv --out docs/loco/near-tie.json

Reads the out-of-fold probabilities of a checkpoint (every clip scored by the fold model that
never heard its speaker), prints for candidate margins (steps of BAND) the top-1 accuracy of the
clips whose top-two gap lies in that band, how often a near-tie fires, and the accuracy of the
clips it fires on and of the rest; it picks the largest margin below which every band's top
emotion is right at most MAX_FIRED_ACCURACY of the time: where the top word is no better than a
coin toss, the app says so. The choice, its table and the CSV's SHA-256 go to near_tie.json beside
the checkpoint, which emotion.clarity reads (rerun this after retraining: a test checks that
the JSON's SHA-256 matches the CSV's).

--loco checks the chosen margin where it was not chosen: on leave-one-corpus-out tables (each
corpus scored by a head that never heard it; emotion.training.loco --tables), per held-out corpus,
how often it fires and how often the top emotion is right when it fires and when it does not, with
the raw probabilities and with the familiarity tempering the app applies (gamma of familiarity.json),
and the margin the same rule would have chosen on that corpus alone.
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


def _share(right: np.ndarray) -> float:
    """The share right, NaN (no evidence, no warning) where there are no clips."""
    return float(right.mean()) if right.size else float("nan")


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
                accuracy_band=_share(right[band]),
                accuracy_window=_share(right[window]),
                fires=float(fired.mean()),
                accuracy_fired=_share(right[fired]),
                accuracy_rest=_share(right[~fired]),
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


def loco_check(tables: dict, margin: float, gamma: float) -> dict:
    """{held-out corpus: {raw, tempered: the margin's scores}} of leave-one-corpus-out tables."""
    from .unfamiliar import probabilities

    out = {}
    for name, table in tables.items():
        labels = [c.removeprefix("logit_") for c in table.columns if c.startswith("logit_")]
        out[name] = dict(n=len(table))
        for kind, g in (("raw", 0.0), ("tempered", gamma)):
            frame = pd.DataFrame(probabilities(table, g), columns=labels).assign(emotion=table["emotion"].to_numpy())
            gap, right = gaps(frame, labels)
            fired = gap < margin
            out[name][kind] = dict(
                fires=round(float(fired.mean()), 4),
                accuracy_fired=round(_share(right[fired]), 4) if fired.any() else None,
                accuracy_rest=round(_share(right[~fired]), 4) if (~fired).any() else None,
                margin_chosen_here=choose(margin_table(frame, labels)),
            )
    return out


def _check(args) -> int:
    margin = float(json.loads(Path(args.near_tie).read_text())["margin"])
    gamma = float(json.loads(Path(args.familiarity).read_text())["gamma"])
    tables = {Path(t).stem.removeprefix("without-"): pd.read_csv(t) for t in args.loco}
    result = dict(margin=margin, gamma=gamma, tables=list(args.loco), corpora=loco_check(tables, margin, gamma))
    for name, r in result["corpora"].items():
        for kind in ("raw", "tempered"):
            x = r[kind]
            fired, rest = (("-" if v is None else f"{v:.1%}") for v in (x["accuracy_fired"], x["accuracy_rest"]))
            print(
                f"{name:>8} {kind:>8}: fires on {x['fires']:.1%} of {r['n']}, top right {fired} when it fires, "
                f"{rest} otherwise; this corpus alone would choose {x['margin_chosen_here']:.2f}"
            )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emotion.training.near_tie", description=__doc__.split("\n\n")[0])
    ap.add_argument("oof", nargs="?", default=str(ROOT / "checkpoints" / "oof_predictions.csv"))
    ap.add_argument("--out", default=None, help="default: near_tie.json beside the CSV")
    ap.add_argument("--loco", nargs="+", metavar="CSV", help="instead: check the margin on these loco tables")
    ap.add_argument("--near-tie", default=str(ROOT / "checkpoints" / "near_tie.json"), help="with --loco")
    ap.add_argument("--familiarity", default=str(ROOT / "checkpoints" / "familiarity.json"), help="with --loco")
    args = ap.parse_args(argv)
    if args.loco:
        return _check(args)
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

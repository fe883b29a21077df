"""Two corpora, one product: RAVDESS (English, 24 actors) and EmoDB (German, 10 actors) as manifests
that train and score together under the product's eight labels.

    python -m emotion.training.corpora --ravdess ../shared/data/ravdess --emodb ../shared/data/emodb --out runs/corpora

writes, with paths relative to --out:

    joint.csv           RAVDESS speech (cv) and song (train) + EmoDB without boredom (cv); a corpus column,
                        so folds group speakers of both corpora (folds.corpus_folds): the shipped model's manifest
    emodb.csv           EmoDB without boredom alone (cv): the "EmoDB -> RAVDESS" model's manifest
    emodb-test.csv      the same clips as split=test: "corpus never heard" for a RAVDESS-only model
    ravdess6-test.csv   RAVDESS speech of the six emotions EmoDB has, split=test: "corpus never heard"
                        for the EmoDB-only model (it cannot say calm or surprised)

EmoDB's labels map onto RAVDESS's names (anger -> angry, fear -> fearful, ...). Boredom (Langeweile)
has no RAVDESS twin and is left out; README "Two corpora" shows the measurement behind that choice.
Speakers are named per corpus (RAVDESS "01".."20", EmoDB "emodb-03".."emodb-16"), so no two corpora
share a speaker name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import pandas as pd

from . import program
from .manifest import ManifestError, layout_manifest

EMODB_AS_RAVDESS = dict(
    anger="angry", disgust="disgust", fear="fearful", happiness="happy", neutral="neutral", sadness="sad", boredom=""
)
SHARED = ("neutral", "happy", "sad", "angry", "fearful", "disgust")  # the emotions both corpora act


def corpus_manifests(ravdess_dir, emodb_dir, out_dir, boredom: str = "") -> Dict[str, pd.DataFrame]:
    """The four manifests of the module docstring, paths relative to out_dir; boredom: the label
    EmoDB's boredom becomes in joint.csv (default "": left out)."""
    out_dir = Path(out_dir)
    rav = layout_manifest(ravdess_dir, "ravdess", song=True, relative_to=out_dir)
    rav["corpus"] = "ravdess"
    emo = layout_manifest(emodb_dir, "emodb", dict(EMODB_AS_RAVDESS, boredom=boredom), relative_to=out_dir)
    emo["speaker"] = "emodb-" + emo["speaker"]
    emo["corpus"] = "emodb"
    speech6 = rav[(rav["split"] == "cv") & rav["label"].isin(SHARED)]
    if boredom:  # only the joint manifest takes boredom: the others are its measurements
        return {f"joint-boredom-{boredom}.csv": pd.concat([rav, emo], ignore_index=True)}
    return {
        "joint.csv": pd.concat([rav, emo], ignore_index=True),
        "emodb.csv": emo,
        "emodb-test.csv": emo.assign(split="test"),
        "ravdess6-test.csv": speech6.assign(split="test"),
    }


def sampling_weights(frame: pd.DataFrame, idx: np.ndarray, corpus_power: float = 0.5) -> np.ndarray:
    """Probability of drawing each clip of idx in an epoch: corpora get shares proportional to
    n_corpus ** corpus_power (0.5: a corpus 5x larger is drawn sqrt(5) = 2.2x as often, not 5x), and
    within a corpus every label gets an equal share. Without a corpus column: labels balanced."""
    part = frame.iloc[idx]
    corpus = part["corpus"].to_numpy() if "corpus" in part.columns else np.zeros(len(part), dtype=object)
    cells = pd.DataFrame(dict(corpus=corpus, label=part["label"].to_numpy()))
    n_corpus = cells.groupby("corpus")["label"].transform("size").to_numpy(dtype=float)
    n_cell = cells.groupby(["corpus", "label"])["label"].transform("size").to_numpy(dtype=float)
    n_labels = cells.groupby("corpus")["label"].transform("nunique").to_numpy(dtype=float)
    w = n_corpus**corpus_power / (n_labels * n_cell)  # each corpus n^p in all, split evenly over its labels
    return w / w.sum()


def main(argv: Sequence[str] = None) -> int:
    ap = program("corpora", __doc__)
    ap.add_argument("--ravdess", required=True, help="RAVDESS folder (speech/ and song/, or Actor_XX/)")
    ap.add_argument("--emodb", required=True, help="EmoDB folder (03a01Fa.wav or .flac names)")
    ap.add_argument("--out", default="runs/corpora", help="folder for the manifests")
    ap.add_argument(
        "--boredom",
        default="",
        choices=["", "calm", "neutral", "sad"],
        help="instead: joint-boredom-LABEL.csv, with EmoDB's boredom as this label (an ablation)",
    )
    args = ap.parse_args(argv)
    try:
        tables = corpus_manifests(args.ravdess, args.emodb, args.out, args.boredom)
    except ManifestError as exc:
        print(f"Cannot write the manifests: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(out / name, index=False)
        counts = table.groupby("corpus").size().to_dict()
        print(f"{out / name}: {len(table)} clips ({', '.join(f'{k} {v}' for k, v in counts.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

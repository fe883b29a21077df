"""The corpora as data: each is one small adapter (where its files are under the data folder, the
file-name layout that gives speaker and label, its language and licence line), and every tool reads
a manifest built from any number of them under the product's eight labels.

    python -m emotion.training.corpora --data-dir ../shared/data --corpora ravdess emodb nemo korean --out runs/corpora

writes, with paths relative to --out:

    joint.csv        every named corpus (RAVDESS speech as cv, its song as train), with a corpus
                     column, so folds group speakers of every corpus (folds.corpus_folds)
    NAME.csv         one corpus alone (cv)
    NAME-test.csv    its speech as split=test: "corpus never heard" for a model trained without it

Labels map onto RAVDESS's names (anger -> angry, fear -> fearful, ...). EmoDB's boredom has no
RAVDESS twin and is left out (README "Two corpora" shows the measurement behind that choice).
Speakers are named per corpus (RAVDESS "01".."20", others "emodb-03", "nemo-EB0", "korean-ema"), so
no two corpora share a speaker name. Adding a corpus is one Corpus(...) line below (and a layout in
emotion.training.layouts when its file names are new).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import pandas as pd

from . import program
from .manifest import ManifestError, layout_manifest

AS_RAVDESS = dict(
    anger="angry",
    disgust="disgust",
    fear="fearful",
    happiness="happy",
    neutral="neutral",
    sadness="sad",
    surprised="surprised",
    pleasant_surprise="surprised",
    boredom="",
)


@dataclass(frozen=True)
class Corpus:
    name: str
    folder: str  # under the data folder
    layout: str  # emotion.training.layouts
    language: str
    licence: str
    prefix: bool = True  # speakers named "name-SPEAKER" (RAVDESS keeps its actor numbers)
    song: bool = False  # RAVDESS: its song clips train (split=train), never scored


CORPORA: Dict[str, Corpus] = {
    c.name: c
    for c in (
        Corpus(
            "ravdess",
            "ravdess",
            "ravdess",
            "English (North American), acted",
            "RAVDESS, Livingstone & Russo 2018, CC BY-NC-SA 4.0",
            prefix=False,
            song=True,
        ),
        Corpus("emodb", "emodb", "emodb", "German, acted", "EmoDB, Burkhardt et al. 2005, free for research"),
        Corpus("nemo", "nemo/samples", "nemo", "Polish, acted", "nEMO, Christop 2024, CC BY-NC-SA 4.0"),
        Corpus("korean", "korean", "korean", "Korean, acted", "emotiontts open DB (public sample), CC BY-NC-SA 4.0"),
    )
}


def corpus_rows(name: str, data_dir, relative_to=None, folder=None, boredom: str = "") -> pd.DataFrame:
    """One corpus's manifest rows (path, label, speaker, split, corpus) under RAVDESS's label names.
    folder: where its files are (default data_dir / the corpus's folder); boredom: the label EmoDB's
    boredom becomes (default "": left out)."""
    if name not in CORPORA:
        raise ManifestError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}.")
    corpus = CORPORA[name]
    root = Path(folder) if folder else Path(data_dir) / corpus.folder
    rows = layout_manifest(root, corpus.layout, dict(AS_RAVDESS, boredom=boredom), corpus.song, relative_to)
    if corpus.prefix:
        rows["speaker"] = f"{name}-" + rows["speaker"]
    rows["corpus"] = name
    return rows


def corpus_manifests(
    data_dir, names: Sequence[str], out_dir, boredom: str = "", folders=None
) -> Dict[str, pd.DataFrame]:
    """The manifests of the module docstring, paths relative to out_dir; folders: {name: folder}
    where a corpus is not under data_dir. With boredom, only joint-boredom-LABEL.csv (an ablation)."""
    parts = {n: corpus_rows(n, data_dir, out_dir, (folders or {}).get(n), boredom) for n in names}
    joint = pd.concat(list(parts.values()), ignore_index=True)
    if boredom:
        return {f"joint-boredom-{boredom}.csv": joint}
    tables = {"joint.csv": joint}
    for name, rows in parts.items():
        tables[f"{name}.csv"] = rows
        tables[f"{name}-test.csv"] = rows[rows["split"] == "cv"].assign(split="test")
    return tables


def sampling_weights(frame: pd.DataFrame, idx: np.ndarray, corpus_power: float = 0.5, by: str = "clips") -> np.ndarray:
    """Probability of drawing each clip of idx in an epoch: corpora get shares proportional to
    n_corpus ** corpus_power, n_corpus its clips (by="clips"; 0.5: a corpus 5x larger is drawn
    sqrt(5) = 2.2x as often, not 5x) or its speakers (by="speakers": nine actors reading 2,255 clips
    weigh less than twenty reading 2,034), and within a corpus every label gets an equal share.
    Without a corpus column: labels balanced."""
    part = frame.iloc[idx]
    corpus = part["corpus"].to_numpy() if "corpus" in part.columns else np.zeros(len(part), dtype=object)
    cells = pd.DataFrame(dict(corpus=corpus, label=part["label"].to_numpy()))
    if by == "speakers":
        cells["speaker"] = part["actor"].astype(str).to_numpy()
        n_corpus = cells.groupby("corpus")["speaker"].transform("nunique").to_numpy(dtype=float)
    else:
        n_corpus = cells.groupby("corpus")["label"].transform("size").to_numpy(dtype=float)
    n_cell = cells.groupby(["corpus", "label"])["label"].transform("size").to_numpy(dtype=float)
    n_labels = cells.groupby("corpus")["label"].transform("nunique").to_numpy(dtype=float)
    w = n_corpus**corpus_power / (n_labels * n_cell)  # each corpus n^p in all, split evenly over its labels
    return w / w.sum()


def main(argv: Sequence[str] = None) -> int:
    ap = program("corpora", __doc__)
    ap.add_argument("--data-dir", default="../shared/data", help="the folder that holds the corpora's folders")
    ap.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA), help="which to join")
    ap.add_argument("--folder", action="append", default=[], metavar="NAME=DIR", help="a corpus kept elsewhere")
    ap.add_argument("--out", default="runs/corpora", help="folder for the manifests")
    ap.add_argument(
        "--boredom",
        default="",
        choices=["", "calm", "neutral", "sad"],
        help="instead: joint-boredom-LABEL.csv, with EmoDB's boredom as this label (an ablation)",
    )
    args = ap.parse_args(argv)
    try:
        folders = dict(item.split("=", 1) for item in args.folder)
        tables = corpus_manifests(args.data_dir, args.corpora, args.out, args.boredom, folders)
    except (ManifestError, ValueError) as exc:
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

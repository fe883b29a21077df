"""Manifests: a CSV of labelled recordings any corpus can be trained from, and writers for known layouts.

A manifest has one row per recording and the columns

    path      the audio file; a relative path is resolved against the CSV's folder
    label     any name (2 to 30 distinct labels, at least 5 clips each)
    speaker   who speaks (any text); folds never put one speaker on both sides
    corpus    optional: which corpus a row is from (folds then hold out speakers of every corpus)
    split     optional: empty or "cv" (trained on and scored out of fold, the default),
              "train" (training only, never scored; like RAVDESS's truncated song clips),
              "test" (left out of training altogether: keep it for a later blind test)

    python -m emotion.training.manifest --layout emodb DIR > emodb.csv          # absolute paths
    python -m emotion.training.manifest --layout ravdess DIR --out runs/m.csv   # paths relative to runs/
    python -m emotion.training.manifest --layout ravdess DIR --relabel angry=negative,calm=neutral,surprised=

--relabel renames labels (old=new, comma-separated); old= with nothing after it drops those rows.
Layouts: ravdess (MM-VV-EE-II-SS-RR-AA names; speech, plus song as split=train with --song),
emodb (03a01Fa.wav: speaker 03, emotion letter W/L/E/A/F/T/N), cremad (1001_DFA_ANG_XX.wav) and
tess (OAF_angry/OAF_back_angry.wav). EmoDB, CREMA-D and TESS share one vocabulary (anger, boredom,
disgust, fear, happiness, neutral, pleasant_surprise, sadness), so their manifests can be joined.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..labels import EMOTIONS
from . import program
from .layouts import LAYOUTS, audio_files

COLUMNS = ("path", "label", "speaker")
SPLITS = ("cv", "train", "test")
MIN_CLIPS = 5
MAX_LABELS = 30


class ManifestError(InputError):
    """A manifest that cannot be trained on; the message says what to fix."""


def _listing(items: Sequence[str], limit: int = 10) -> str:
    items = list(items)
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return "\n".join(f"  {x}" for x in items[:limit]) + more


def label_order(names: Sequence[str]) -> List[str]:
    """The stable label order of a manifest: EMOTIONS' order when the labels are RAVDESS's eight
    emotions (so such a model is the shipped kind), otherwise sorted alphabetically."""
    names = set(names)
    return list(EMOTIONS) if names == set(EMOTIONS) else sorted(names)


def read_manifest(csv_path, labels: Optional[Sequence[str]] = None, check_audio: bool = True):
    """Read and check a manifest. Returns (frame, labels, waves): the training frame (columns id,
    path, actor, speaker, label (int), emotion (name), channel: "speech" for cross-validated rows,
    "extra" for split=train), the label list in model-output order, and the trimmed 16 kHz
    speech of each row (None with check_audio=False). split=test rows are left out.

    labels: the order to use (must name exactly the manifest's labels); default label_order().
    ManifestError lists everything that is wrong: missing files, rare labels, one speaker, unreadable audio."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ManifestError(f"No manifest at {csv_path}.")
    try:
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except Exception as exc:
        raise ManifestError(f"{csv_path} is not a readable CSV ({exc}).") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing_cols = [c for c in COLUMNS if c not in table.columns]
    if missing_cols:
        raise ManifestError(
            f"{csv_path} needs the columns path,label,speaker[,split]; it lacks "
            f"{', '.join(missing_cols)} (it has {', '.join(table.columns)})."
        )
    table = table.apply(lambda col: col.str.strip())
    split = table["split"].str.lower().replace("", "cv") if "split" in table else pd.Series("cv", index=table.index)
    bad = sorted(set(split) - set(SPLITS))
    problems = []
    if bad:
        problems.append(f"split must be empty, cv, train or test; found {', '.join(map(repr, bad))}.")
    empty = table.index[(table["path"] == "") | (table["label"] == "") | (table["speaker"] == "")]
    if len(empty):
        problems.append(
            "rows with an empty path, label or speaker (CSV lines "
            + ", ".join(str(i + 2) for i in empty[:10])
            + ("..." if len(empty) > 10 else "")
            + ")."
        )
    table, split = table.loc[split != "test"], split[split != "test"]
    if table.empty and not problems:
        raise ManifestError(f"{csv_path} has no clips to train on.")
    paths = [Path(p) if Path(p).is_absolute() else csv_path.parent / p for p in table["path"]]
    missing = [rel for rel, p in zip(table["path"], paths) if not p.is_file()]
    if missing:
        problems.append(
            f"{len(missing)} file(s) not found (relative paths are read from "
            f"{csv_path.parent.resolve()}):\n{_listing(missing)}"
        )
    counts = table["label"][table["label"] != ""].value_counts()
    rare = counts[counts < MIN_CLIPS]
    if len(rare):
        problems.append(
            f"each label needs at least {MIN_CLIPS} clips; too few: "
            + ", ".join(f"{name} ({n})" for name, n in rare.items())
            + ". Add clips, merge "
            "the label into another with --relabel, or drop its rows."
        )
    if not 2 <= len(counts) <= MAX_LABELS:
        problems.append(
            f"a model needs 2 to {MAX_LABELS} labels; this manifest has {len(counts)} ({', '.join(counts.index)})."
        )
    cv_speakers = set(table["speaker"][(split == "cv") & (table["speaker"] != "")])
    if len(cv_speakers) < 2:
        problems.append(
            f"the clips to cross-validate come from {len(cv_speakers)} speaker(s) "
            f"({', '.join(sorted(cv_speakers)) or 'none'}); speaker-independent folds need "
            "at least 2 (better 5 or more)."
        )
    if problems:
        raise ManifestError(f"{csv_path} cannot be trained on:\n- " + "\n- ".join(problems))
    names = label_order(counts.index)
    if labels is not None:
        if sorted(labels) != sorted(names):
            raise ManifestError(
                f"--labels {','.join(labels)} must name exactly the manifest's labels: {', '.join(names)}."
            )
        names = list(labels)
    frame = pd.DataFrame(
        dict(
            id=list(table["path"]),
            path=[str(p.resolve()) for p in paths],
            actor=list(table["speaker"]),
            speaker=list(table["speaker"]),
            label=[names.index(x) for x in table["label"]],
            emotion=list(table["label"]),
            channel=np.where(split == "cv", "speech", "extra"),
        )
    )
    if "corpus" in table:  # optional: folds then hold out speakers of every corpus (training.corpora)
        frame["corpus"] = list(table["corpus"].replace("", "-"))
    if frame["id"].duplicated().any():
        dup = sorted(set(frame["id"][frame["id"].duplicated()]))
        raise ManifestError(f"{csv_path} lists the same file more than once:\n{_listing(dup)}")
    return frame, names, (read_audio(frame) if check_audio else None)


def read_audio(frame: pd.DataFrame) -> List[np.ndarray]:
    """The trimmed 16 kHz speech of every row, as training reads it; ManifestError lists the files
    that cannot be read (with the reason), all at once."""
    from tqdm import tqdm

    from ..audio import AudioError, load_audio
    from ..audio.speech import trim_silence

    waves, bad = [], []
    for rel, path in tqdm(
        list(zip(frame["id"], frame["path"])), desc="reading audio", unit="file", leave=False, disable=len(frame) < 50
    ):
        try:
            wave = load_audio(path)
        except (AudioError, OSError, RuntimeError) as exc:
            bad.append(f"{rel}: {exc}")
            continue
        try:
            wave = trim_silence(wave)
        except AudioError:
            pass  # keep the whole take rather than drop a labelled clip (as for RAVDESS)
        waves.append(wave)
    if bad:
        raise ManifestError(f"{len(bad)} file(s) could not be read as audio:\n{_listing(bad)}")
    return waves


def parse_relabel(text: Optional[str]) -> Dict[str, str]:
    """ "a=x,b=x,c=" -> {"a": "x", "b": "x", "c": ""} (an empty new name drops the label)."""
    out = {}
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        old, sep, new = item.partition("=")
        if not sep or not old.strip():
            raise ManifestError(f"--relabel takes old=new pairs separated by commas; got {item!r}.")
        out[old.strip()] = new.strip()
    return out


def layout_manifest(
    root, layout: str, relabel: Optional[Dict[str, str]] = None, song: bool = False, relative_to=None
) -> pd.DataFrame:
    """The manifest rows (path, label, speaker, split) of every recognised file under root.
    Paths are relative to `relative_to` (the manifest's folder) when given, else absolute."""
    root = Path(root)
    if not root.is_dir():
        raise ManifestError(f"No folder {root}.")
    parse = LAYOUTS[layout]
    files = audio_files(root)
    if layout == "ravdess":  # a take twice (a WAV original beside its FLAC copy): the Actor_XX copy
        takes = {}
        for path in sorted(files, key=lambda f: f.parent.name.startswith("Actor_")):
            takes[path.stem] = path
        files = sorted(takes.values())
    rows, skipped, passed = [], 0, {}
    for path in files:
        row = parse(path, song) if layout == "ravdess" else parse(path)
        if row is None:
            skipped += 1
            continue
        if "skip" in row:
            passed[row["skip"]] = passed.get(row["skip"], 0) + 1
            continue
        row.setdefault("split", "cv")
        label = (relabel or {}).get(row["label"], row["label"])
        if not label:
            continue
        where = os.path.relpath(path.resolve(), Path(relative_to).resolve()) if relative_to else str(path.resolve())
        rows.append(dict(path=Path(where).as_posix(), label=label, speaker=row["speaker"], split=row["split"]))
    if not rows:
        raise ManifestError(f"No {layout} files under {root} ({skipped} audio file(s) with other names).")
    if skipped:
        print(f"skipped {skipped} audio file(s) whose names are not {layout}'s", file=sys.stderr)
    for why, n in passed.items():
        print(f"left out {n} file(s): {why}", file=sys.stderr)
    return pd.DataFrame(rows, columns=["path", "label", "speaker", "split"])


def main(argv=None) -> int:
    ap = program("manifest", __doc__)
    ap.add_argument("dir", help="the corpus folder (searched recursively)")
    ap.add_argument("--layout", choices=sorted(LAYOUTS), required=True)
    ap.add_argument("--relabel", help="old=new,... (old= drops those rows), e.g. angry=negative,calm=neutral")
    ap.add_argument("--song", action="store_true", help="ravdess: add the song clips as split=train")
    ap.add_argument("--out", help="write here (paths relative to its folder) instead of to stdout (absolute paths)")
    args = ap.parse_args(argv)
    try:
        out = Path(args.out) if args.out else None
        table = layout_manifest(
            args.dir, args.layout, parse_relabel(args.relabel), args.song, relative_to=out.parent if out else None
        )
    except ManifestError as exc:
        print(f"Cannot write the manifest: {exc}", file=sys.stderr)
        return 1
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
    else:
        table.to_csv(sys.stdout, index=False)
    summary = table.groupby("label").size()
    print(
        f"{len(table)} clips, {table['speaker'].nunique()} speakers; "
        + ", ".join(f"{k} {v}" for k, v in summary.items()),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The inputs and outputs of a batch job (emotion.batch): the audio files named by the sources, and
the --out folder of Parquet parts with its columns.

    list_files(["talks/", "manifest.csv"])   # absolute paths, each once, in the order given
    schema(timeline, labels)                 # path, duration, [start, end, text, language, note],
                                             # a probability column per label, emotion, error
    PartStore(out, timeline, labels)         # done(): paths already in OUT; write(rows): one part

Each part is written to a hidden temporary name and renamed into place (os.replace), so an
interrupted run leaves only whole parts.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Iterable, List, Sequence

from ..errors import SetupError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def expand_paths(paths: Sequence[str]) -> List[Path]:
    """Files as given, folders searched recursively for audio files (sorted). The command line's
    and the batch job's inputs alike."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_SUFFIXES and f.is_file()))
        else:
            out.append(p)
    return out


PIP_HINT = ".venv/bin/pip install -r requirements-batch.txt"


class BatchError(SetupError):
    """A problem with the job itself (not with one file); the message says what to do."""


def need(module: str):
    """Import an optional dependency of batch scoring, or say which pip command installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        what = "--engine ray needs Ray" if module.startswith("ray") else f"Batch scoring needs {module}"
        raise BatchError(f"{what}, which the app does not install. Run: {PIP_HINT}") from None


def list_files(sources: Iterable[str]) -> List[str]:
    """Absolute paths of the audio files to score, each once, in the order given."""
    out, seen = [], set()
    for src in map(Path, sources):
        if src.suffix.lower() == ".csv" and src.is_file():
            manifest = need("pandas").read_csv(src, dtype=str)
            if "path" not in manifest:
                raise BatchError(f"{src} has no 'path' column.")
            found = expand_paths([str(src.parent / p) for p in manifest["path"].dropna()])
        else:
            found = expand_paths([str(src)])
        for f in map(os.path.abspath, found):
            if f not in seen:
                seen.add(f)
                out.append(f)
    return out


def schema(timeline: bool, labels: Sequence[str], speakers=None):
    """The parts' columns: one probability column per label of the checkpoint, in its order; with
    speakers (and a timeline or transcript), the speaker of each row."""
    pa = need("pyarrow")
    fields = [("path", pa.string()), ("duration", pa.float64())]
    if timeline:
        fields += [("start", pa.float64()), ("end", pa.float64())]
        fields += [("speaker", pa.int64())] if speakers is not None else []
    if timeline == "transcript":
        fields += [("text", pa.string()), ("language", pa.string()), ("note", pa.string())]
    fields += [(e, pa.float64()) for e in labels] + [("emotion", pa.string()), ("error", pa.string())]
    fields += [("verdict", pa.string()), ("clear", pa.bool_()), ("unfamiliar", pa.bool_())]  # emotion.clarity
    return pa.schema(fields)


class PartStore:
    """The --out folder: part-*.parquet files, each written whole under a temporary name first."""

    def __init__(self, out, timeline: bool, labels: Sequence[str], speakers=None):
        self.out, self.timeline, self.schema = Path(out), timeline, schema(timeline, labels, speakers)
        if self.out.exists() and not self.out.is_dir():
            raise BatchError(f"{self.out} exists and is not a folder of parts; choose another --out.")
        self.out.mkdir(parents=True, exist_ok=True)
        for tmp in self.out.glob(".tmp-*"):  # left by an interrupted run: never a finished part
            tmp.unlink()

    def parts(self) -> List[Path]:
        return sorted(self.out.glob("part-*.parquet"))

    def done(self) -> set:
        """Paths already scored in OUT."""
        import pyarrow.parquet as pq

        done = set()
        for part in self.parts():
            try:
                names = pq.read_schema(part).names
                paths = pq.read_table(part, columns=["path"]).column("path").to_pylist()
            except Exception as exc:  # not written by this code (ours are renamed only when whole)
                print(
                    f"warning: {part.name} is unreadable ({type(exc).__name__}); moved aside to "
                    f".corrupt-{part.name}, its files will be scored again",
                    file=sys.stderr,
                )
                part.rename(part.with_name(f".corrupt-{part.name}"))
                continue
            kind = ("start", "text", "speaker")  # a timeline, a transcript, with speakers
            if [n in names for n in kind] != [n in self.schema.names for n in kind]:
                raise BatchError(
                    f"{self.out} holds rows of another kind; use another --out or the same options as before."
                )
            if names != self.schema.names:
                raise BatchError(f"{self.out} holds the labels of another checkpoint; use another --out.")
            done.update(paths)
        return done

    def write(self, rows: List[dict]) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = f"part-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.out / f".tmp-{name}"  # hidden: pandas/pyarrow skip names starting with '.'
        pq.write_table(pa.Table.from_pylist(rows, schema=self.schema), tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.out / name)
        return self.out / name

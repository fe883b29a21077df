"""Score audio archives to Parquet: resumable, in local processes or on Ray Data.

    python -m emotion.batch SRC... --out results.parquet [--engine local|ray] [--address ADDR]
                            [--timeline | --transcript] [--workers N] [--threads T] [--checkpoint P]

SRC: audio files, folders (searched recursively) or CSV manifests with a `path` column (relative paths are
resolved against the CSV's folder). OUT is a folder of Parquet parts that `pandas.read_parquet(OUT)` reads
as one table: one row per file (path, duration, a probability column per label of the checkpoint, emotion,
error), with --timeline one row per analysed window of speech (start, end), with --transcript one per utterance
(start, end, text, language, note: emotion.transcript). A file that cannot be analysed gets a row whose
`error` is the AudioError message; it never stops the job.

Each part is written to a hidden temporary name and renamed into place (os.replace), so an interrupted run
leaves only whole parts. Rerunning with the same OUT scores only the files not in it yet. Run one job per
OUT at a time.

--engine ray: Ray Data map_batches over a pool of actors, each holding one Predictor; the driver writes the
parts. --address (or RAY_ADDRESS) joins a running cluster (`ray start --head`); the nodes need this Python
environment and must see the audio paths; the checkpoint is shipped from the driver.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence

from . import checkpoint as checkpoint_format
from .audio import AudioError
from .checkpoint import CheckpointError, default_path
from .errors import SetupError
from .long_input import duration
from .predict import AUDIO_SUFFIXES, expand_paths

PIP_HINT = ".venv/bin/pip install -r requirements-batch.txt"
RAY_BATCH = 16  # files per map_batches call


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


def schema(timeline: bool, labels: Sequence[str]):
    """The parts' columns: one probability column per label of the checkpoint, in its order."""
    pa = need("pyarrow")
    fields = [("path", pa.string()), ("duration", pa.float64())]
    if timeline:
        fields += [("start", pa.float64()), ("end", pa.float64())]
    if timeline == "transcript":
        fields += [("text", pa.string()), ("language", pa.string()), ("note", pa.string())]
    fields += [(e, pa.float64()) for e in labels] + [("emotion", pa.string()), ("error", pa.string())]
    return pa.schema(fields)


def score_file(predictor, path: str, timeline: bool) -> List[dict]:
    """The rows of one file: one (or one per window with timeline), or one error row."""
    base = dict(path=path, duration=duration(path), error=None)
    try:
        if timeline == "transcript":  # one row per utterance; a file where nothing was said: an error row
            frame = predictor.transcript(path)
            return [{**base, **r, "language": frame.attrs["language"]} for r in frame.to_dict("records")] or [
                {**base, "error": "No words were recognised."}
            ]
        if timeline:
            return [{**base, **row} for row in predictor.timeline(path).to_dict("records")]
        probs = predictor.predict(path)
        return [{**base, **probs, "emotion": max(probs, key=probs.get)}]
    except AudioError as exc:
        return [{**base, "error": str(exc)}]
    except Exception as exc:  # one damaged file must not stop an archive-sized job
        return [{**base, "error": f"Could not analyse this file ({type(exc).__name__}: {exc})."}]


class PartStore:
    """The --out folder: part-*.parquet files, each written whole under a temporary name first."""

    def __init__(self, out, timeline: bool, labels: Sequence[str]):
        self.out, self.timeline, self.schema = Path(out), timeline, schema(timeline, labels)
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
            if ("start" in names) != bool(self.timeline) or ("text" in names) != (self.timeline == "transcript"):
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


# --- local engine: this process, or a pool of processes each holding its own Predictor ---

_WORKER = {}


def _init_worker(checkpoint: str, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    from .predict import Predictor

    _WORKER["predictor"] = Predictor.from_checkpoint(checkpoint)


def _score(path: str, timeline: bool) -> List[dict]:
    return score_file(_WORKER["predictor"], path, timeline)


def run_local(files: List[str], checkpoint: str, timeline: bool, workers: int, threads: int) -> Iterator[List[dict]]:
    if workers <= 1:
        _init_worker(checkpoint, threads)
        yield from (_score(f, timeline) for f in files)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from itertools import repeat

    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(checkpoint, threads),
    ) as pool:
        try:
            yield from pool.map(_score, files, repeat(timeline), chunksize=4)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


# --- Ray engine: Ray Data map_batches over actors that each hold one Predictor ---


class RayScorer:
    """The map_batches callable class: one Predictor per actor, from the driver's checkpoint."""

    def __init__(self, checkpoint, timeline: bool, threads: int):  # checkpoint: a ray.put dict
        import ray
        import torch

        torch.set_num_threads(threads)
        from emotion.predict import Predictor

        self.predictor, self.timeline = Predictor(ray.get(checkpoint)), timeline
        self.schema = schema(timeline, self.predictor.labels)

    def __call__(self, batch):
        import pyarrow as pa

        rows = [r for p in batch["path"] for r in score_file(self.predictor, str(p), self.timeline)]
        return pa.Table.from_pylist(rows, schema=self.schema)


def run_ray(
    files: List[str], checkpoint: str, timeline: bool, workers: Optional[int], threads: int, address: Optional[str]
) -> Iterator[List[dict]]:
    ray, _ = need("ray"), need("ray.data")
    started = not ray.is_initialized()
    if started:
        address = address or os.environ.get("RAY_ADDRESS")
        if address:  # a cluster: ship this package to the nodes (they need the same environment)
            ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).resolve().parent)]})
        else:
            ray.init(include_dashboard=False)
    try:
        workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1) // threads))
        batch = max(1, min(RAY_BATCH, math.ceil(len(files) / (2 * workers))))  # keep every actor busy
        ds = ray.data.from_items([{"path": f} for f in files], override_num_blocks=math.ceil(len(files) / batch))
        ds = ds.map_batches(
            RayScorer,
            fn_constructor_kwargs=dict(
                checkpoint=ray.put(checkpoint_format.load(checkpoint)), timeline=timeline, threads=threads
            ),
            batch_size=batch,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=threads,
        )
        for table in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            yield table.to_pylist()
    finally:
        if started:
            ray.shutdown()


def run(
    sources,
    out,
    engine="local",
    checkpoint=None,
    timeline=False,
    workers=None,
    threads=None,
    address=None,
    part_size=256,
    progress=True,
) -> dict:
    """Score every file of `sources` not yet in `out`. Returns counts and timing."""
    checkpoint = str(default_path(checkpoint))
    store = PartStore(out, timeline, checkpoint_format.load(checkpoint)["labels"])  # its columns
    files = list_files(sources)
    if not files:
        raise BatchError("No audio files found (looked for " + ", ".join(AUDIO_SUFFIXES) + ").")
    done = store.done()
    todo = [f for f in files if f not in done]
    stats = dict(files=len(files), skipped=len(files) - len(todo), scored=0, failed=0, seconds=0.0, parts=0)
    if not todo:
        return stats
    if engine == "ray":
        results = run_ray(todo, checkpoint, timeline, workers, threads or 1, address)
    else:
        workers = workers or 1
        threads = threads or max(1, (os.cpu_count() or 1) // workers)
        results = run_local(todo, checkpoint, timeline, workers, threads)
    from tqdm import tqdm

    t0 = time.perf_counter()
    buffer, in_buffer = [], 0
    with tqdm(total=len(todo), unit="file", desc="scoring", disable=not progress or engine == "ray") as bar:
        for rows in results:
            paths = {r["path"] for r in rows}
            stats["failed"] += len({r["path"] for r in rows if r["error"] is not None})
            stats["scored"] += len(paths)
            buffer.extend(rows)
            in_buffer += len(paths)
            bar.update(len(paths))
            if "first_s" not in stats:  # start-up (workers, model) and the first result's files
                stats.update(first_s=time.perf_counter() - t0, first_files=len(paths))
            if in_buffer >= part_size:
                store.write(buffer)
                stats["parts"] += 1
                buffer, in_buffer = [], 0
        if buffer:
            store.write(buffer)
            stats["parts"] += 1
    stats["seconds"] = time.perf_counter() - t0
    return stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emotion.batch", description=__doc__.split("\n\n")[0])
    ap.add_argument("sources", nargs="+", metavar="SRC", help="audio files, folders or CSV manifests (column 'path')")
    ap.add_argument("--out", required=True, help="folder of Parquet parts (created; reruns resume it)")
    ap.add_argument("--engine", choices=["local", "ray"], default="local")
    ap.add_argument("--address", default=None, help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)")
    ap.add_argument("--timeline", action="store_true", help="one row per analysed window of speech")
    ap.add_argument(
        "--transcript",
        dest="timeline",
        action="store_const",
        const="transcript",
        help="one row per utterance, with its text",
    )
    ap.add_argument(
        "--workers", type=int, help="processes (local, default 1) or Ray actors (default: the cluster's CPUs / threads)"
    )
    ap.add_argument("--threads", type=int, help="torch threads per worker (default: local cores / workers; Ray 1)")
    ap.add_argument("--checkpoint", default=None, help="default: $EMOTION_CHECKPOINT or checkpoints/emotion.pt")
    ap.add_argument("--part-size", type=int, default=256, help="files per Parquet part")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        stats = run(
            args.sources,
            args.out,
            args.engine,
            args.checkpoint,
            args.timeline,
            args.workers,
            args.threads,
            args.address,
            args.part_size,
            not args.no_progress,
        )
    except (BatchError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rate = stats["scored"] / stats["seconds"] if stats["seconds"] else 0.0
    print(
        f"{stats['scored']} file(s) scored in {stats['seconds']:.1f} s ({rate:.1f} files/s), "
        f"{stats['failed']} failed (see 'error'); {stats['skipped']} already in {args.out} skipped.",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":  # run as emotion.batch, so that workers unpickle its functions by name
    from emotion.batch import main as _main

    sys.exit(_main())

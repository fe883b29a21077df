"""Score audio archives to Parquet: resumable, in local processes or on Ray Data.

    python -m emotion.batch SRC... --out results.parquet [--engine local|ray] [--address ADDR]
                            [--timeline | --transcript [--speakers auto|N]] [--workers N] [--threads T]
                            [--checkpoint P]

SRC: audio files, folders (searched recursively) or CSV manifests with a `path` column (relative paths are
resolved against the CSV's folder). OUT is a folder of Parquet parts that `pandas.read_parquet(OUT)` reads
as one table: one row per file (path, duration, a probability column per label of the checkpoint, emotion,
error), with --timeline one row per analysed window of speech (start, end), with --transcript one per utterance
(start, end, text, language, note: emotion.longform.transcript); --speakers adds each row's speaker. A file that
cannot be analysed gets a row whose `error` is the AudioError message; it never stops the job.

Each part is written to a hidden temporary name and renamed into place (os.replace), so an interrupted run
leaves only whole parts. Rerunning with the same OUT scores only the files not in it yet. Run one job per
OUT at a time.

--engine ray: Ray Data map_batches over a pool of actors, each holding one Predictor; the driver writes the
parts. --address (or RAY_ADDRESS) joins a running cluster (`ray start --head`); the nodes need this Python
environment and must see the audio paths; the checkpoint is shipped from the driver.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Optional, Sequence, Union

from ..errors import InputError
from ..longform.speakers import SpeakerError, parse_count
from ..longform.voice_encoder import weights_path
from ..model import checkpoint as checkpoint_format
from ..model.checkpoint import CheckpointError, default_path
from .batch_engines import run_local, run_ray
from .batch_io import AUDIO_SUFFIXES, BatchError, PartStore, list_files

__all__ = ["run", "main", "BatchError"]


def run(
    sources: Sequence[str],
    out,
    engine: str = "local",
    checkpoint=None,
    timeline: Union[bool, str] = False,
    workers: Optional[int] = None,
    threads: Optional[int] = None,
    address: Optional[str] = None,
    part_size: int = 256,
    progress: bool = True,
    speakers=None,
) -> dict:
    """Score every file of `sources` not yet in `out`. Returns counts and timing.

    timeline: False (a row per file), True (a row per window of speech) or "transcript" (a row per
    utterance); speakers ("auto" or N, with a timeline or transcript): each row's speaker;
    checkpoint: a path, default checkpoint.default_path()."""
    checkpoint = str(default_path(checkpoint))
    if speakers is not None and not timeline:
        raise BatchError("speakers names who speaks in a timeline or transcript: add --timeline or --transcript.")
    if speakers is not None:
        weights_path()  # SpeakerError naming the pip fix, before any file is scored
    store = PartStore(out, timeline, checkpoint_format.load(checkpoint)["labels"], speakers)  # its columns
    files = list_files(sources)
    if not files:
        raise BatchError("No audio files found (looked for " + ", ".join(AUDIO_SUFFIXES) + ").")
    done = store.done()
    todo = [f for f in files if f not in done]
    stats = dict(files=len(files), skipped=len(files) - len(todo), scored=0, failed=0, seconds=0.0, parts=0)
    if not todo:
        return stats
    if engine == "ray":
        results = run_ray(todo, checkpoint, timeline, workers, threads or 1, address, speakers)
    else:
        workers = workers or 1
        threads = threads or max(1, (os.cpu_count() or 1) // workers)
        results = run_local(todo, checkpoint, timeline, workers, threads, speakers)
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
    ap.add_argument("--speakers", default=None, help="with --timeline or --transcript: 'auto' or N: each row's speaker")
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
            parse_count(args.speakers),
        )
    except (BatchError, CheckpointError, InputError, SpeakerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rate = stats["scored"] / stats["seconds"] if stats["seconds"] else 0.0
    print(
        f"{stats['scored']} file(s) scored in {stats['seconds']:.1f} s ({rate:.1f} files/s), "
        f"{stats['failed']} failed (see 'error'); {stats['skipped']} already in {args.out} skipped.",
        file=sys.stderr,
    )
    return 0

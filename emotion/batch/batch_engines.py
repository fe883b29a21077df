"""The engines of a batch job (emotion.batch): each turns a list of files into lists of rows, one
list per file (score_file), in local processes or on Ray Data.

    run_local(files, checkpoint, timeline, workers, threads)            # this process, or a pool
    run_ray(files, checkpoint, timeline, workers, threads, address)     # actors, one Predictor each

The local pool's workers and Ray's actors each load their own Predictor (torch threads: `threads`);
Ray's get the checkpoint shipped from the driver.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterator, List, Optional

from ..audio import AudioError, duration
from ..model import checkpoint as checkpoint_format
from .batch_io import need, schema

RAY_BATCH = 16  # files per map_batches call


def score_file(predictor, path: str, timeline: bool, speakers=None) -> List[dict]:
    """The rows of one file: one (or one per window or utterance, with its speaker when speakers is
    "auto" or N), or one error row."""
    base = dict(path=path, duration=duration(path), error=None)
    try:
        if timeline == "transcript":  # one row per utterance; a file where nothing was said: an error row
            frame = predictor.transcript(path, speakers=speakers)
            return [{**base, **r, "language": frame.attrs["language"]} for r in frame.to_dict("records")] or [
                {**base, "error": "No words were recognised."}
            ]
        if timeline:
            return [{**base, **row} for row in predictor.timeline(path, speakers=speakers).to_dict("records")]
        result = predictor.analyze(path, display=False)  # what predict() returns, and its verdict
        return [{**base, **result.probabilities, "emotion": result.top, **result.verdict.fields()}]
    except AudioError as exc:
        return [{**base, "error": str(exc)}]
    except Exception as exc:  # one damaged file must not stop an archive-sized job
        return [{**base, "error": f"Could not analyse this file ({type(exc).__name__}: {exc})."}]


# --- local engine: this process, or a pool of processes each holding its own Predictor ---

_WORKER = {}


def _init_worker(checkpoint: str, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    from ..predictor import Predictor

    _WORKER["predictor"] = Predictor.from_checkpoint(checkpoint)


def _score(path: str, timeline: bool, speakers=None) -> List[dict]:
    return score_file(_WORKER["predictor"], path, timeline, speakers)


def run_local(
    files: List[str], checkpoint: str, timeline: bool, workers: int, threads: int, speakers=None
) -> Iterator[List[dict]]:
    if workers <= 1:
        _init_worker(checkpoint, threads)
        yield from (_score(f, timeline, speakers) for f in files)
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
            yield from pool.map(_score, files, repeat(timeline), repeat(speakers), chunksize=4)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


# --- Ray engine: Ray Data map_batches over actors that each hold one Predictor ---


class RayScorer:
    """The map_batches callable class: one Predictor per actor, from the driver's checkpoint."""

    def __init__(self, checkpoint, timeline: bool, threads: int, speakers=None):  # checkpoint: a ray.put dict
        import ray
        import torch

        torch.set_num_threads(threads)
        from emotion.predictor import Predictor

        self.predictor, self.timeline, self.speakers = Predictor(ray.get(checkpoint)), timeline, speakers
        self.schema = schema(timeline, self.predictor.labels, speakers)

    def __call__(self, batch):
        import pyarrow as pa

        rows = [r for p in batch["path"] for r in score_file(self.predictor, str(p), self.timeline, self.speakers)]
        return pa.Table.from_pylist(rows, schema=self.schema)


def run_ray(
    files: List[str],
    checkpoint: str,
    timeline: bool,
    workers: Optional[int],
    threads: int,
    address: Optional[str],
    speakers=None,
) -> Iterator[List[dict]]:
    ray, _ = need("ray"), need("ray.data")
    started = not ray.is_initialized()
    if started:
        address = address or os.environ.get("RAY_ADDRESS")
        if address:  # a cluster: ship this package to the nodes (they need the same environment)
            ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).resolve().parents[1])]})
        else:
            ray.init(include_dashboard=False)
    try:
        workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1) // threads))
        batch = max(1, min(RAY_BATCH, math.ceil(len(files) / (2 * workers))))  # keep every actor busy
        ds = ray.data.from_items([{"path": f} for f in files], override_num_blocks=math.ceil(len(files) / batch))
        ds = ds.map_batches(
            RayScorer,
            fn_constructor_kwargs=dict(
                checkpoint=ray.put(checkpoint_format.load(checkpoint)),
                timeline=timeline,
                threads=threads,
                speakers=speakers,
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

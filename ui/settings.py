"""Everything the app can be configured with, and the resources it loads once.

Configuration, all optional:

    --checkpoint / EMOTION_CHECKPOINT   the .pt file (default checkpoints/emotion.pt); metrics.json
                         and oof_predictions.csv are read from the same folder
    --data-dir / EMOTION_DATA_DIR       a local RAVDESS copy for the Examples tab and the metrics
                         recompute (default: the clips bundled in assets/ravdess)
    GRADIO_SERVER_NAME / GRADIO_SERVER_PORT   read by Gradio's launch() itself
                         (default 127.0.0.1:7860; 0.0.0.0 to serve the local network)
"""

from __future__ import annotations

import ctypes
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from emotion import EMOTIONS, Predictor
from emotion import audio as audio_io
from emotion.evaluation.clips import DEFAULT_EXAMPLES_DIR, ExampleLibrary, configured_data_dir
from emotion.evaluation.report import load_metrics
from emotion.model.checkpoint import default_path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
MODEL_CARD = ROOT / "MODEL_CARD.md"  # what the model is for and not for; linked from the page's footer
EXAMPLE_WAVS = sorted((ASSETS / "examples").glob("*.wav"))


# One prediction takes well under a second of CPU and torch already spreads it over the
# machine's cores, so running many at once only makes each slower and multiplies memory.
# Two at a time keeps a short request from waiting behind another; the rest queue.
DEFAULT_CONCURRENCY_LIMIT = 2
# The metrics recompute scores a whole dataset (tens of seconds): one at a time, in its own
# slot (concurrency_id) so that it never holds up predictions.
RECOMPUTE_CONCURRENCY_LIMIT = 1
# Beyond this many waiting requests new ones are refused with "queue full" instead of waiting
# minutes: a bounded queue is the app's protection against being flooded.
QUEUE_MAX_SIZE = 32
# Uploads: a 60-s 48 kHz stereo 16-bit WAV is 11.5 MB; 20 MB leaves room for that and refuses
# huge files before they are read.
MAX_FILE_SIZE = "20mb"
# /timeline reads a recording window by window in bounded memory, up to 30 minutes
# (emotion.audio.MAX_SECONDS). In practice the upload limit above caps it first: 20 MB hold
# about 10 min of 16 kHz mono 16-bit WAV, 1.7 min of 48 kHz stereo WAV, 20 min of 128 kbit/s MP3.
TIMELINE_MAX_SECONDS = audio_io.MAX_SECONDS
# A long recording keeps a CPU core busy for a while (10 min of audio: about 4 s per model of
# the ensemble, benchmarks/bench_timeline.py): one at a time.
TIMELINE_CONCURRENCY_LIMIT = 1
# Live microphone: an update (the last 3 s judged, the rolling plot redrawn) once per
# LIVE_UPDATE_SECONDS of audio. Gradio 6.31's Audio sends 0.1-s chunks whatever stream_every
# says, and while a handler runs it keeps only the newest chunk: so the handler only buffers
# each chunk (a few ms) and the update's work (tens of ms of model, ~0.1 s with the plot) runs
# in LIVE_WORKERS. A stream holds its concurrency slot for as long as it runs, hence its own
# slots and a time limit (after which the user presses record again).
LIVE_UPDATE_SECONDS = 1.0
LIVE_CHUNK_SECONDS = 0.1  # stream_every: what the browser sends anyway; an update shows <= 0.1 s after it is ready
LIVE_TIME_LIMIT = 300
LIVE_CONCURRENCY_LIMIT = 4
LIVE_WORKERS = ThreadPoolExecutor(max_workers=LIVE_CONCURRENCY_LIMIT, thread_name_prefix="live-update")
# Uploads, streamed microphone chunks and the timeline CSVs live in Gradio's cache: every 30
# minutes, files older than an hour are deleted (and all of them when the server restarts).
DELETE_CACHE = (1800, 3600)


def tune_process() -> None:
    """Process settings for a long-running server: one malloc arena per server thread grows RSS
    by ~100 MB under load, so cap the arenas (Linux/glibc only)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX = 2
        except (OSError, AttributeError):
            pass


@dataclass
class Resources:
    """What the app loads once: the model, the clip library, the shipped metrics."""

    checkpoint: Path
    data_dir: Optional[Path]  # None: the bundled clips in assets/ravdess
    predictor: Predictor
    library: ExampleLibrary
    metrics: Optional[dict]

    @property
    def metrics_path(self) -> Path:
        return self.checkpoint.with_name("metrics.json")

    @property
    def oof_path(self) -> Path:
        return self.checkpoint.with_name("oof_predictions.csv")

    @property
    def examples_dir(self) -> Path:
        return self.data_dir or DEFAULT_EXAMPLES_DIR

    @property
    def allowed_paths(self) -> list:
        """Files the app may serve: the bundled clips, the model card and, when configured, the dataset folder."""
        return [str(ASSETS), str(MODEL_CARD)] + ([str(self.data_dir)] if self.data_dir else [])


_choice = dict(checkpoint=None, data_dir=None)


def configure(checkpoint: Optional[str] = None, data_dir: Optional[str] = None) -> None:
    """Command-line choices (app.py --checkpoint / --data-dir); before the first resources()."""
    if resources.cache_info().currsize:
        raise RuntimeError("configure() must come before the resources are loaded")
    _choice.update(checkpoint=checkpoint, data_dir=data_dir)


@lru_cache(maxsize=1)
def resources() -> Resources:
    checkpoint = default_path(_choice["checkpoint"])
    data_dir = configured_data_dir(_choice["data_dir"])
    predictor = Predictor.from_checkpoint(checkpoint)
    # a checkpoint of other labels (trained on a manifest) has no RAVDESS out-of-fold table to browse
    oof = checkpoint.with_name("oof_predictions.csv") if ravdess_labels(predictor) else None
    library = ExampleLibrary(predictor, data_dir, oof)
    return Resources(checkpoint, data_dir, predictor, library, load_metrics(checkpoint.with_name("metrics.json")))


def ravdess_labels(predictor: Predictor) -> bool:
    """Whether the checkpoint names RAVDESS's eight emotions (the Examples tab needs them)."""
    return tuple(predictor.labels) == EMOTIONS


def launch_kwargs() -> dict:
    return dict(
        share=False,  # never a public link, even with GRADIO_SHARE=true
        max_file_size=MAX_FILE_SIZE,
        allowed_paths=resources().allowed_paths,
    )

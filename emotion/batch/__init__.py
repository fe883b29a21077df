"""Batch scoring: audio archives to Parquet, resumable, in local processes or on Ray Data
(`python -m emotion.batch SRC... --out results.parquet`).

    job            the job: arguments, run(), resume, the summary; main() is the command
    batch_io       its inputs (the audio files the sources name) and outputs (Parquet parts, columns)
    batch_engines  its engines: files -> rows, in local processes or on Ray Data

May import: the Predictor and everything below it.
"""

from .batch_io import PIP_HINT
from .job import main, run

__all__ = ["run", "main", "PIP_HINT"]

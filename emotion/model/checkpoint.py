"""The checkpoint format, in one place: its version, how it is built, checked, verified and read.

A checkpoint is a plain dict saved with torch.save and read with weights_only=True (no pickle):

    format_version  FORMAT_VERSION
    labels          the label list, in the order of the model's outputs
    model_config    the model's dataclass as a dict; "backbone" says which: "cnn" | "whisper-base"
    audio_config    sample rate, clip length and the speech-detection settings it was trained with
    feature_config  what the backbone reads (checked against what this code computes)
    encoder         whisper-base only: the encoder's name, file SHA-256 and blocks used
    normalization   cnn only: per-model mel mean/std
    models          one state_dict per fold model (the shipped predictor averages them)
    folds           per fold: train_actors, val_actors, sizes, the kept epoch
    train_actors, val_actors, temperature, metrics, training (command, seed, date, recipe)

Files listed in a SHA256SUMS beside the checkpoint are verified before they are read.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Optional, Sequence

import torch

from .. import audio
from ..audio import speech
from ..errors import SetupError
from . import backbone as backbones

FORMAT_VERSION = 1


def shipped_folder() -> Path:
    """Where the shipped checkpoints are: checkpoints/ in a clone of the repository, else the
    package data of an installed package (emotion/checkpoints/, found with importlib.resources)."""
    clone = Path(__file__).resolve().parents[2] / "checkpoints"
    if (clone / "emotion.pt").is_file():
        return clone
    from importlib.resources import files

    return Path(str(files("emotion") / "checkpoints"))


SHIPPED = shipped_folder() / "emotion.pt"
ENV = "EMOTION_CHECKPOINT"  # the environment variable that names another default checkpoint
MANIFEST = "SHA256SUMS"
REQUIRED = ("format_version", "labels", "model_config", "feature_config", "models")
METRIC_KEYS = ("n", "accuracy", "macro_f1", "macro_recall", "ece", "ece_calibrated")


class CheckpointError(SetupError):
    """A checkpoint that is missing, altered, or of a format this code cannot read."""


def build(
    result: dict,
    config,
    temperature: float,
    metrics: dict,
    command: str,
    seed: int,
    recipe: Optional[dict] = None,
    *,
    labels: Sequence[str],
) -> dict:
    """The checkpoint dict of a training run: result holds `states` (one state_dict per fold
    model) and `folds` (per-fold records with train_actors and val_actors); labels in the order
    of the model's outputs."""
    folds = result["folds"]
    backbone = backbones.of_config(config)
    return dict(
        format_version=FORMAT_VERSION,
        labels=list(labels),
        model_config=asdict(config),
        audio_config=dict(
            sample_rate=audio.SAMPLE_RATE,
            clip_seconds=audio.CLIP_SECONDS,
            n_samples=audio.N_SAMPLES,
            trim_db=speech.TRIM_DB,
            silence_dbfs=speech.SILENCE_DBFS,
            resampler="sinc_interp_kaiser width 64",
        ),
        feature_config=backbone.feature_config(),
        **backbone.checkpoint_extra(config, result["states"]),
        models=result["states"],
        folds=[{k: v for k, v in f.items() if k != "history"} for f in folds],
        train_actors=sorted({a for f in folds for a in f["train_actors"]}),
        val_actors=sorted({a for f in folds for a in f["val_actors"]}),
        temperature=float(temperature),
        metrics={
            k: metrics[k]
            for k in METRIC_KEYS + (("ensemble_calibration",) if "ensemble_calibration" in metrics else ())
            if k in metrics
        },
        training=dict(
            command=command,
            seed=seed,
            date=time.strftime("%Y-%m-%d"),
            torch=str(torch.__version__),
            recipe=recipe or {},
        ),
    )


def validate(checkpoint) -> backbones.Backbone:
    """Check a checkpoint dict can be read by this code; returns its backbone. CheckpointError
    says what is wrong."""
    if not isinstance(checkpoint, dict) or any(k not in checkpoint for k in REQUIRED):
        raise CheckpointError(f"Not an emotion checkpoint: it needs the keys {', '.join(REQUIRED)}.")
    if checkpoint.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"Unsupported checkpoint format {checkpoint.get('format_version')!r}")
    labels = checkpoint["labels"]
    if (
        not isinstance(labels, (list, tuple))
        or not 2 <= len(labels) <= 30
        or not all(isinstance(x, str) and x for x in labels)
        or len(set(labels)) != len(labels)
    ):
        raise CheckpointError(f"Checkpoint labels {labels!r} are not a list of 2-30 distinct names")
    n_classes = checkpoint["model_config"].get("n_classes")
    if n_classes != len(labels):
        raise CheckpointError(f"Checkpoint names {len(labels)} labels for a model with {n_classes} outputs")
    try:
        backbone = backbones.of_checkpoint(checkpoint)
    except SetupError as exc:
        raise CheckpointError(str(exc)) from None
    if checkpoint["feature_config"] != backbone.feature_config():
        raise CheckpointError("Checkpoint was trained with other features than this code computes")
    problem = backbone.check(checkpoint)
    if problem:
        raise CheckpointError(problem)
    return backbone


def default_path(choice=None) -> Path:
    """The checkpoint to use: the one chosen (a path), else $EMOTION_CHECKPOINT, else the shipped one."""
    return Path(choice or os.environ.get(ENV) or SHIPPED).resolve()


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_checksum(path: Path) -> None:
    """Check the file against the SHA256SUMS manifest beside it, when it is listed there."""
    manifest = path.parent / MANIFEST
    if not manifest.exists():
        return
    expected = {}
    for line in manifest.read_text().splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2:  # "<digest>  <path>", as sha256sum writes it, from any folder
            expected[Path(parts[1].strip().lstrip("*")).name] = parts[0]
    if path.name in expected and expected[path.name] != sha256(path):
        raise CheckpointError(
            f"{path} does not match its SHA-256 in {manifest}: the file was altered or is "
            "incomplete. Restore it from the repository (git checkout -- checkpoints/)."
        )


def save(checkpoint: dict, path) -> None:
    """Write a checkpoint (validated) and, when a SHA256SUMS beside it lists it, its new digest."""
    path = Path(path)
    validate(checkpoint)
    torch.save(checkpoint, path)
    manifest = path.parent / MANIFEST
    if manifest.exists():
        lines = [
            line
            for line in manifest.read_text().splitlines()
            if line.split(maxsplit=1)[-1].strip().lstrip("*") != path.name
        ]
        manifest.write_text("\n".join(lines + [f"{sha256(path)}  {path.name}"]) + "\n")


def load(path) -> dict:
    """Read a checkpoint file: checksum verified, no pickle, validated."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}. Train one with python -m emotion.training.train.")
    verify_checksum(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch file, truncated, or holding disallowed objects
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__}).") from None
    validate(checkpoint)
    return checkpoint

"""Helpers shared by the test modules that launch the app or a local server (not fixtures)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT = Path(os.environ.get("EMOTION_CHECKPOINT") or ROOT / "checkpoints" / "emotion.pt")


def require_checkpoint() -> Path:
    """The configured checkpoint; skips the calling module when it is absent (app.py loads it at import)."""
    if not CHECKPOINT.is_file():
        pytest.skip(f"no checkpoint at {CHECKPOINT}: train one (python -m emotion.training.train) or set "
                    "EMOTION_CHECKPOINT", allow_module_level=True)
    return CHECKPOINT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

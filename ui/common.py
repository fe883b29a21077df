"""Helpers every tab uses: user-facing errors and a cheap duration probe."""

from __future__ import annotations

import html
from typing import Optional

import gradio as gr
import soundfile as sf


def error(message: str, title: str = "Cannot analyse this audio") -> gr.Error:
    """A gr.Error for an expected problem: the message escaped (gr.Error renders HTML), no traceback."""
    return gr.Error(html.escape(str(message), quote=False), title=title, print_exception=False)


def duration(audio_path: str) -> Optional[float]:
    """Seconds of audio from the file's header; None when the header is unreadable (the
    predictor then gives its own message)."""
    try:
        return sf.info(audio_path).duration
    except Exception:
        return None

"""Helpers shared by the test modules that launch the app or a local server (not fixtures)."""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import pytest

from emotion.model.checkpoint import default_path

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT = default_path()


def require_checkpoint() -> Path:
    """The configured checkpoint; skips the calling module when it is absent (app.py loads it at import)."""
    if not CHECKPOINT.is_file():
        pytest.skip(
            f"no checkpoint at {CHECKPOINT}: train one (python -m emotion.training.train) or set EMOTION_CHECKPOINT",
            allow_module_level=True,
        )
    return CHECKPOINT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROMIUM = "/usr/bin/chromium"  # Debian's package (apt-get install chromium); never `playwright install`
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def require_chromium() -> None:
    """Skips the calling module when the system Chromium is absent."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"{CHROMIUM} is absent (apt-get install chromium); the browser tests need it", allow_module_level=True
        )


@contextmanager
def chromium(*extra_flags: str):
    """A headless Chromium (Playwright driving the system's binary) with CHROMIUM_FLAGS and extra_flags."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS + list(extra_flags))
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def app_page(browser, url: str, timeout_ms: int, width: int = 1280, height: int = 900, microphone: bool = False):
    """A fresh browser context on the served app, loaded (its tabs visible); closed afterwards."""
    from playwright.sync_api import expect

    # every expect() waits as long as the page does: 5 s (Playwright's default) is a speed check, and
    # CI's two busy cores took longer to show a long recording's timeline
    expect.set_options(timeout=timeout_ms)
    context = browser.new_context(viewport={"width": width, "height": height})
    if microphone:
        context.grant_permissions(["microphone"], origin=url.rstrip("/"))
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.goto(url)
    expect(page.get_by_role("tab", name="Analyze")).to_be_visible()
    try:
        yield page
    finally:
        context.close()


# Two voices from the bundled clips, two sentences each: actor 3 (a man) and actor 4 (a woman); in
# RAVDESS odd actors are men, even ones women (issue 36: the app's Speakers view)
TWO_VOICES = {
    1: ["assets/ravdess/03-01-02-02-01-01-03.flac", "assets/examples/03-01-03-02-02-01-03.wav"],
    2: ["assets/ravdess/03-01-01-01-01-01-04.flac", "assets/examples/03-01-04-01-01-02-04.wav"],
}


def two_voice_conversation(path: Path, turns: int = 4) -> Path:
    """A conversation of TWO_VOICES: `turns` rounds of speaker 1 then speaker 2, one sentence a turn,
    0.5-s pauses (~34 s for 4 rounds), as 16 kHz 16-bit WAV. Speaker 1 speaks first."""
    import numpy as np
    import soundfile as sf

    from emotion import audio

    pause = np.zeros(audio.SAMPLE_RATE // 2, np.float32)
    parts = [pause]
    for turn in range(turns):
        for who in (1, 2):
            parts += [audio.load_audio(ROOT / TWO_VOICES[who][turn % 2]), pause]
    sf.write(path, np.concatenate(parts), audio.SAMPLE_RATE, subtype="PCM_16")
    return path


@contextmanager
def app_process(env: Optional[dict] = None, tries: int = 480):
    """The app (as `python app.py` builds it) in a process of its own on a free loopback port, with
    `env` added to this one's environment; yields its URL once it accepts connections, stops it after."""
    import subprocess
    import sys
    import time

    port = free_port()
    code = f"import app\napp.demo.launch(server_name='127.0.0.1', server_port={port}, quiet=True, **app.LAUNCH_KWARGS)"
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(tries):  # the app imports gradio and loads the model first
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-3000:]
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=30)

"""The transcript in the app: /transcript through gradio_client, and on the Analyze tab in
headless Chromium (the system's /usr/bin/chromium) for a long upload, with an SRT download
that parses as SRT.

    python -m pytest -q tests/test_transcript_app.py
"""

from __future__ import annotations

import os
import urllib.request

import numpy as np
import pytest
import soundfile as sf
from support import app_page, chromium, require_checkpoint

CHECKPOINT = require_checkpoint()
pytest.importorskip("faster_whisper")

from test_transcript import parse_srt  # noqa: E402

from emotion import audio  # noqa: E402

TIMEOUT_MS = 120_000
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")


@pytest.fixture(scope="module")
def long_upload(tmp_path_factory, asset_flacs):
    """Six asset sentences joined by 1-s pauses (~25 s)."""
    pause = np.zeros(16000, np.float32)
    parts = [pause] + [x for f in asset_flacs[::3][:6] for x in (audio.load_audio(f), pause)]
    path = tmp_path_factory.mktemp("upload") / "six_sentences.wav"
    sf.write(path, np.concatenate(parts), 16000, subtype="PCM_16")
    return path


def test_transcript_endpoint(served_app, long_upload, shipped_predictor):
    from gradio_client import Client, handle_file

    result = Client(served_app, verbose=False).predict(handle_file(str(long_upload)), api_name="/transcript")
    assert result["language"] == "en" and len(result["segments"]) >= 3
    expected = shipped_predictor.transcript(str(long_upload))
    assert [s["text"] for s in result["segments"]] == list(expected["text"])
    judged = [s for s in result["segments"] if s["emotion"]]
    assert len(judged) >= 3 and all(s["note"] for s in result["segments"] if not s["emotion"])  # not judged: why
    for seg in judged:
        assert seg["text"] and seg["emotion"] == max(seg["probabilities"], key=seg["probabilities"].get)
        assert abs(sum(seg["probabilities"].values()) - 1) < 1e-3


@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no /usr/bin/chromium")
def test_browser_shows_the_transcript_and_its_srt(served_app, long_upload):
    from playwright.sync_api import expect

    with chromium() as browser, app_page(browser, served_app, TIMEOUT_MS) as page:
        page.get_by_label("Upload file").click()
        page.locator("#speech-input input[type=file]").first.set_input_files(str(long_upload))
        expect(page.locator("#speech-input audio[src]")).to_have_count(1, timeout=TIMEOUT_MS)
        page.get_by_role("button", name="Analyze", exact=True).click()
        segments = page.locator("#transcript .transcript-segment")
        # expect()'s own 5-s default, not the page's: transcribing 25 s on 2 busy cores takes longer
        expect(segments.first).to_be_visible(timeout=TIMEOUT_MS)
        texts = segments.all_inner_texts()
        assert len(texts) >= 3 and all("] " in t for t in texts), texts  # "[angry 0.81] words"
        assert " ".join(texts).lower().count("door") >= 5, texts  # the six sentences' words
        link = page.locator("#transcript-files a[href*='.srt']").first
        expect(link).to_be_attached(timeout=TIMEOUT_MS)
        href = link.get_attribute("href")
        url = href if href.startswith("http") else served_app.rstrip("/") + "/" + href.lstrip("/")
        srt = urllib.request.urlopen(url, timeout=30).read().decode("utf-8")
        cues = parse_srt(srt)
        assert len(cues) == len(texts) and all(c[2].startswith("[") for c in cues)

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
        # a click on an utterance plays the recording from its start (issue 33, item 6): the player's
        # own clock moves past the utterance's start
        from ui.transcript import FIND_PLAYER

        start = float(segments.nth(2).get_attribute("data-start"))
        segments.nth(2).click()
        page.wait_for_timeout(1500)
        now = page.evaluate(f"() => {{ {FIND_PLAYER} return player ? [player.currentTime, player.paused] : null; }}")
        assert now is not None and now[0] >= start + 0.2 and not now[1], (start, now)


def test_no_words_no_downloads(monkeypatch, tmp_path):
    """A recording where nothing was said shows "No words were recognised." and offers no files
    (issue 33, item 9: it offered three, one a 0-byte SRT); with words, the three files come."""
    import pandas as pd

    from ui import transcript as box

    empty = pd.DataFrame(columns=["start", "end", "text", "emotion", "note"])
    monkeypatch.setattr(box, "_frame", lambda path, speakers=None: empty)
    view, files = box.show(str(tmp_path / "quiet.wav"), True)
    assert "No words were recognised" in view and files is None


def test_an_example_click_shows_its_transcript(served_app):
    """An example button runs the Analyze button's chain, the transcript included (issue 33, item 5:
    examples showed the emotions and no words)."""
    from playwright.sync_api import expect

    from ui.analyze import _example_label
    from ui.settings import EXAMPLE_WAVS

    with chromium() as browser, app_page(browser, served_app, TIMEOUT_MS) as page:
        page.get_by_text(_example_label(EXAMPLE_WAVS[0]), exact=True).first.click()
        expect(page.get_by_test_id("label-output-value")).to_have_count(1, timeout=TIMEOUT_MS)
        segment = page.locator("#transcript .transcript-segment")
        expect(segment.first).to_be_visible(timeout=TIMEOUT_MS)
        assert "door" in " ".join(segment.all_inner_texts()).lower()  # a RAVDESS statement

"""The app in a real browser: headless Chromium driven by Playwright (never `playwright install`:
it uses the system's /usr/bin/chromium; apt-get install chromium).

Uploads a clip, records through Chromium's fake microphone (fed from a WAV made from an
assets clip), and opens the Metrics tab. Predictions are compared with Predictor on the same
audio, never with a fixed emotion. Set UPDATE_SCREENSHOT=1 to rewrite assets/screenshot.png.

    EMOTION_CHECKPOINT=/tmp/devckpt/emotion.pt python -m pytest -q tests/test_browser.py
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from support import app_page, app_process, chromium, require_checkpoint, require_chromium

require_chromium()

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT = require_checkpoint()

from playwright.sync_api import expect  # noqa: E402

import app  # noqa: E402
from emotion import EMOTIONS, AudioError, Predictor  # noqa: E402
from emotion.audio import resample  # noqa: E402
from emotion.clarity import NO_CLEAR, UNFAMILIAR  # noqa: E402
from ui import analyze as analyze_tab  # noqa: E402,F401

UPLOAD_CLIP = ROOT / "assets" / "ravdess" / "03-01-05-02-01-01-12.flac"
MIC_CLIP = ROOT / "assets" / "ravdess" / "03-01-04-02-01-01-10.flac"
SCREENSHOT = ROOT / "assets" / "screenshot.png"
TIMEOUT_MS = 30_000

# gradio's queue uses pandas options that pandas 3 deprecates: not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")


@pytest.fixture(scope="module")
def predictor():
    return Predictor.from_checkpoint(CHECKPOINT)


@pytest.fixture(scope="module")
def fake_mic(tmp_path_factory) -> Path:
    """An assets clip as Chromium's fake audio capture wants it: 48 kHz 16-bit PCM WAV."""
    wave, sr = sf.read(MIC_CLIP, dtype="float32")
    path = tmp_path_factory.mktemp("mic") / "fake_mic.wav"
    sf.write(path, resample(wave, sr, 48000), 48000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def browser(fake_mic):
    with chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={fake_mic}",
    ) as b:
        yield b


@pytest.fixture
def page(browser, served_app):
    """The app, its transcript off: these tests are not about the words, and a transcript left
    running on the server after its page closed took the CPU from the next test's stream on CI."""
    with app_page(browser, served_app, TIMEOUT_MS, microphone=True) as pg:
        pg.get_by_label("Transcribe the words").uncheck()
        yield pg


def top(probs: dict) -> str:
    return max(probs, key=probs.get)


def shown_top_label(page) -> str:
    value = page.get_by_test_id("label-output-value").first
    expect(value).to_be_visible()
    return value.inner_text().strip()


def error_toasts(page):
    return page.locator(".toast-body")


def test_upload_predicts_like_predictor(page, predictor):
    page.get_by_label("Upload file").click()
    page.locator("input[type=file]").first.set_input_files(str(UPLOAD_CLIP))
    expect(page.locator("#speech-input audio[src]")).to_have_count(1)
    page.get_by_role("button", name="Analyze", exact=True).click()
    assert shown_top_label(page) == top(predictor.predict(str(UPLOAD_CLIP)))
    expect(page.locator("[data-testid=label] button.confidence-set")).to_have_count(3)
    # the three charts are drawn (Vega-Lite specs, emotion.charts.plots: the browser draws them on canvases)
    expect(page.locator(".vega-chart .vega-embed canvas")).to_have_count(3)
    assert error_toasts(page).count() == 0
    # then the spectrogram again, with the saliency of the top emotion over it
    expect(page.locator(".vega-chart .vega-embed [aria-label*='highlighted']")).to_have_count(1)
    if os.environ.get("UPDATE_SCREENSHOT"):
        page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_metrics_tab_shows_confusion_matrix(page):
    page.get_by_role("tab", name="Metrics").click()
    if app.RESOURCES.metrics is None:
        expect(page.get_by_text("No metrics.json")).to_be_visible()
        return
    # the counts are a clickable heat map (tests/test_browser_examples.py clicks it)
    counts = app.RESOURCES.metrics["confusion_matrix"]
    expect(page.locator("#confusion-counts [data-testid=cell-0-1]")).to_have_text(str(counts[0][0]))
    expect(page.locator("#confusion-normalised .vega-embed canvas")).to_be_visible()  # Vega-Lite charts
    expect(page.locator("#per-actor .vega-embed canvas")).to_be_visible()
    expect(page.get_by_text(f"Accuracy {app.RESOURCES.metrics['accuracy']:.1%}")).to_be_visible()


def test_fake_microphone_recording_is_analysed(page, predictor):
    """The fake microphone plays speech, so a prediction (not an error) must appear, and it must
    be what Predictor says about the very recording the browser made."""
    page.get_by_label("Record audio").click()
    page.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_timeout(3000)
    page.get_by_role("button", name="Stop", exact=True).first.click()
    audio = page.locator("#speech-input audio[src]")
    expect(audio).to_have_count(1)
    page.get_by_role("button", name="Analyze", exact=True).click()
    label = shown_top_label(page)
    assert error_toasts(page).count() == 0
    assert label in EMOTIONS
    # The recording itself, fetched from the page, gives the same answer in Python.
    src = audio.get_attribute("src")
    data = page.evaluate(
        """async (src) => {
        const buf = await (await fetch(src)).arrayBuffer();
        let s = ''; const b = new Uint8Array(buf);
        for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
        return btoa(s);
    }""",
        src,
    )
    recording = base64.b64decode(data)
    try:
        expected = top(predictor.predict(recording))
    except AudioError as exc:  # pragma: no cover - the page would have shown this error
        pytest.fail(f"The page showed a prediction but Predictor rejects the recording: {exc}")
    assert label == expected


def test_silent_upload_shows_error_not_prediction(page, tmp_path):
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(48000, dtype=np.int16), 16000)
    page.get_by_label("Upload file").click()
    page.locator("input[type=file]").first.set_input_files(str(silent))
    page.get_by_role("button", name="Analyze", exact=True).click()
    # the reason is written in the result area (the pop-up may come too), and no panel says "Error"
    expect(page.locator("#analysis-message")).to_contain_text("No speech found")
    expect(page.get_by_test_id("label-output-value")).to_have_count(0)
    expect(page.locator(".gradio-container .error")).to_have_count(0)


def test_examples_tab_filter_and_pick_a_clip(page):
    page.get_by_role("tab", name="Examples").click()
    page.get_by_label("True emotion").click()
    page.get_by_role("option", name="angry", exact=True).click()
    wanted = app.RESOURCES.library.filter(emotion="angry")
    expect(page.get_by_text(f"{len(wanted)} matching clip")).to_be_visible()
    # the dropdown starts at the first: click another row with audio here (they come first)
    clip_id = wanted[wanted["audio"]]["id"].iloc[1]
    page.get_by_role("gridcell", name=clip_id, exact=True).first.click()
    result = app.RESOURCES.library.evaluate(clip_id)
    verdict = page.get_by_text("True emotion: angry").locator("xpath=ancestor::*[contains(@class,'prose')][1]")
    expect(verdict).to_contain_text(f"actor {result.actor}")
    expect(verdict).to_contain_text("✓ right" if result.correct else "✗ wrong")
    expect(verdict).to_contain_text(result.note)
    expect(page.locator("#example-audio audio[src]")).to_have_count(1)  # the clip is loaded to play


@pytest.fixture(scope="module")
def own_server():
    """The app (as `python app.py` builds it) in a process of its own, for the Live test: in full
    runs the stream, sharing the session's served app and this process with every other browser
    test, stopped after its first chunk in about half of them (the server idle, the label at
    "listening…"), while alone it answered every time. Yields its URL."""
    with app_process() as url:
        yield url


def live_headings() -> set:
    """Every heading the Live label can give an answer under (emotion.clarity's verdict rule):
    an emotion or "no clear emotion", either one flagged " · unfamiliar recording"."""
    plain = set(EMOTIONS) | {NO_CLEAR}
    return plain | {f"{h} · {UNFAMILIAR}" for h in plain}


def test_live_tab_streams_the_fake_microphone(browser, own_server):
    """The Live tab records from the (fake) microphone, and the streamed chunks come back as a
    verdict on the last 3 s (the fake microphone plays speech: an emotion, or "no clear emotion"
    where two are near-tied, never "no speech") and a rolling plot."""
    with app_page(browser, own_server, TIMEOUT_MS, microphone=True) as page:
        live_stream_answers(page)


def live_stream_answers(page) -> None:
    page.get_by_role("tab", name="Live").click()
    live = page.locator("#live-input")
    live.get_by_role("button", name="Record", exact=True).click()
    answers, seen = live_headings(), []
    start = time.monotonic()
    deadline, restarted = start + 90, False  # a content check, not a speed one: CI's 2 cores are busy
    while time.monotonic() < deadline:
        shown = page.evaluate(
            "() => { const el = document.querySelector('#live-label [data-testid=label-output-value]');"
            " return el ? el.innerText.trim() : null; }"
        )
        if not seen or seen[-1] != shown:
            seen.append(shown)
        if shown in answers:
            break
        if not restarted and time.monotonic() - start > 45:
            # In about one full parallel run in three, headless Chromium's fake-microphone stream sends
            # its first chunk and then nothing while the server sits idle (never when this test runs
            # alone; not root-caused). Recording again once is what a user would do; the verdict must
            # still come from the stream.
            live.get_by_role("button", name="Stop", exact=True).first.click()
            live.get_by_role("button", name="Record", exact=True).click()
            deadline, restarted = time.monotonic() + 60, True
            seen.append("(recording restarted)")
        page.wait_for_timeout(250)
    assert seen[-1] in answers, f"no verdict within 90 s (restarted: {restarted}); the label showed {seen}"
    expect(page.locator("#live-plot .vega-embed canvas")).to_have_count(1)  # the rolling timeline (Vega-Lite)
    live.get_by_role("button", name="Stop", exact=True).first.click()
    assert error_toasts(page).count() == 0

"""What the Analyze tab says, in headless Chromium at a phone's width (390 px) and a laptop's
(1366 px): the fake microphone's own beeps get the no-speech message (issue 24, item 1), a
near-tie reads "no clear emotion" with both candidates (item 2), the shaded seconds of a long
file are the seconds heard, not the windows' sum (item 3), and a short file after a long one
closes the timeline panel instead of leaving empty boxes (item 5).

    python -m pytest -q tests/test_browser_verdicts.py
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf
from support import app_page, chromium, require_checkpoint, require_chromium

require_checkpoint()
require_chromium()

from playwright.sync_api import expect  # noqa: E402
from support import CHECKPOINT, ROOT  # noqa: E402

from emotion import audio  # noqa: E402
from emotion.clarity import clarity, load_margin  # noqa: E402
from emotion.longform.long_input import covered_seconds  # noqa: E402
from emotion.predictor import Predictor  # noqa: E402

TIMEOUT_MS = 60_000
WIDTHS = [pytest.param(390, id="phone"), pytest.param(1366, id="laptop")]
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")


@pytest.fixture(scope="module")
def predictor():
    return Predictor.from_checkpoint(CHECKPOINT)


@pytest.fixture(scope="module")
def browser():
    """Chromium with its fake microphone and no file to play: its default beep (a 400 Hz tone
    every 0.5 s). One Playwright per thread: the other tests share this browser."""
    with chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream") as b:
        yield b


@pytest.fixture(params=WIDTHS)
def width(request):
    return request.param


def upload(page, path) -> None:
    page.get_by_label("Upload file").click()
    page.locator("#speech-input input[type=file]").first.set_input_files(str(path))
    expect(page.locator("#speech-input audio[src]")).to_have_count(1)
    page.get_by_role("button", name="Analyze", exact=True).click()


@pytest.fixture(scope="module")
def near_tie(predictor):
    """A bundled clip whose top two emotions are closer than the checkpoint's margin, with its verdict."""
    margin = load_margin(CHECKPOINT)
    for path in sorted((ROOT / "assets").glob("ravdess*/*.flac")):
        verdict = clarity(predictor.predict(str(path)), margin)
        if not verdict["clear"]:
            return path, verdict
    pytest.skip("no bundled clip is a near-tie for this checkpoint")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """A ~15-s file of five bundled sentences with 0.3-s pauses (its 3-s windows overlap), and one
    short sentence."""
    folder = tmp_path_factory.mktemp("verdicts")
    clips = sorted((ROOT / "assets" / "ravdess").glob("*.flac"))[::5][:5]
    pause = np.zeros(int(0.3 * audio.SAMPLE_RATE), np.float32)
    long_wave = np.concatenate([2 * pause] + [x for c in clips for x in (audio.load_audio(c), pause)])
    sf.write(folder / "long.wav", long_wave, audio.SAMPLE_RATE, subtype="PCM_16")
    sf.write(folder / "short.wav", audio.load_audio(clips[0]), audio.SAMPLE_RATE, subtype="PCM_16")
    return folder / "long.wav", folder / "short.wav"


def test_the_fake_microphones_beeps_get_no_emotion(browser, served_app, width):
    with app_page(browser, served_app, TIMEOUT_MS, width=width, microphone=True) as page:
        page.get_by_label("Record audio").click()
        page.get_by_role("button", name="Record", exact=True).click()
        page.wait_for_timeout(3000)
        page.get_by_role("button", name="Stop", exact=True).first.click()
        expect(page.locator("#speech-input audio[src]")).to_have_count(1)
        page.get_by_role("button", name="Analyze", exact=True).click()
        expect(page.locator("#analysis-message")).to_contain_text("No speech found")
        expect(page.get_by_test_id("label-output-value")).to_have_count(0)


def test_a_near_tie_says_no_clear_emotion_with_both_candidates(browser, served_app, width, near_tie):
    path, verdict = near_tie
    (a, pa), (b, pb) = verdict["candidates"]
    with app_page(browser, served_app, TIMEOUT_MS, width=width) as page:
        upload(page, path)
        expect(page.get_by_test_id("label-output-value").first).to_have_text("no clear emotion")
        caveat = page.locator("#analysis-caveats")
        expect(caveat).to_contain_text("No clear emotion")
        expect(caveat).to_contain_text(f"{a} {pa:.0%}")
        expect(caveat).to_contain_text(f"{b} {pb:.0%}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 10


def test_shaded_seconds_and_a_short_file_after_a_long_one(browser, served_app, width, recordings, predictor):
    long_path, short_path = recordings
    table = predictor.timeline(str(long_path))
    windows = list(zip(table["start"], table["end"]))
    covered, added = covered_seconds(windows), sum(end - start for start, end in windows)
    assert added - covered > 1.5  # the windows overlap: the old sum would read seconds more
    with app_page(browser, served_app, TIMEOUT_MS, width=width) as page:
        upload(page, long_path)
        note = page.get_by_text(re.compile(r"Shaded: the \d+ s the model heard"))
        expect(note).to_be_visible()
        heard = int(re.search(r"Shaded: the (\d+) s", note.inner_text()).group(1))
        assert heard == round(covered), (heard, covered, added)
        expect(page.locator("#timeline-plot .vega-embed canvas")).to_have_count(1)  # the timeline chart
        page.locator("#speech-input button[aria-label='Clear']").first.click()
        upload(page, short_path)
        expect(page.get_by_text(re.compile(r"The model heard (all|the middle)"))).to_be_visible()
        # the panel closes, emptied: no stale plot, table or CSV box of the long file
        expect(page.locator("#timeline-plot .vega-embed")).to_have_count(0)
        expect(page.locator("#timeline-plot")).to_be_hidden()

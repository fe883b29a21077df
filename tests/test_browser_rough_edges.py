"""Issue 24's rough edges, in headless Chromium at a phone's width (390 px) and a laptop's
(1366 px) (the system's /usr/bin/chromium driven by Playwright; never `playwright install`):
a refused upload's message goes with the next file, the timeline plot fills its panel, the
Metrics and Examples tables show every column, and a mistyped clip id gets one clear message.

    python -m pytest -q tests/test_browser_rough_edges.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from support import app_page, chromium, require_checkpoint, require_chromium

require_chromium()
require_checkpoint()

from playwright.sync_api import expect  # noqa: E402

from ui import common  # noqa: E402
from ui.settings import MAX_FILE_SIZE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "assets" / "examples" / "03-01-03-02-02-01-03.wav"
TIMEOUT_MS = 60_000
WIDTHS = [pytest.param(390, id="phone"), pytest.param(1366, id="laptop")]
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(params=WIDTHS)
def page(request, browser, served_app):
    with app_page(browser, served_app, TIMEOUT_MS, width=request.param, height=900) as pg:
        pg.width = request.param
        yield pg


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width + 10


@pytest.fixture(scope="module")
def too_big(tmp_path_factory) -> Path:
    """A 16-bit WAV just over the upload limit (the issue's case: a 25 MB file)."""
    import gradio as gr
    n = gr.utils._parse_file_size(MAX_FILE_SIZE) // 2 + 16000
    path = tmp_path_factory.mktemp("big") / "too_big.wav"
    sf.write(path, (np.random.default_rng(0).standard_normal(n) * 300).astype(np.int16), 16000)
    return path


def test_a_refused_upload_says_why_and_the_next_file_clears_it(page, too_big):
    hint = page.locator("#upload-hint")
    expect(hint).to_contain_text("Upload limit")
    page.get_by_label("Upload file").click()
    page.locator("#speech-input input[type=file]").first.set_input_files(str(too_big))
    expect(hint).to_contain_text("over the 20MB upload limit, so it was not sent")
    expect(hint).to_contain_text("Upload limit")  # the hint stays under the message
    # refused before Gradio saw it: no bare "Error" pill in the audio box, no pop-up, nothing sent
    page.wait_for_timeout(1000)
    expect(page.locator("#speech-input")).not_to_contain_text("Error")
    expect(page.locator(".toast-body")).to_have_count(0)
    expect(page.locator("#speech-input audio[src]")).to_have_count(0)
    # a file that fits: loaded, and the message is gone (the issue: it stayed beside the new file)
    page.locator("#speech-input input[type=file]").first.set_input_files(str(CLIP))
    expect(page.locator("#speech-input audio[src]")).to_have_count(1)
    expect(hint).not_to_contain_text("not sent")
    expect(hint).to_contain_text("Upload limit")
    expect(page.locator("#speech-input")).not_to_contain_text("Error")
    no_sideways_scroll(page)


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory) -> Path:
    """Six bundled sentences joined by 1-s pauses (~28 s): a timeline of several windows."""
    from emotion import audio
    clips = sorted((ROOT / "assets" / "ravdess").glob("03-01-*.flac"))[:6]
    pause = np.zeros(16000, np.float32)
    path = tmp_path_factory.mktemp("long") / "six_sentences.wav"
    sf.write(path, np.concatenate([pause] + [x for f in clips for x in (audio.load_audio(f), pause)]), 16000)
    return path


def analyze_file(page, path):
    page.get_by_label("Upload file").click()
    page.locator("#speech-input input[type=file]").first.set_input_files(str(path))
    expect(page.locator("#speech-input audio[src]")).to_have_count(1)
    page.get_by_role("button", name="Analyze", exact=True).click()


def test_the_timeline_plot_fills_its_panel_and_stays_readable(page, long_recording):
    from emotion import plots
    analyze_file(page, long_recording)
    img = page.locator("#timeline-plot img[src^='data:image/png']")
    expect(img).to_be_visible()
    box = img.bounding_box()
    panel = page.locator("#timeline-plot").bounding_box()
    natural = img.evaluate("i => i.naturalWidth")
    # the figure's text (plots.TEXT pt at plots.DPI) is shown at least 10 px tall at either width
    assert plots.TEXT * plots.DPI / 72 * box["width"] / natural >= 10, (box, natural)
    if page.width >= 1000:  # the issue: a 300-px plot in a 1,200-px panel
        assert box["width"] >= 0.9 * panel["width"] - 40, (box, panel)
    else:  # on a phone: wider than the screen, scrolled inside its own box, never the page
        scroller = page.locator("#timeline-plot .matplotlib")
        assert scroller.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX == 'auto'")
    no_sideways_scroll(page)

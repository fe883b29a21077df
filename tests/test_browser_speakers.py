"""Who said it, on the Analyze tab (issue 36, item 3), in headless Chromium (the system's
/usr/bin/chromium driven by Playwright; never `playwright install`) at a phone's width (390 px) and a
laptop's (1366 px): a two-voice conversation built from the bundled RAVDESS clips (a man, actor 3,
and a woman, actor 4, taking turns: support.two_voice_conversation), the Speakers switch set to 2,
Analyze. The timeline draws a lane per speaker ("Speaker 1", "Speaker 2" as Vega draws them on its
canvas), the per-speaker table has two rows (whole headers, on screen), the windows' table a speaker
column, the transcript names each utterance's speaker, and nothing runs off the side of the page.

    python -m pytest -q -n 0 tests/test_browser_speakers.py
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from support import app_page, chromium, require_checkpoint, require_chromium, two_voice_conversation

require_chromium()
require_checkpoint()

from playwright.sync_api import expect  # noqa: E402

from emotion.longform import speakers  # noqa: E402

if not speakers.available():
    pytest.skip(
        "the voice encoder is not installed (pip install --no-deps resemblyzer==0.1.4)", allow_module_level=True
    )

TIMEOUT_MS = 120_000
WIDTHS = [pytest.param(390, id="phone"), pytest.param(1366, id="laptop")]
# Vega draws a chart's text on its canvas with fillText: recorded per canvas, as drawn (test_browser_readable.py)
RECORD_CANVAS_TEXT = """() => { const C = CanvasRenderingContext2D.prototype, fill = C.fillText;
    C.fillText = function (text, ...rest) { (this.canvas.drawnText ||= []).push(String(text));
        return fill.call(this, text, ...rest); }; }"""
WHISPER = importlib.util.find_spec("faster_whisper") is not None
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")


@pytest.fixture(scope="module")
def two_voices(tmp_path_factory) -> Path:
    return two_voice_conversation(tmp_path_factory.mktemp("speakers") / "two_voices.wav")


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def table_text(page, box: str) -> dict:
    """A gr.Dataframe's header texts and body rows (each a list of its cells' texts)."""
    return page.locator(box).evaluate("""t => {
        const rows = {};
        for (const c of t.querySelectorAll('[data-testid^=cell-]')) {
            const m = c.getAttribute('data-testid').match(/^cell-(\\d+)-(\\d+)$/);
            if (m) (rows[m[1]] ||= [])[+m[2]] = c.innerText.trim(); }
        return {headers: [...t.querySelectorAll('th')].map(h => h.innerText.trim()).filter(Boolean),
                rows: Object.keys(rows).sort((a, b) => a - b).map(k => rows[k])}; }""")


def cut_headers(page, box: str) -> list:
    """The headers of a gr.Dataframe whose text is cut off, or that lie off the screen's right edge."""
    return page.locator(box).evaluate("""t => [...t.querySelectorAll('th')].filter(h => {
        const s = h.querySelector('.header-content .text') || h;
        return s.scrollWidth > s.clientWidth + 1 || h.getBoundingClientRect().right > innerWidth + 1;
    }).map(h => h.innerText.trim())""")


def overflowing(page) -> list:
    """Elements of the Analyze tab that reach past the right edge of the screen (outside a box that
    scrolls them sideways on purpose: the timeline's chart, a table's own scroller)."""
    return page.evaluate("""() => {
        const scrolls = e => { for (let p = e.parentElement; p; p = p.parentElement) {
            if (/auto|scroll|hidden/.test(getComputedStyle(p).overflowX) && p !== document.body
                && p !== document.documentElement) return true; } return false; };
        return [...document.querySelectorAll('#speakers-switch *, #speaker-summary *, #timeline-box *, #transcript *')]
            .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 1 && !scrolls(e))
            .map(e => (e.id ? '#' + e.id : e.tagName) + ' ' + (e.innerText || '').slice(0, 40)); }""")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_speakers_view_reads_at_phone_and_laptop_width(browser, served_app, two_voices, width):
    with app_page(browser, served_app, TIMEOUT_MS, width=width, height=900) as page:
        switch = page.locator("#speakers-switch")
        expect(switch).to_be_visible()
        assert switch.bounding_box()["width"] <= width
        if not WHISPER:  # the words are not the question without Whisper: spare the CPU
            page.get_by_label("Transcribe the words").uncheck()
        page.get_by_label("Upload file").click()
        page.locator("#speech-input input[type=file]").first.set_input_files(str(two_voices))
        expect(page.locator("#speech-input audio[src]")).to_have_count(1)
        switch.get_by_label("2", exact=True).check()
        page.evaluate(RECORD_CANVAS_TEXT)  # before the chart exists: Vega makes its canvas on Analyze
        page.get_by_role("button", name="Analyze", exact=True).click()

        # the per-speaker table: one row per voice, named, with its seconds, emotion and moments
        summary = page.locator("#speaker-summary")
        expect(summary).to_be_visible(timeout=TIMEOUT_MS)
        expect(summary.locator("[data-testid=cell-1-0]")).to_be_visible()
        report = table_text(page, "#speaker-summary")
        assert {"speaker", "seconds", "emotion", "moments"} <= set(report["headers"]), report
        assert [r[0] for r in report["rows"]] == ["Speaker 1", "Speaker 2"], report
        assert cut_headers(page, "#speaker-summary") == []  # whole words, every column on screen

        # the chart: a lane per speaker, labelled as Vega draws it
        canvas = page.locator("#timeline-plot .vega-embed canvas")
        expect(canvas).to_have_count(1)
        page.wait_for_function(
            "() => { const c = document.querySelector('#timeline-plot .vega-embed canvas');"
            " return c && (c.drawnText || []).includes('Speaker 2'); }",
            timeout=TIMEOUT_MS,
        )
        drawn = canvas.evaluate("c => c.drawnText || []")
        assert {"Speaker 1", "Speaker 2", "time (s)"} <= set(drawn), drawn
        assert "Speaker 3" not in drawn and "50%" not in drawn, drawn  # lanes, not the one stack's percent axis
        lanes = page.locator("#timeline-plot [aria-label$='one lane per speaker (Speaker 1, Speaker 2)']")
        expect(lanes).to_have_count(1)  # the chart's description, for a screen reader

        # the windows' table: who spoke in each window, after its start and end
        windows = table_text(page, "#timeline-table")
        assert windows["headers"][:4] == ["start", "end", "speaker", "emotion"], windows["headers"]
        assert {r[2] for r in windows["rows"]} == {"1", "2"}, windows["rows"]

        if WHISPER:  # the transcript names each utterance's speaker; its colour is its emotion's
            segments = page.locator("#transcript .transcript-segment")
            expect(segments.first).to_be_visible(timeout=TIMEOUT_MS)
            texts = segments.all_inner_texts()
            assert all(re.search(r"Speaker [12] \[", t) for t in texts), texts
            assert {re.search(r"Speaker (\d)", t).group(1) for t in texts} == {"1", "2"}, texts

        page.evaluate("() => window.scrollTo(0, 0)")
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 10
        assert overflowing(page) == []

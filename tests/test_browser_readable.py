"""Issue 33's page read on a phone (390 px) and a laptop (1366 px), in headless Chromium (the
system's /usr/bin/chromium driven by Playwright; never `playwright install`): the Metrics tab's
"Across corpora" tables at readable type with every header whole (item 12), and the time axes of a
long recording labelled in plain seconds as Vega draws them on the canvas (item 7).

    python -m pytest -q tests/test_browser_readable.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import app_page, chromium, require_checkpoint, require_chromium

require_chromium()
require_checkpoint()

from playwright.sync_api import expect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 60_000
WIDTHS = [pytest.param(390, id="phone"), pytest.param(1366, id="laptop")]
CROSS_CORPUS = ("#cross-corpus-table", "#cross-corpus-classes")
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


def table_report(page, table: str) -> dict:
    """A gr.Dataframe as read on screen: each body cell's drawn text size (px) and whether its text is
    cut off; each header's text, whether it is cut off, and whether it is on screen once the table's own
    scroller (if any) brings it into view; and whether that scroller scrolls."""
    return page.locator(table).evaluate("""t => {
        const cut = e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1;
        const inside = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1
            && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
        let scroller = t;  // the table's own box that scrolls sideways (the block or Gradio's viewport)
        for (const e of [t, ...t.querySelectorAll('*')]) {
            if (/auto|scroll/.test(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1) {
                scroller = e; break; } }
        const cells = [...t.querySelectorAll('[data-testid^=cell-]')].map(c => {
            const text = c.querySelector('.text') || c;
            return {text: c.innerText.trim(), px: parseFloat(getComputedStyle(text).fontSize), cut: cut(c)}; });
        const headers = [...t.querySelectorAll('th')].map(h => {
            h.scrollIntoView({block: 'nearest', inline: 'nearest'});
            const span = h.querySelector('.header-content .text') || h;
            const r = h.getBoundingClientRect(), view = scroller.getBoundingClientRect();
            return {text: h.innerText.trim(), cut: cut(h) || cut(span) || !inside(span.getBoundingClientRect(), r),
                    shown: r.left >= view.left - 1 && r.right <= view.right + 1,
                    on_screen: r.left >= -1 && r.right <= innerWidth + 1}; });
        scroller.scrollLeft = 0;
        return {cells, headers, scrolls: scroller.scrollWidth > scroller.clientWidth + 1};
    }""")


def settled_report(page, table: str, tries: int = 20) -> dict:
    """table_report once two readings 250 ms apart agree: under load the Dataframe may still be
    sizing its columns when its first cell shows. The likeliest cause of this test's one failure, in
    a full parallel run (it passed alone and in every later run; not reproduced)."""
    last = None
    for _ in range(tries):
        report = table_report(page, table)
        if report == last:
            break
        last = report
        page.wait_for_timeout(250)
    return report


def test_across_corpora_tables_read_on_a_phone(page):
    """Item 12: on a phone the tables were 9.5-px and 11-px type, shrunk to fit every column. Now the
    body text is at least 12 px and every header whole; the per-emotion table keeps every column on
    screen, the accuracy table may scroll sideways inside its own box (never the page), with a hint
    that says so; at 1366 px every column is in view, as before."""
    result = json.loads((ROOT / "checkpoints" / "crosscorpus.json").read_text())
    page.get_by_role("tab", name="Metrics").click()
    labels = {label for r in result["results"] for label in r["per_class"]}
    expected = {
        "#cross-corpus-table": {"model", "scored on", "test", "n", "accuracy", "macro-F1", "accuracy on its labels"},
        "#cross-corpus-classes": {"model → corpus", *labels},
    }
    scrolling = []
    for table in CROSS_CORPUS:
        page.locator(table).scroll_into_view_if_needed()
        expect(page.locator(f"{table} [data-testid=cell-0-1]")).to_be_visible()
        report = settled_report(page, table)
        small = [(c["text"], c["px"]) for c in report["cells"] if c["px"] < 12]
        assert report["cells"] and not small, (table, small)
        assert [c["text"] for c in report["cells"] if c["cut"]] == [], table
        headers = {h["text"]: h for h in report["headers"]}
        assert expected[table] <= set(headers), (table, sorted(headers))
        assert [h["text"] for h in report["headers"] if h["cut"]] == [], table  # whole words, none cut
        unreachable = [h["text"] for h in report["headers"] if not (h["shown"] and h["on_screen"])]
        assert unreachable == [], (table, unreachable)  # in view, or scrolled into view inside the table
        if report["scrolls"]:
            scrolling.append(table)
    assert set(scrolling) <= {"#cross-corpus-table"}  # the per-emotion table keeps every column on screen
    hint = page.locator("#cross-corpus-scroll-hint")
    if page.width >= 1000:  # the laptop's page as before: every column in view, no hint
        assert scrolling == []
        expect(hint).to_be_hidden()
    elif scrolling:  # a table wider than the phone says so
        expect(hint).to_be_visible()
        assert hint.bounding_box()["width"] <= page.width
    no_sideways_scroll(page)


# Vega draws a chart's text on its canvas with fillText: recorded here, per canvas, as drawn
RECORD_CANVAS_TEXT = """() => { const C = CanvasRenderingContext2D.prototype, fill = C.fillText;
    C.fillText = function (text, ...rest) { (this.canvas.drawnText ||= []).push(String(text));
        return fill.call(this, text, ...rest); }; }"""


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory) -> Path:
    """95 s of the bundled sentences with 1-s pauses: a time axis ticked every 20 s (the issue's 98-s
    recording read "0, 2e+1, 4e+1, 6e+1, 8e+1")."""
    import numpy as np
    import soundfile as sf

    from emotion import audio

    pause = np.zeros(16000, np.float32)
    sentences = [audio.load_audio(f) for f in sorted((ROOT / "assets" / "ravdess").glob("*.flac"))]
    parts = [pause] + [x for s in sentences * 2 for x in (s, pause)]
    path = tmp_path_factory.mktemp("long95") / "ninety_five_seconds.wav"
    sf.write(path, np.concatenate(parts)[: 95 * 16000], 16000)
    return path


def test_time_axes_of_a_long_recording_read_plain_seconds(page, long_recording):
    """Item 7: the tick labels Vega draws (emotion.charts.plots.TIME_AXIS's labelExpr, evaluated by the page's
    own Vega) on the waveform and the timeline of a 95-s recording are 0, 20, 40, 60, 80."""
    page.get_by_label("Transcribe the words").uncheck()  # the words are not the question: spare the CPU
    page.get_by_label("Upload file").click()
    page.locator("#speech-input input[type=file]").first.set_input_files(str(long_recording))
    expect(page.locator("#speech-input audio[src]")).to_have_count(1)
    page.evaluate(RECORD_CANVAS_TEXT)  # before the charts exist: Vega makes their canvases on Analyze
    page.get_by_role("button", name="Analyze", exact=True).click()
    expect(page.locator("#timeline-plot .vega-embed canvas")).to_be_visible(timeout=TIMEOUT_MS)
    charts = {
        "waveform": page.locator(".vega-embed:has([aria-label^=Waveform]) canvas"),
        "timeline": page.locator("#timeline-plot .vega-embed canvas"),
    }
    for name, canvas in charts.items():
        expect(canvas).to_have_count(1)
        drawn = canvas.evaluate("c => c.drawnText || []")  # every render's text (a resize draws it again)
        numbers = [t for t in drawn if re.fullmatch(r"-?[\d.,]+(e[+-]?\d+)?", t)]  # not "50%", not titles
        assert "time (s)" in drawn and {"0", "20", "40", "60", "80"} <= set(numbers), (name, drawn)
        assert all(re.fullmatch(r"\d+(\.\d+)?", t) for t in numbers), (name, numbers)  # never "2e+1"

"""Error analysis in a real browser (headless Chromium via Playwright, the system's
/usr/bin/chromium; never `playwright install`): a click on a cell of the Metrics tab's confusion
matrix opens the Examples tab on exactly that cell's clips; one of them plays and its prediction
shows; "Mistakes only" filters the list. Counts are compared with the clip library and the
metrics file, never with fixed numbers.

    python -m pytest -q tests/test_browser_examples.py
"""

from __future__ import annotations

import pytest
from support import app_page, chromium, require_checkpoint, require_chromium

require_chromium()
require_checkpoint()

from playwright.sync_api import expect  # noqa: E402

import app  # noqa: E402
from emotion.data.clip_catalogue import SCORED  # noqa: E402

TIMEOUT_MS = 30_000
# true once a media element of the Examples player (in the page or in a shadow root) has played
PLAYING = """() => [...document.querySelectorAll('#example-audio, #example-audio *')]
    .flatMap(e => [...(e.shadowRoot ? e.shadowRoot.querySelectorAll('audio, video') : []),
                   ...(e.matches('audio, video') ? [e] : [])])
    .some(a => a.currentTime > 0)"""
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")


@pytest.fixture(scope="module")
def browser():
    with chromium("--autoplay-policy=no-user-gesture-required") as b:
        yield b


@pytest.fixture
def page(browser, served_app):
    with app_page(browser, served_app, TIMEOUT_MS) as pg:
        expect(pg.get_by_role("tab", name="Metrics")).to_be_visible()
        yield pg


def a_cell_with_audio():
    """(row, true, predicted) of an off-diagonal cell with a clip whose audio is here; sad heard
    as fearful when it has one."""
    labels = app.RESOURCES.metrics["labels"]
    lib = app.RESOURCES.library
    pairs = [("sad", "fearful")] + [(t, p) for t in labels for p in labels if t != p]
    for true, predicted in pairs:
        if len(lib.filter(emotion=true, predicted=predicted, audio=True)):
            return labels.index(true), true, predicted
    pytest.skip("no mistake among the clips with audio here")


def click_cell(page, row: int, col: int) -> str:
    """Click cell (row, col) of the Metrics tab's confusion table; returns the count it shows."""
    page.get_by_role("tab", name="Metrics").click()
    cell = page.locator(f"#confusion-counts [data-testid=cell-{row}-{col}]")
    expect(cell).to_be_visible()
    text = cell.inner_text().strip()
    cell.click()
    expect(page.get_by_role("tab", name="Examples", selected=True)).to_be_visible()
    return text


def test_confusion_cell_opens_its_clips_which_play_with_their_prediction(page):
    if not app.RESOURCES.metrics:
        pytest.skip("no metrics.json")
    lib = app.RESOURCES.library
    labels = app.RESOURCES.metrics["labels"]
    row, true, predicted = a_cell_with_audio()
    shown = click_cell(page, row, labels.index(predicted) + 1)
    wanted = lib.filter(emotion=true, predicted=predicted)
    assert int(shown) == len(wanted) == app.RESOURCES.metrics["confusion_matrix"][row][labels.index(predicted)]
    count = page.locator("#example-count")
    expect(count).to_contain_text(f"{true} heard as {predicted}")
    expect(count).to_contain_text(f"{len(wanted)} matching clip")
    # every listed row is that cell's: the table holds as many rows as the cell counts
    table = page.locator("#example-table")
    expect(table.get_by_role("gridcell", name=wanted["id"].iloc[0], exact=True)).to_be_visible()
    # the first clip (clips with audio come first) is loaded, and its prediction shows
    first = lib.evaluate(wanted["id"].iloc[0])
    assert first.path is not None
    verdict = page.locator("#example-verdict")
    expect(verdict).to_contain_text(f"True emotion: {true}")
    expect(verdict).to_contain_text(f"Model: {predicted} — ✗ wrong")
    expect(verdict).to_contain_text(f"actor {first.actor}")
    audio = page.locator("#example-audio audio[src]")
    expect(audio).to_have_count(1)
    # play it: the player's media element (WaveSurfer's, in a shadow root) runs
    page.locator("#example-audio").get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function(PLAYING, timeout=15_000)
    # "Mistakes only": an off-diagonal cell is all mistakes, so nothing goes
    page.locator("#mistakes-only input").check()
    expect(count).to_contain_text(f"{len(wanted)} matching clip")
    expect(table).not_to_contain_text("✓ right")


def test_mistakes_only_on_a_diagonal_cell_and_a_whole_row(page):
    if not app.RESOURCES.metrics:
        pytest.skip("no metrics.json")
    lib = app.RESOURCES.library
    labels = app.RESOURCES.metrics["labels"]
    row = labels.index("sad")
    count = page.locator("#example-count")
    # the true emotion's name: every sad clip with a prediction; mistakes only leaves the wrong ones
    click_cell(page, row, 0)
    everything = lib.filter(emotion="sad", predicted=SCORED)
    expect(count).to_contain_text(f"{len(everything)} matching clips")
    page.locator("#mistakes-only input").check()
    wrong = lib.filter(emotion="sad", mistakes=True)
    assert 0 < len(wrong) < len(everything)
    expect(count).to_contain_text(f"{len(wrong)} matching clip")
    expect(page.locator("#example-table")).not_to_contain_text("✓ right")
    # the diagonal cell: all right, so mistakes only leaves none (the click resets the checkbox)
    shown = click_cell(page, row, row + 1)
    expect(page.locator("#mistakes-only input")).not_to_be_checked()
    expect(count).to_contain_text(f"{shown} matching clip")
    page.locator("#mistakes-only input").check()
    expect(count).to_contain_text("0 matching clips")

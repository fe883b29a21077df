"""Helpers every tab uses: user-facing errors, the panel that keeps them on screen, the upload
limit's words (and the page script that says them in time), the page header."""

from __future__ import annotations

import html
import json
from typing import Literal

import gradio as gr
from gradio.components.plot import PlotData

from emotion.charts.timeline_plots import TIMELINE_MIN_PX
from emotion.evaluation.report import summary_text

from .settings import MAX_FILE_SIZE, ravdess_labels

UPLOAD_HINT = (
    f"Upload limit {MAX_FILE_SIZE.upper()}: about 10 min of 16 kHz mono WAV, 1.7 min of 48 kHz "
    "stereo WAV or 20 min of MP3. A larger file: trim it, or run "
    "`python -m emotion.predict --timeline FILE` on your own machine (no limit but 30 min)."
)
TOO_BIG = (
    f"This file is over the {MAX_FILE_SIZE.upper()} upload limit, so it was not sent. Trim it "
    "(or save it as MP3), or run <code>python -m emotion.predict --timeline FILE</code> on your own machine."
)


# launch(css=...): what Gradio's defaults lay out badly at 390 px or 1366 px (issue 24).
PAGE_CSS = f"""
/* the emotion timeline fills its panel; on a phone it keeps minutes of windows apart: at least
   TIMELINE_MIN_PX wide, scrolled inside its own box */
#timeline-plot .altair {{ overflow-x: auto; align-items: flex-start; }}
@media (max-width: 700px) {{ #timeline-plot .altair > div:first-child {{ min-width: {TIMELINE_MIN_PX}px; }} }}
/* ... and says so there (a phone-only hint under it) */
#timeline-scroll-hint {{ display: none; }}
@media (max-width: 700px) {{ #timeline-scroll-hint {{ display: block; }} }}
/* Vega-Lite charts (emotion.charts.plots, width "container") fill their panel: Gradio centres the chart's box, which
   would shrink it to nothing */
.vega-chart .altair > div:first-child {{ width: 100%; align-self: stretch; }}
/* phones: tables of many columns (.compact-table) show them all: small type, tight cells, headers
   written upwards */
@media (max-width: 700px) {{
  .compact-table table, .compact-table .virtual-table-viewport {{ font-size: 11px; }}
  .compact-table th {{ padding: 2px 1px !important; }}
  .compact-table .cell-wrap {{ padding: 0 1px !important; }}
  .compact-table .body-cell, .compact-table .body-cell > div {{ padding: 0 1px !important;
    text-overflow: clip !important; font-size: 11px !important; }}
  .compact-table .body-cell, .compact-table .body-cell * {{ word-break: normal !important;
    overflow-wrap: normal !important; }}
  .compact-table th .header-content .text {{ writing-mode: vertical-rl; transform: rotate(180deg);
    white-space: nowrap; }}
  .compact-table .cell-menu-button {{ display: none; }}
  /* ... but the "Across corpora" tables keep 12-px type (issue 33, item 12: 9.5 px and 11 px were unreadable) */
  #cross-corpus .compact-table .body-cell, #cross-corpus .compact-table .body-cell > div {{
    font-size: 12px !important; }}
}}
/* the per-speaker table (issue 36, ui/speakers.py): on a phone every column on screen, in whole words */
@media (max-width: 700px) {{
  #speaker-summary th {{ padding: 0 !important; }}
  #speaker-summary .body-cell, #speaker-summary .cell-wrap {{ padding: 2px 4px !important; }}
  #speaker-summary th *, #speaker-summary .body-cell, #speaker-summary .body-cell * {{ font-size: 13px !important;
    font-family: var(--font) !important; word-break: normal !important; overflow-wrap: normal !important; }}
  #speaker-summary th * {{ font-size: 12px !important; }}
  #speaker-summary .cell-menu-button {{ display: none; }}
}}
/* below 600 px the accuracy table is wider than the screen: headers across, in whole words, and the
   table scrolls sideways inside its own box, with a hint that says so */
#cross-corpus-scroll-hint {{ display: none; }}
@media (max-width: 600px) {{
  #cross-corpus-table .table-container {{ min-width: 520px; }}
  #cross-corpus-table th .header-content .text {{ writing-mode: horizontal-tb; transform: none;
    white-space: normal; font-size: 12px; }}
  #cross-corpus-scroll-hint {{ display: block; }}
}}
"""


class _DescribedPlotData(PlotData):
    chart: str  # the page's <img> alt text is "{chart} plot visualising provided data"
    type: Literal["matplotlib"] = "matplotlib"  # type: ignore


class DescribedPlot(gr.Plot):
    """gr.Plot (the same page component) whose matplotlib image has alt text saying what it
    shows: Gradio 6.31 writes "{value.chart} plot visualising provided data" and leaves `chart`
    undefined for matplotlib ("undefined plot visualising provided data"). It also takes a
    Vega-Lite spec as a dict (emotion.charts.plots; its "description" is the chart's aria-label). Build it
    with described_plot (no __init__ of its own: Gradio reads the component's props from gr.Plot's)."""

    is_template = True
    description = "Figure"

    def postprocess(self, value):
        if isinstance(value, dict):  # a Vega-Lite spec (emotion.charts): drawn by the browser, described by its own
            return PlotData(type="altair", plot=json.dumps(value, separators=(",", ":")))
        data = super().postprocess(value)
        if data is None or data.type != "matplotlib":
            return data
        return _DescribedPlotData(plot=data.plot, chart=self.description)


def described_plot(value=None, *, description: str = "", **kwargs) -> DescribedPlot:
    """A DescribedPlot; description: a noun phrase for the alt text (default: the label)."""
    plot = DescribedPlot(**kwargs)
    plot.description = description or kwargs.get("label") or "Figure"
    if value is not None:  # the initial figure, described as well
        plot.value = plot.postprocess(value).model_dump()  # as Component.__init__ stores it
    return plot


def upload_limit_js() -> str:
    """A <script> for launch(head=...) that refuses a file over max_file_size in the browser before
    Gradio sees it (Gradio's own refusal leaves a bare red "Error" pill in the audio box and a
    pop-up), and says what to do above the upload hint. The message goes with the next file that
    fits, a recording, or a clear: it never stays beside a file that was sent."""
    limit = gr.utils._parse_file_size(MAX_FILE_SIZE)
    return (
        "<script>(() => {"
        f"const LIMIT = {limit}, MSG = {json.dumps(TOO_BIG)};"
        "const box = (t) => t && t.closest && t.closest('#speech-input');"
        "const hint = () => document.querySelector('#upload-hint .md') || document.querySelector('#upload-hint');"
        "const say = (on) => { const h = hint(); if (!h) return;"
        "  if (h.dataset.hint === undefined) h.dataset.hint = h.innerHTML;"
        '  h.innerHTML = on ? \'<p class="upload-too-big" style="color:var(--error-text-color,#b91c1c)">\''
        "    + MSG + '</p>' + h.dataset.hint : h.dataset.hint; };"
        "const big = (files) => Array.from(files || []).some((f) => f.size > LIMIT);"
        "document.addEventListener('change', (e) => { const t = e.target;"
        "  if (!box(t) || !t.matches('input[type=file]')) return;"
        "  if (big(t.files)) { e.stopImmediatePropagation(); t.value = ''; say(true); } else say(false); }, true);"
        "document.addEventListener('drop', (e) => { if (!box(e.target) || !e.dataTransfer) return;"
        "  if (big(e.dataTransfer.files)) { e.preventDefault(); e.stopImmediatePropagation(); say(true); }"
        "  else say(false); }, true);"
        # another source (the microphone) or the clear button: the refused file is no longer the question
        "document.addEventListener('click', (e) => { const b = e.target.closest && e.target.closest('button');"
        "  if (box(b) && !/upload/i.test(b.getAttribute('aria-label') || '')) say(false); }, true);"
        "})();</script>"
    )


def error(message: str, title: str = "Cannot analyse this audio") -> gr.Error:
    """A gr.Error for an expected problem: the message escaped (gr.Error renders HTML), no traceback."""
    return gr.Error(html.escape(str(message), quote=False), title=title, print_exception=False)


def failure_panel(exc: gr.Error) -> str:
    """Markdown for the result area: the problem's title and reason (already escaped by error())."""
    return f"### ⚠️ {exc.title or 'Cannot analyse this audio'}\n\n{exc.message}"


def intro(resources) -> str:
    """The page's header (Markdown): what the model does, which model it is, how good it is."""
    predictor = resources.predictor
    labels = ", ".join(predictor.labels)
    if ravdess_labels(predictor):
        from .crosscorpus import trained_on_text  # the corpora its speakers come from

        speakers = trained_on_text(predictor.checkpoint_info.get("train_actors")) or "the RAVDESS corpus"
        trained_on, labels = f"a model trained on {speakers}", f"eight acted emotions ({labels})"
    else:  # a checkpoint trained on a manifest: its own labels and corpus
        corpus = ((resources.metrics or {}).get("split") or {}).get("corpus")
        trained_on = f"a model trained on `{corpus}`" if corpus else "the model"
        labels = f"{len(predictor.labels)} labels ({labels})"
    return f"""# Speech emotion recognition

Record or upload speech, a sentence or a longer recording; {trained_on} guesses which of
{labels} it sounds like. Longer recordings get an emotion timeline; the *Live* tab follows the
microphone as you speak.

**Model:** {predictor.description}.

{summary_text(resources.metrics)}
"""


def footer() -> str:
    """The page's footer (Markdown): the model card, the licences, what the model is not for."""
    from .settings import MODEL_CARD

    return (
        f"[Model card](gradio_api/file={MODEL_CARD}): what the model was trained on, how well it does on whom, "
        "and what it must not be used for (hiring, lie detection, diagnosis, surveillance, decisions about "
        "people). Code MIT; model CC BY-NC-SA 4.0, trained on RAVDESS (Livingstone & Russo 2018) and EmoDB "
        "(Burkhardt et al. 2005)."
    )

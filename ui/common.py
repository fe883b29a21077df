"""Helpers every tab uses: user-facing errors, the panel that keeps them on screen, the upload
limit's words (and the page script that says them in time), the page header."""

from __future__ import annotations

import html
import json

import gradio as gr

from emotion.report import summary_text

from .settings import MAX_FILE_SIZE, ravdess_labels

UPLOAD_HINT = (f"Upload limit {MAX_FILE_SIZE.upper()}: about 10 min of 16 kHz mono WAV, 1.7 min of 48 kHz "
               "stereo WAV or 20 min of MP3. A larger file: trim it, or run "
               "`python -m emotion.predict --timeline FILE` on your own machine (no limit but 30 min).")
TOO_BIG = (f"This file is over the {MAX_FILE_SIZE.upper()} upload limit, so it was not sent. Trim it "
           "(or save it as MP3), or run <code>python -m emotion.predict --timeline FILE</code> on your own machine.")


def upload_limit_js() -> str:
    """A <script> for launch(head=...): Gradio refuses a file over max_file_size in the browser,
    with a bare "exceed the maximum allowed size"; this writes what to do into #upload-hint."""
    limit = gr.utils._parse_file_size(MAX_FILE_SIZE)
    return ("<script>document.addEventListener('change', (e) => {"
            "const t = e.target; if (!t || !t.matches || !t.matches('#speech-input input[type=file]')) return;"
            f"const big = Array.from(t.files || []).some((f) => f.size > {limit});"
            "const hint = document.querySelector('#upload-hint'); if (!hint || !big) return;"
            f"hint.innerHTML = '<p class=\"upload-too-big\" style=\"color:var(--error-text-color,#b91c1c)\">' + {json.dumps(TOO_BIG)} + '</p>';"
            "}, true);</script>")


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
        trained_on, labels = "a model trained on the RAVDESS corpus", f"eight acted emotions ({labels})"
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

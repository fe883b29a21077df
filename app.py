"""Gradio app: speech emotion recognition trained on RAVDESS (Whisper-base encoder or CNN, per checkpoint).

    python app.py [--checkpoint PATH] [--data-dir RAVDESS_DIR]   # then open http://127.0.0.1:7860

Wiring only: each tab lives in ui/ (analyze, live, examples, metrics), its settings in
ui/settings.py, and all inference in the emotion package. API endpoints: /predict (label,
plots, note), /probabilities (JSON: every probability, the judged span, for long input the
timeline), /timeline (a whole recording: plot, table, CSV; speakers "auto" or N optional),
/transcript, /example, /recompute_metrics.
`demo` is importable, as Hugging Face Spaces expects.
"""

from __future__ import annotations

import argparse
import gc

import gradio as gr

from ui import analyze, examples, live, metrics, settings
from ui.common import PAGE_CSS, footer, intro, upload_limit_js

settings.tune_process()

if __name__ == "__main__":  # command-line choices; on import (Spaces) the environment decides
    _ap = argparse.ArgumentParser(description="Speech emotion recognition app")
    _ap.add_argument("--checkpoint", help="checkpoint .pt (default checkpoints/emotion.pt)")
    _ap.add_argument("--data-dir", help="local RAVDESS folder for the Examples and Metrics tabs")
    _args = _ap.parse_known_args()[0]
    settings.configure(checkpoint=_args.checkpoint, data_dir=_args.data_dir)

RESOURCES = settings.resources()
# head: a script that says what to do when a file is over the upload limit; css: the layout at
# phone and laptop widths (both in ui/common.py)
LAUNCH_KWARGS = {**settings.launch_kwargs(), "head": upload_limit_js(), "css": PAGE_CSS}
# The bundled clips and the dataset folder are served in place, not copied into Gradio's cache:
# DELETE_CACHE would delete such copies while gr.Examples and the Examples tab still point at them.
gr.set_static_paths(RESOURCES.allowed_paths)

INTRO = intro(RESOURCES)

with gr.Blocks(title="Speech emotion recognition", delete_cache=settings.DELETE_CACHE) as demo:
    gr.Markdown(INTRO)
    with gr.Tabs() as TABS:
        ANALYZE = analyze.build()  # its components, for benchmarks and tests
        live.build()
        # the Examples tab browses RAVDESS clips against RAVDESS labels: only for such a checkpoint
        EXAMPLES = examples.build() if settings.ravdess_labels(RESOURCES.predictor) else None
        METRICS = metrics.build()
    gr.Markdown(footer(), elem_id="footer")
    if EXAMPLES is not None:  # a click on a cell of the Metrics tab's confusion matrix opens its clips
        examples.wire_confusion(METRICS.heatmap, METRICS.audio_only, TABS, EXAMPLES)

demo.queue(default_concurrency_limit=settings.DEFAULT_CONCURRENCY_LIMIT, max_size=settings.QUEUE_MAX_SIZE)

# Everything loaded so far (torch, gradio, the model, the index) lives as long as the server:
# move it out of the garbage collector's view, so that the full collections that matplotlib's
# per-request figures trigger scan only new objects (they were the p95 latency spikes).
gc.freeze()


if __name__ == "__main__":
    demo.launch(**LAUNCH_KWARGS)

"""The Metrics tab: the shipped out-of-fold metrics (confusion matrices, per-class table, split,
reliability diagram), and a recompute on a local dataset. API: /recompute_metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import gradio as gr

from emotion import metric_plots
from emotion.report import per_class_table, split_text
from emotion.scoring import recompute_metrics

from .common import error
from .settings import RECOMPUTE_CONCURRENCY_LIMIT, resources


def metrics_outputs(metrics: Optional[dict], status: str = ""):
    """Everything the Metrics tab shows, from a metrics dict (None: nothing measured yet)."""
    if not metrics:
        return ("No metrics.json next to the checkpoint. Press *Recompute* with a local dataset.",
                None, None, None, "", None, status)
    summary = (f"**Accuracy {metrics['accuracy']:.1%}** · macro-F1 {metrics['macro_f1']:.3f} · "
               f"macro precision {metrics['macro_precision']:.3f} · macro recall "
               f"{metrics['macro_recall']:.3f} · n = {metrics['n']} clips · chance "
               f"{1 / len(metrics['labels']):.1%}\n\n"
               f"Calibration: ECE {metrics['ece']:.3f} before, {metrics['ece_calibrated']:.3f} after "
               f"temperature scaling (T = {metrics['temperature']:.2f}).")
    labels = metrics["labels"]
    return (
        summary,
        metric_plots.confusion(metrics["confusion_matrix"], labels),
        metric_plots.confusion(metrics["confusion_matrix"], labels, normalize=True),
        per_class_table(metrics),
        split_text(metrics),
        metric_plots.reliability(metrics["reliability"], metrics.get("reliability_uncalibrated"),
                          ece=metrics["ece_calibrated"], ece_before=metrics["ece"]),
        status,
    )


def recompute(progress=gr.Progress()):
    """Out-of-fold metrics on the configured dataset with the checkpoint's fold models."""
    data_dir = resources().examples_dir
    try:
        metrics = recompute_metrics(resources().predictor, data_dir, progress=lambda f, d: progress(f, desc=d))
    except (FileNotFoundError, ValueError) as exc:
        raise error(str(exc), title="Cannot recompute") from None
    status = f"Recomputed on `{Path(data_dir).name}/` ({metrics['n']} speech clips); not saved to disk."
    if resources().data_dir is None:
        status += (" These are only the bundled example clips, far too few to measure accuracy: "
                   "start the app with --data-dir (or EMOTION_DATA_DIR) set to a RAVDESS copy.")
    return metrics_outputs(metrics, status)


def build() -> None:
    """The tab's layout and events, inside the current gr.Blocks."""
    with gr.Tab("Metrics", id="metrics"):
        # Built from metrics.json once, at start: the tab shows at once, with no request.
        (summary0, counts0, norm0, table0, split0, rel0, _) = metrics_outputs(resources().metrics)
        m_summary = gr.Markdown(summary0)
        with gr.Row():
            m_counts = gr.Plot(counts0, label="Confusion matrix (counts)", format="png", show_label=False,
                               elem_id="confusion-counts")
            m_norm = gr.Plot(norm0, label="Confusion matrix (row-normalised)", format="png", show_label=False,
                             elem_id="confusion-normalised")
        with gr.Row():
            with gr.Column(scale=3):
                m_table = gr.Dataframe(table0, label="Per class", interactive=False)
                m_split = gr.Markdown(split0)
            m_rel = gr.Plot(rel0, label="Reliability diagram", format="png", show_label=False, scale=2)
        recompute_btn = gr.Button(f"Recompute on local dataset ({resources().examples_dir.name}/)")
        m_status = gr.Markdown()
    metrics_components = [m_summary, m_counts, m_norm, m_table, m_split, m_rel, m_status]

    recompute_btn.click(recompute, None, metrics_components, api_name="recompute_metrics",
                        concurrency_limit=RECOMPUTE_CONCURRENCY_LIMIT, concurrency_id="recompute")

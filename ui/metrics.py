"""The Metrics tab: the shipped out-of-fold metrics (a confusion matrix whose cells open their
clips, the row-normalised matrix, per-class table, accuracy per held-out actor, split,
reliability diagram), and a recompute on local clips, labelled as such in its headline (n and
source) until "Show shipped figures" brings the shipped ones back. API: /recompute_metrics."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import gradio as gr

from emotion.charts import metric_plots
from emotion.evaluation.report import confusion_frame, per_actor_table, per_class_table, split_text
from emotion.evaluation.scoring import recompute_metrics

from . import crosscorpus
from .common import described_plot, error
from .settings import RECOMPUTE_CONCURRENCY_LIMIT, ravdess_labels, resources

SHIPPED_SOURCE = "shipped"


def heatmap(matrix, labels):
    """The confusion matrix as a styled table (a blue heat map over the counts)."""
    frame = confusion_frame(matrix, labels)
    vmax = max(1, int(frame[list(labels)].to_numpy().max()))
    return frame.style.background_gradient(cmap="Blues", vmin=0, vmax=vmax, subset=list(labels)).set_properties(
        subset=["total"], **{"color": "#666"}
    )


def shipped_predictions() -> dict:
    """{clip id: predicted emotion} of the out-of-fold table (the shipped figures' clips)."""
    f = resources().library.frame
    f = f[f["predicted"] != ""]
    return dict(zip(f["id"], f["predicted"]))


def headline(metrics: dict, source: str) -> str:
    """Where the figures come from (source, n), in the first line, then the figures."""
    shipped = resources().metrics
    if source == SHIPPED_SOURCE:
        origin = (
            f"**Shipped figures** — out-of-fold predictions of the shipped model on "
            f"n = {metrics['n']} clips, from `{resources().metrics_path.name}`."
        )
    else:
        origin = f"⚠️ **Recomputed on {source}, n = {metrics['n']} clips — not the shipped figures.**"
        if shipped:
            origin += (
                f" The shipped figures: accuracy {shipped['accuracy']:.1%} on n = {shipped['n']} "
                "clips; *Show shipped figures* brings them back."
            )
    return (
        f"{origin}\n\n"
        f"**Accuracy {metrics['accuracy']:.1%}** · macro-F1 {metrics['macro_f1']:.3f} · "
        f"macro precision {metrics['macro_precision']:.3f} · macro recall "
        f"{metrics['macro_recall']:.3f} · n = {metrics['n']} clips · chance "
        f"{1 / len(metrics['labels']):.1%}\n\n"
        f"{calibration_text(metrics, source)}"
    )


def calibration_text(metrics: dict, source: str) -> str:
    """The calibration line: the shipped ensemble's figures and temperature (the one the app
    applies) where metrics.json has them; a single fold model's T is not the app's."""
    applied = resources().predictor.temperature
    ensemble = metrics.get("ensemble_calibration") if source == SHIPPED_SOURCE else None
    if ensemble:
        text = (
            f"Calibration of the shipped ensemble (the mean of the fold heads, as the app runs it): ECE "
            f"{ensemble['ece']:.3f} before, {ensemble['ece_calibrated']:.3f} after temperature scaling "
            f"(T = {ensemble['temperature']:.2f}). One fold model alone (the diagram): ECE {metrics['ece']:.3f} "
            f"before, {metrics['ece_calibrated']:.3f} after (T = {metrics['temperature']:.2f})."
        )
        shown = ensemble["temperature"]
    else:
        text = (
            f"Calibration: ECE {metrics['ece']:.3f} before, {metrics['ece_calibrated']:.3f} after "
            f"temperature scaling (T = {metrics['temperature']:.2f})."
        )
        shown = metrics["temperature"]
    if round(shown, 2) != round(applied, 2):
        text += f" The app applies T = {applied:.2f} (the checkpoint's)."
    before, after = (ensemble or metrics)["ece"], (ensemble or metrics)["ece_calibrated"]
    if after > before:  # an honest fit can read worse here: say why rather than hide it
        text += (
            f" The temperature was fitted by log-likelihood, not to this binned ECE, and the raw model "
            f"was already close to calibrated: on these clips ECE reads {after - before:.3f} worse after "
            "it (ECE on ~1,000 clips moves about 0.01 between binnings)."
        )
    return text


def metrics_outputs(
    metrics: Optional[dict], status: str = "", source: str = SHIPPED_SOURCE, predictions: Optional[dict] = None
):
    """Everything the Metrics tab shows, from a metrics dict (None: nothing measured yet):
    headline, confusion heat map, row-normalised matrix, per-class table, split, reliability
    diagram, per-actor accuracy, status, and whether cells list only clips with audio here."""
    if not metrics:
        return (
            "No metrics.json next to the checkpoint. Press *Recompute* with a local dataset.",
            None,
            None,
            None,
            "",
            None,
            None,
            status,
            False,
        )
    labels = metrics["labels"]
    if predictions is None:
        predictions = metrics.get("predictions") or (shipped_predictions() if source == SHIPPED_SOURCE else {})
    actors = per_actor_table(predictions)
    return (
        headline(metrics, source),
        heatmap(metrics["confusion_matrix"], labels),
        metric_plots.confusion(metrics["confusion_matrix"], labels, normalize=True),
        per_class_table(metrics),
        split_text(metrics),
        metric_plots.reliability(
            metrics["reliability"],
            metrics.get("reliability_uncalibrated"),
            ece=metrics["ece_calibrated"],
            ece_before=metrics["ece"],
        ),
        metric_plots.per_actor(actors, overall=metrics["accuracy"]) if len(actors) else None,
        status,
        source != SHIPPED_SOURCE,
    )


def confusion_widths(n: int) -> list:
    """Column widths of the counts table (true emotion, n predicted, total), in % of the panel:
    equal count columns, so that all fit at phone width as at laptop width."""
    count = 72 // (n + 1)
    return [f"{100 - count * (n + 1)}%"] + [f"{count}%"] * (n + 1)


def cell_hint() -> str:
    """Under the counts table: what a click does, and how many of the clips can play here."""
    library = resources().library
    scored = library.frame[library.frame["predicted"] != ""]
    here = int(scored["audio"].sum())
    return (
        f"Click a cell to list its clips in the *Examples* tab (a true emotion's name or total: all its "
        f"clips). **{here} of the {len(scored)} clips have audio here** and play; the others show "
        "their prediction only (start the app with `--data-dir` to hear all of them)."
    )


def recompute_source() -> str:
    """The recompute's data in words: the bundled clips, or the configured dataset."""
    folder = f"{resources().examples_dir.name}/"
    return f"the bundled clips ({folder})" if resources().data_dir is None else f"your dataset ({folder})"


def recompute(progress=gr.Progress()):
    """Out-of-fold metrics on the configured dataset with the checkpoint's fold models."""
    data_dir = resources().examples_dir
    try:
        metrics = recompute_metrics(resources().predictor, data_dir, progress=lambda f, d: progress(f, desc=d))
    except (FileNotFoundError, ValueError) as exc:
        raise error(str(exc), title="Cannot recompute") from None
    status = (
        f"Recomputed on `{Path(data_dir).name}/` ({metrics['n']} speech clips); not saved to disk. "
        "A click on a cell lists the clips with audio here."
    )
    if resources().data_dir is None:
        status += (
            " These are only the bundled clips, a sample too small to measure accuracy "
            "precisely: start the app with --data-dir (or EMOTION_DATA_DIR) set to a RAVDESS copy."
        )
    return metrics_outputs(metrics, status, source=recompute_source())


def show_shipped():
    """The shipped figures (metrics.json and the out-of-fold table) again."""
    return metrics_outputs(resources().metrics, "Showing the shipped figures.")


def wide_plot(spec, label: str, **kwargs):
    """A Vega-Lite chart (emotion.charts.metric_plots) as wide as its panel, labelled for screen readers
    only: on a phone it fits the screen, titles and labels whole (issue 33, item 12)."""
    return described_plot(spec, label=label, show_label=False, elem_classes=["vega-chart"], **kwargs)


def build() -> SimpleNamespace:
    """The tab's layout and events, inside the current gr.Blocks; returns the confusion table
    and the state telling whether its cells list only clips with audio (for app.py's wiring)."""
    with gr.Tab("Metrics", id="metrics"):
        # Built from metrics.json once, at start: the tab shows at once, with no request.
        (summary0, heat0, norm0, table0, split0, rel0, actors0, _, _) = metrics_outputs(resources().metrics)
        m_summary = gr.Markdown(summary0, elem_id="metrics-headline", label="Headline figures and their source")
        # the counts table has a row of its own: beside a plot at 1366 px it lost "surprised"
        # and "total"; on a phone .compact-table fits all its columns (ui/common.py PAGE_CSS)
        n = len((resources().metrics or {}).get("labels") or [])
        m_heat = gr.Dataframe(
            heat0,
            interactive=False,
            elem_id="confusion-counts",
            elem_classes=["compact-table"],
            label="Confusion matrix (counts; rows true, columns predicted)",
            column_widths=confusion_widths(n) if n else None,
        )
        gr.Markdown(cell_hint(), elem_id="confusion-hint")
        with gr.Row():
            m_norm = wide_plot(
                norm0, "Confusion matrix (row-normalised)", elem_id="confusion-normalised", min_width=300
            )
            m_rel = wide_plot(rel0, "Reliability diagram", min_width=300, elem_id="reliability")
        with gr.Row():
            with gr.Column(min_width=300):
                m_table = gr.Dataframe(
                    table0, label="Per class", interactive=False, elem_id="per-class", elem_classes=["compact-table"]
                )
            with gr.Column(min_width=300):
                m_split = gr.Markdown(split0, label="Evaluation split", elem_id="metrics-split")
        m_actors = wide_plot(actors0, "Accuracy per held-out actor", elem_id="per-actor")
        crosscorpus.section()  # speakers and corpora never heard (crosscorpus.json beside the checkpoint)
        # a recompute scores RAVDESS clips: only for a checkpoint with the RAVDESS labels
        with gr.Row(visible=ravdess_labels(resources().predictor)):
            recompute_btn = gr.Button(f"Recompute on {recompute_source()}", elem_id="recompute")
            shipped_btn = gr.Button("Show shipped figures", elem_id="show-shipped")
        m_status = gr.Markdown(label="Recompute status")
        audio_only = gr.State(False)
    outputs = [m_summary, m_heat, m_norm, m_table, m_split, m_rel, m_actors, m_status, audio_only]

    recompute_btn.click(
        recompute,
        None,
        outputs,
        api_name="recompute_metrics",
        concurrency_limit=RECOMPUTE_CONCURRENCY_LIMIT,
        concurrency_id="recompute",
    )
    shipped_btn.click(show_shipped, None, outputs, api_name="shipped_metrics")
    return SimpleNamespace(heatmap=m_heat, audio_only=audio_only)

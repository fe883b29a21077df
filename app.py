"""Gradio app: speech emotion recognition with a CNN-BiLSTM trained on RAVDESS.

    python app.py [--data-dir RAVDESS_DIR]     # then open http://127.0.0.1:7860

Wiring only: inference is emotion.Predictor, figures are emotion.plots, the Examples and
Metrics logic is emotion.examples. Configuration, all optional:

    EMOTION_CHECKPOINT   the .pt file (default checkpoints/emotion.pt); metrics.json and
                         oof_predictions.csv are read from the same folder
    EMOTION_DATA_DIR     a local RAVDESS copy for the Examples tab and the metrics recompute
                         (same as --data-dir; default: the 18 clips in assets/ravdess)
    GRADIO_SERVER_NAME / GRADIO_SERVER_PORT   read by Gradio's launch() itself
                         (default 127.0.0.1:7860; 0.0.0.0 to serve the local network)
"""

from __future__ import annotations

import argparse
import html
import os
from pathlib import Path
from typing import Optional

import gradio as gr
import soundfile as sf

from emotion import EMOTIONS, AudioError, Predictor
from emotion import plots
from emotion.audio import CLIP_SECONDS, SAMPLE_RATE
from emotion.examples import (ANY, DEFAULT_EXAMPLES_DIR, ClipError, ExampleLibrary,
                              configured_data_dir, load_metrics, per_class_table, recompute_metrics,
                              split_text, summary_text)
from emotion.data import STATEMENTS

ROOT = Path(__file__).resolve().parent
CHECKPOINT = Path(os.environ.get("EMOTION_CHECKPOINT") or ROOT / "checkpoints" / "emotion.pt").resolve()
METRICS_PATH = CHECKPOINT.with_name("metrics.json")
OOF_PATH = CHECKPOINT.with_name("oof_predictions.csv")
ASSETS = ROOT / "assets"
EXAMPLE_WAVS = sorted((ASSETS / "examples").glob("*.wav"))

# One prediction takes well under a second of CPU and torch already spreads it over the
# machine's cores, so running many at once only makes each slower and multiplies memory.
# Two at a time keeps a short request from waiting behind another; the rest queue.
DEFAULT_CONCURRENCY_LIMIT = 2
# The metrics recompute scores a whole dataset (tens of seconds): one at a time, in its own
# slot (concurrency_id) so that it never holds up predictions.
RECOMPUTE_CONCURRENCY_LIMIT = 1
# Beyond this many waiting requests new ones are refused with "queue full" instead of waiting
# minutes: a bounded queue is the app's protection against being flooded.
QUEUE_MAX_SIZE = 32
# Uploads: a 60-s 48 kHz stereo 16-bit WAV is 11.5 MB; 20 MB leaves room for that and refuses
# huge files before they are read.
MAX_FILE_SIZE = "20mb"
# The model hears 3 s; longer input is only trimmed and centre-cropped. One minute is plenty.
MAX_SECONDS = 60.0


def _cli_data_dir() -> Optional[str]:
    """--data-dir when this file is run as a program (ignored on import)."""
    if __name__ != "__main__":
        return None
    ap = argparse.ArgumentParser(description="Speech emotion recognition app")
    ap.add_argument("--data-dir", help="local RAVDESS folder for the Examples and Metrics tabs")
    return ap.parse_known_args()[0].data_dir


DATA_DIR = configured_data_dir(_cli_data_dir())  # None: the bundled assets/ravdess clips
PREDICTOR = Predictor.from_checkpoint(CHECKPOINT)
LIBRARY = ExampleLibrary(PREDICTOR, DATA_DIR, OOF_PATH)
METRICS = load_metrics(METRICS_PATH)

# Files the app may serve: the bundled clips and, when configured, the dataset folder.
ALLOWED_PATHS = [str(ASSETS)] + ([str(DATA_DIR)] if DATA_DIR else [])
LAUNCH_KWARGS = dict(max_file_size=MAX_FILE_SIZE, allowed_paths=ALLOWED_PATHS)


def _error(message: str, title: str = "Cannot analyse this audio") -> gr.Error:
    # gr.Error renders its message as HTML: escape it. No traceback for expected errors.
    return gr.Error(html.escape(str(message), quote=False), title=title, print_exception=False)


# ----- Analyze ---------------------------------------------------------------------------

def clear_analysis():
    """Empty outputs, so that no earlier prediction stays beside new or failed input."""
    return None, None, None, None, ""


def analyze(audio_path: Optional[str]):
    """Top-3 label, waveform, spectrogram of what the model heard, all 8 probabilities, a note."""
    if not audio_path:
        raise _error("No audio yet: record with the microphone or upload a file, then press Analyze.")
    try:
        seconds = sf.info(audio_path).duration
    except Exception:
        seconds = None  # unreadable headers: let the predictor give its own message
    if seconds is not None and seconds > MAX_SECONDS:
        raise _error(f"The audio is too long ({seconds:.0f} s); the limit here is {MAX_SECONDS:.0f} s. "
                     "The model judges 3 s of speech: upload one or two sentences.")
    try:
        result = PREDICTOR.analyze(audio_path)
    except AudioError as exc:
        raise _error(str(exc)) from None
    start, end = result.speech
    speech_s = (end - start) / SAMPLE_RATE
    if speech_s > CLIP_SECONDS:
        note = (f"The model heard the middle {CLIP_SECONDS:g} s of {speech_s:.1f} s of detected speech "
                "(shaded in the waveform). For a long recording, analyse one sentence at a time.")
    else:
        note = (f"The model heard all {speech_s:.1f} s of detected speech (shaded), padded with "
                f"silence to {CLIP_SECONDS:g} s.")
    return (
        result.probabilities,
        plots.waveform(result.wave, SAMPLE_RATE, result.speech),
        plots.spectrogram(result.mel),
        plots.probabilities(result.probabilities),
        note,
    )


# ----- Examples --------------------------------------------------------------------------

def filter_examples(emotion, actor, sex, intensity, statement, channel):
    """Matching clips: the clip dropdown (first one chosen), a count, and the table."""
    try:
        rows = LIBRARY.filter(emotion, actor, sex, intensity, statement, channel)
    except ClipError as exc:
        raise _error(str(exc), title="Invalid filter") from None
    choices = LIBRARY.choices(rows)
    first = choices[0][1] if choices else None
    count = f"{len(rows)} matching clip{'s' if len(rows) != 1 else ''} in `{LIBRARY.data_dir.name}/`"
    return gr.update(choices=choices, value=first), count, LIBRARY.table(rows)


def pick_row(evt: gr.SelectData):
    """A click in the table chooses that row's clip in the dropdown."""
    row = evt.row_value or []
    return gr.update(value=row[0]) if row else gr.update()


def show_example(clip_id: Optional[str]):
    """The clip (to play), its true label against the model's top 3 (✓/✗), and the fairness note."""
    if not clip_id:
        return None, "Choose a clip.", None
    try:
        r = LIBRARY.evaluate(clip_id)
    except ClipError as exc:
        raise _error(str(exc), title="Unknown clip") from None
    except AudioError as exc:
        raise _error(str(exc)) from None
    mark = "✓ right" if r.correct else "✗ wrong"
    tops = ", ".join(f"{name} {p:.0%}" for name, p in r.top3)
    warn = "⚠️ " if not r.fair else ""
    text = (f"**True emotion: {r.emotion}** ({r.intensity}) · actor {r.actor} ({r.sex}) · "
            f"{r.channel} · “{r.statement}”\n\n"
            f"**Model: {r.predicted} — {mark}** (top 3: {tops})\n\n"
            f"{warn}_{r.note}._")
    return r.path, text, r.probabilities


# ----- Metrics ---------------------------------------------------------------------------

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
        plots.confusion(metrics["confusion_matrix"], labels),
        plots.confusion(metrics["confusion_matrix"], labels, normalize=True),
        per_class_table(metrics),
        split_text(metrics),
        plots.reliability(metrics["reliability"], metrics.get("reliability_uncalibrated"),
                          ece=metrics["ece_calibrated"], ece_before=metrics["ece"]),
        status,
    )


def recompute(progress=gr.Progress()):
    """Out-of-fold metrics on the configured dataset with the checkpoint's fold models."""
    data_dir = DATA_DIR or DEFAULT_EXAMPLES_DIR
    try:
        metrics = recompute_metrics(PREDICTOR, data_dir, progress=lambda f, d: progress(f, desc=d))
    except (FileNotFoundError, ValueError) as exc:
        raise _error(str(exc), title="Cannot recompute") from None
    status = f"Recomputed on `{Path(data_dir).name}/` ({metrics['n']} speech clips); not saved to disk."
    if DATA_DIR is None:
        status += (" These are only the bundled example clips, far too few to measure accuracy: "
                   "start the app with --data-dir (or EMOTION_DATA_DIR) set to a RAVDESS copy.")
    return metrics_outputs(metrics, status)


# ----- Layout ----------------------------------------------------------------------------

INTRO = f"""# Speech emotion recognition

Record or upload a spoken sentence; a CNN-BiLSTM trained on the RAVDESS corpus guesses which of
eight acted emotions ({", ".join(EMOTIONS)}) it sounds like.

{summary_text(METRICS)}
"""

with gr.Blocks(title="Speech emotion recognition") as demo:
    gr.Markdown(INTRO)
    # Outputs are created first (unrendered) so that gr.Examples can run the analysis on click.
    top3 = gr.Label(num_top_classes=3, label="Top 3 emotions", render=False)
    note = gr.Markdown(render=False)
    wave_plot = gr.Plot(label="Waveform", format="png", show_label=False, render=False)
    bars_plot = gr.Plot(label="All 8 probabilities", format="png", show_label=False, render=False)
    spec_plot = gr.Plot(label="What the model heard", format="png", show_label=False, render=False)
    analysis_outputs = [top3, wave_plot, spec_plot, bars_plot, note]
    with gr.Tab("Analyze", id="analyze"):
        with gr.Row():
            with gr.Column(scale=1):
                audio_in = gr.Audio(sources=["microphone", "upload"], type="filepath",
                                    label="Speech (2-4 s, one sentence)", elem_id="speech-input")
                analyze_btn = gr.Button("Analyze", variant="primary")
                gr.Examples([[str(p)] for p in EXAMPLE_WAVS], inputs=[audio_in], outputs=analysis_outputs,
                            fn=analyze, run_on_click=True, cache_examples=False,
                            label="RAVDESS examples (one click loads and analyses)")
            with gr.Column(scale=1):
                top3.render()
                note.render()
                bars_plot.render()
        wave_plot.render()
        spec_plot.render()

    with gr.Tab("Examples", id="examples"):
        options = LIBRARY.options()
        gr.Markdown(
            f"Clips from `{LIBRARY.data_dir.name}/` with their true label. The model is judged "
            "fairly: actors it trained on are scored by the fold model that never heard them "
            "(out-of-fold); where no such model exists the result is marked *not a fair test*.")
        with gr.Row():
            f_emotion = gr.Dropdown(options["emotion"], value=ANY, label="Emotion")
            f_actor = gr.Dropdown(options["actor"], value=ANY, label="Actor")
            f_sex = gr.Dropdown(options["sex"], value=ANY, label="Sex")
            f_intensity = gr.Dropdown(options["intensity"], value=ANY, label="Intensity")
            f_statement = gr.Dropdown(
                [(ANY, ANY)] + [(f"{s}: {STATEMENTS[s]}", s) for s in options["statement"][1:]],
                value=ANY, label="Statement")
            f_channel = gr.Dropdown(options["channel"], value=ANY, label="Speech / song")
        filters = [f_emotion, f_actor, f_sex, f_intensity, f_statement, f_channel]
        first_rows = LIBRARY.filter()
        clip_dd = gr.Dropdown(LIBRARY.choices(first_rows), value=None, label="Clip", allow_custom_value=True,
                              info="choose from the list (or type a clip id)")
        count_md = gr.Markdown(f"{len(first_rows)} matching clips in `{LIBRARY.data_dir.name}/`")
        with gr.Row():
            with gr.Column():
                clip_audio = gr.Audio(label="Clip", type="filepath", interactive=False, elem_id="example-audio")
                verdict = gr.Markdown()
            clip_label = gr.Label(num_top_classes=3, label="Model's top 3")
        table = gr.Dataframe(LIBRARY.table(first_rows), interactive=False, max_height=320,
                             label="Matching clips (click a row to choose it)")

    with gr.Tab("Metrics", id="metrics"):
        # Built from metrics.json once, at start: the tab shows at once, with no request.
        (summary0, counts0, norm0, table0, split0, rel0, _) = metrics_outputs(METRICS)
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
        recompute_btn = gr.Button(f"Recompute on local dataset ({(DATA_DIR or DEFAULT_EXAMPLES_DIR).name}/)")
        m_status = gr.Markdown()
    metrics_components = [m_summary, m_counts, m_norm, m_table, m_split, m_rel, m_status]

    # Analyze: clear first (so an error never leaves an old prediction on screen), then predict.
    analyze_btn.click(clear_analysis, None, analysis_outputs, queue=False, api_visibility="private") \
        .then(analyze, audio_in, analysis_outputs, api_name="predict")
    for event in (audio_in.upload, audio_in.stop_recording, audio_in.clear):
        event(clear_analysis, None, analysis_outputs, queue=False, api_visibility="private")

    for f in filters:
        f.change(filter_examples, filters, [clip_dd, count_md, table], api_visibility="private")
    table.select(pick_row, None, clip_dd, api_visibility="private")
    clip_dd.change(show_example, clip_dd, [clip_audio, verdict, clip_label], api_name="example")

    recompute_btn.click(recompute, None, metrics_components, api_name="recompute_metrics",
                        concurrency_limit=RECOMPUTE_CONCURRENCY_LIMIT, concurrency_id="recompute")

demo.queue(default_concurrency_limit=DEFAULT_CONCURRENCY_LIMIT, max_size=QUEUE_MAX_SIZE)


if __name__ == "__main__":
    demo.launch(**LAUNCH_KWARGS)

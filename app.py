"""Gradio app: speech emotion recognition trained on RAVDESS (Whisper-base encoder or CNN, per checkpoint).

    python app.py [--data-dir RAVDESS_DIR]     # then open http://127.0.0.1:7860

Wiring only: inference is emotion.Predictor (with Predictor.timeline for long recordings),
the saliency map emotion.explain, the live microphone emotion.live, figures emotion.plots, the
Examples and Metrics logic emotion.examples. API endpoints: /predict (one sentence), /timeline
(a whole recording: plot, table, CSV), /example, /recompute_metrics. Configuration, all optional:

    EMOTION_CHECKPOINT   the .pt file (default checkpoints/emotion.pt); metrics.json and
                         oof_predictions.csv are read from the same folder
    EMOTION_DATA_DIR     a local RAVDESS copy for the Examples tab and the metrics recompute
                         (same as --data-dir; default: the 18 clips in assets/ravdess)
    GRADIO_SERVER_NAME / GRADIO_SERVER_PORT   read by Gradio's launch() itself
                         (default 127.0.0.1:7860; 0.0.0.0 to serve the local network)
"""

from __future__ import annotations

import ctypes
import gc
import sys

if sys.platform.startswith("linux"):  # one malloc arena per server thread grows RSS ~100 MB under load
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX = 2
    except (OSError, AttributeError):
        pass

import argparse
import hashlib
import html
import os
import re
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import gradio as gr
import soundfile as sf

from emotion import EMOTIONS, AudioError, Predictor
from emotion import audio as audio_io
from emotion import plots
from emotion.audio import CLIP_SECONDS, SAMPLE_RATE
from emotion.timeline import file_envelope
from emotion.live import HISTORY_SECONDS, LISTENING, LiveSession
from emotion.timeline import SINGLE_WINDOW_SECONDS
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
# /timeline reads a recording window by window in bounded memory, up to 30 minutes
# (emotion.audio.MAX_SECONDS). In practice the upload limit above caps it first: 20 MB hold
# about 10 min of 16 kHz mono 16-bit WAV, 1.7 min of 48 kHz stereo WAV, 20 min of 128 kbit/s MP3.
TIMELINE_MAX_SECONDS = audio_io.MAX_SECONDS
# Analyze also shows the timeline for input longer than the model's window and a margin (a
# RAVDESS sentence with its silences lasts up to 4.5 s), when it holds more than one window.
TIMELINE_MIN_SECONDS = CLIP_SECONDS + 1.0
# A long recording keeps a CPU core busy for a while (10 min of audio: about 4 s per model of
# the ensemble, benchmarks/bench_timeline.py): one at a time.
TIMELINE_CONCURRENCY_LIMIT = 1
# Live microphone: an update (the last 3 s judged, the rolling plot redrawn) once per
# LIVE_UPDATE_SECONDS of audio. Gradio 6.31's Audio sends 0.1-s chunks whatever stream_every
# says, and while a handler runs it keeps only the newest chunk: so the handler only buffers
# each chunk (a few ms) and the update's work (tens of ms of model, ~0.1 s with the plot) runs
# in LIVE_WORKERS. A stream holds its concurrency slot for as long as it runs, hence its own
# slots and a time limit (after which the user presses record again).
LIVE_UPDATE_SECONDS = 1.0
LIVE_CHUNK_SECONDS = 0.1  # stream_every: what the browser sends anyway; an update shows <= 0.1 s after it is ready
LIVE_TIME_LIMIT = 300
LIVE_CONCURRENCY_LIMIT = 4
LIVE_WORKERS = ThreadPoolExecutor(max_workers=LIVE_CONCURRENCY_LIMIT, thread_name_prefix="live-update")
# Uploads, streamed microphone chunks and the timeline CSVs live in Gradio's cache: every 30
# minutes, files older than an hour are deleted (and all of them when the server restarts).
DELETE_CACHE = (1800, 3600)


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
LAUNCH_KWARGS = dict(share=False,  # never a public link, even with GRADIO_SHARE=true
                     max_file_size=MAX_FILE_SIZE, allowed_paths=ALLOWED_PATHS)
# ... served in place, not copied into Gradio's cache: DELETE_CACHE would delete such copies
# while gr.Examples and the Examples tab still point at them.
gr.set_static_paths(ALLOWED_PATHS)


def _error(message: str, title: str = "Cannot analyse this audio") -> gr.Error:
    # gr.Error renders its message as HTML: escape it. No traceback for expected errors.
    return gr.Error(html.escape(str(message), quote=False), title=title, print_exception=False)


# ----- Analyze ---------------------------------------------------------------------------

def clear_analysis():
    """Empty outputs, so that no earlier prediction stays beside new or failed input."""
    return None, None, None, None, ""


def _duration(audio_path: str) -> Optional[float]:
    try:
        return sf.info(audio_path).duration
    except Exception:
        return None  # unreadable headers: let the predictor give its own message


def analyze(audio_path: Optional[str]):
    """Top-3 label, waveform, saliency over the spectrogram of what the model heard, all 8
    probabilities, a note."""
    if not audio_path:
        raise _error("No audio yet: record with the microphone or upload a file, then press Analyze.")
    seconds = _duration(audio_path)
    if seconds is not None and seconds > MAX_SECONDS:
        raise _error(f"The audio is too long for a single prediction ({seconds:.0f} s; the limit here is "
                     f"{MAX_SECONDS:.0f} s). The model judges 3 s of speech: the emotion timeline "
                     "covers a whole recording.", title="Too long for one prediction")
    try:
        result = PREDICTOR.analyze(audio_path, explain=True)  # one forward pass for both
    except AudioError as exc:
        raise _error(str(exc)) from None
    start, end = result.speech
    speech_s = (end - start) / SAMPLE_RATE
    if speech_s > CLIP_SECONDS:
        note = (f"The model heard the middle {CLIP_SECONDS:g} s of {speech_s:.1f} s of detected speech "
                "(shaded in the waveform)")
        note += ("; the emotion timeline below follows all of it." if speech_s > SINGLE_WINDOW_SECONDS
                 else ".")
    else:
        note = (f"The model heard all {speech_s:.1f} s of detected speech (shaded), padded with "
                f"silence to {CLIP_SECONDS:g} s.")
    note += (f" Highlighted in the spectrogram: the sounds that most raised the score of *{result.top}* "
             "(gradient × input saliency).")
    overlay = plots.saliency_overlay(
        result.mel, result.saliency,
        title=f"What the model heard; highlighted: what made it say {result.top}")
    return (
        result.probabilities,
        plots.waveform(result.wave, SAMPLE_RATE, result.speech),
        overlay,
        plots.probabilities(result.probabilities),
        note,
    )


# ----- Timeline (long recordings) ----------------------------------------------------------

def _timeline_csv(frame, audio_path: str) -> str:
    """The table as a CSV file named after the recording, in Gradio's cache folder (in a folder
    named by its content's hash, as Gradio stores files): served from there without a copy, and
    deleted with the rest of the cache (DELETE_CACHE)."""
    data = frame.to_csv(index=False, float_format="%.4f").encode()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(audio_path).stem)[:60] or "recording"
    folder = Path(gr.utils.get_upload_folder()) / f"timeline-{hashlib.sha256(data).hexdigest()[:32]}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_emotion_timeline.csv"
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:  # whole or not at all
        tmp.write(data)
    os.replace(tmp.name, path)
    return str(path)


def _emotion_timeline(audio_path: Optional[str]):
    """Predictor.timeline of a whole recording, with the app's checks and messages."""
    if not audio_path:
        raise _error("No audio yet: record with the microphone or upload a file.")
    seconds = _duration(audio_path)
    if seconds is not None and seconds > TIMELINE_MAX_SECONDS:
        raise _error(f"The audio is too long ({seconds / 60:.0f} min); the timeline's limit is "
                     f"{TIMELINE_MAX_SECONDS / 60:.0f} min.")
    try:
        return PREDICTOR.timeline(audio_path)
    except AudioError as exc:
        raise _error(str(exc)) from None


def _timeline_outputs(frame, audio_path: str):
    try:
        wave = file_envelope(audio_path, plots.MAX_POINTS // 2)
    except Exception:  # not readable block by block: draw the probabilities alone
        wave = None
    n = len(frame)
    fig = plots.timeline(frame, wave, title=f"Emotion over time ({n} window{'s' if n != 1 else ''} of speech)")
    return fig, frame.round(3), _timeline_csv(frame, audio_path)


def timeline(audio_path: Optional[str]):
    """Emotion over time for a whole recording (any length up to TIMELINE_MAX_SECONDS): the
    probabilities of each 3-s window of speech stacked under the waveform, the table of windows
    (start, end in s, a probability per emotion, the top emotion), and that table as a CSV file."""
    return _timeline_outputs(_emotion_timeline(audio_path), audio_path)


def clear_timeline():
    """Empty timeline outputs (the accordion stays open or closed as it is)."""
    return None, None, None


def timeline_after_analyze(audio_path: Optional[str]):
    """After Analyze: the timeline too when the recording is longer than one window of speech
    (opened below the analysis); otherwise nothing changes."""
    unchanged = gr.skip(), gr.skip(), gr.skip(), gr.skip()
    seconds = _duration(audio_path) if audio_path else None
    if seconds is None or seconds <= TIMELINE_MIN_SECONDS:
        return unchanged
    try:
        frame = _emotion_timeline(audio_path)
    except gr.Error:
        if seconds <= MAX_SECONDS:
            return unchanged  # Analyze has shown this input's error already
        raise
    if len(frame) < 2 and seconds <= MAX_SECONDS:
        return unchanged  # a single window: the analysis above shows it
    return (gr.Accordion(open=True), *_timeline_outputs(frame, audio_path))


# ----- Live microphone ---------------------------------------------------------------------

@dataclass
class LiveState:
    """Per browser session (in gr.State): the stream's LiveSession and the update being computed."""
    session: LiveSession
    pending: Optional[Future] = None


def _live_outputs(session: LiveSession, work, envelope):
    """An update's work (speech detection, model), then what it shows: label and rolling plot.
    Runs in LIVE_WORKERS, while the stream handler goes on taking chunks."""
    update = work()
    if update.probabilities:
        label = update.probabilities
    elif update.message == LISTENING:
        label = f"{LISTENING} ({update.time:.1f} s)"
    else:
        label = update.message
    end = max(update.time, HISTORY_SECONDS)
    fig = plots.timeline(session.history_frame(), envelope, xlim=(end - HISTORY_SECONDS, end),
                         title=f"Last {HISTORY_SECONDS:g} s (each bar: the 3-s window around it)")
    return label, fig


def live_reset():
    """A new recording starts a new session (state None: created on the first chunk)."""
    return LISTENING, None, None


def live_update(chunk, state: Optional[LiveState]):
    """One streamed chunk (sample rate, int16 samples). Every chunk is buffered at once (a few
    ms); once per LIVE_UPDATE_SECONDS of audio an update starts in LIVE_WORKERS, and the next
    chunk after it finished delivers the label (the emotion of the last 3 s, or a message) and
    the rolling timeline of the last HISTORY_SECONDS; other chunks leave the outputs alone."""
    if state is None:
        state = LiveState(LiveSession(PREDICTOR, update_every=LIVE_UPDATE_SECONDS))
    session = state.session
    if chunk is not None:
        sr, data = chunk
        try:
            session.feed(data, sr)
        except AudioError as exc:
            return str(exc), gr.skip(), state
    if state.pending is None and session.due():
        state.pending = LIVE_WORKERS.submit(_live_outputs, session, session.begin_update(), session.envelope())
    if state.pending is not None and state.pending.done():
        label, fig = state.pending.result()
        state.pending = None
        return label, fig, state
    return gr.skip(), gr.skip(), state


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

Record or upload a spoken sentence; a model trained on the RAVDESS corpus guesses which of
eight acted emotions ({", ".join(EMOTIONS)}) it sounds like. Longer recordings get an emotion
timeline; the *Live* tab follows the microphone as you speak.

**Model:** {PREDICTOR.description}.

{summary_text(METRICS)}
"""

with gr.Blocks(title="Speech emotion recognition", delete_cache=DELETE_CACHE) as demo:
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
                            label="RAVDESS examples, one click analyses (actors the model trained on: no test of skill)")
            with gr.Column(scale=1):
                top3.render()
                note.render()
                bars_plot.render()
        wave_plot.render()
        spec_plot.render()
        with gr.Accordion("Emotion over time (recordings longer than one sentence)", open=False,
                          elem_id="timeline-box") as timeline_box:
            gr.Markdown(
                "The whole recording, 3-s window by window of speech (pauses are skipped), up to "
                f"{TIMELINE_MAX_SECONDS / 60:.0f} min or the {MAX_FILE_SIZE} upload limit. "
                "Analyze shows it by itself for recordings longer than one sentence.")
            timeline_btn = gr.Button("Timeline of the whole recording", size="sm")
            timeline_plot = gr.Plot(label="Emotion over time", format="png", show_label=False,
                                    elem_id="timeline-plot")
            timeline_table = gr.Dataframe(label="Windows (start and end in seconds)", interactive=False,
                                          max_height=260)
            timeline_csv = gr.File(label="Download the table (CSV)", interactive=False)
        timeline_outputs = [timeline_plot, timeline_table, timeline_csv]

    with gr.Tab("Live", id="live"):
        gr.Markdown(
            f"Press record and speak: every {LIVE_UPDATE_SECONDS:g} s the model judges the last "
            f"{CLIP_SECONDS:g} s of speech (nothing while there is none); the plot shows the last "
            f"{HISTORY_SECONDS:g} s. Streams stop after {LIVE_TIME_LIMIT // 60} minutes; press record again.")
        with gr.Row():
            with gr.Column(scale=1):
                live_in = gr.Audio(sources=["microphone"], streaming=True, type="numpy",
                                   label="Microphone (live)", elem_id="live-input")
                live_label = gr.Label(num_top_classes=3, label="Now (the last 3 s)", elem_id="live-label")
            live_plot = gr.Plot(label="Rolling timeline", format="png", show_label=False, scale=2,
                                elem_id="live-plot")
        live_state = gr.State(None)

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
    # ... and, for a recording longer than one sentence, the timeline below it (cleared whenever
    # the input changes, examples included).
    audio_in.change(clear_timeline, None, timeline_outputs, queue=False, api_visibility="private")
    analyze_btn.click(clear_timeline, None, timeline_outputs, queue=False, api_visibility="private") \
        .then(timeline_after_analyze, audio_in, [timeline_box, *timeline_outputs], api_visibility="private",
              concurrency_limit=TIMELINE_CONCURRENCY_LIMIT, concurrency_id="timeline")
    # The Timeline button (inside the accordion): any recording, up to TIMELINE_MAX_SECONDS.
    timeline_btn.click(clear_timeline, None, timeline_outputs, queue=False, api_visibility="private") \
        .then(timeline, audio_in, timeline_outputs, api_name="timeline",
              concurrency_limit=TIMELINE_CONCURRENCY_LIMIT, concurrency_id="timeline")

    # Live: one LiveState per browser session (gr.State), a new one for every recording.
    live_in.start_recording(live_reset, None, [live_label, live_plot, live_state], queue=False,
                            api_visibility="private")
    live_in.stream(live_update, [live_in, live_state], [live_label, live_plot, live_state],
                   stream_every=LIVE_CHUNK_SECONDS, time_limit=LIVE_TIME_LIMIT, show_progress="hidden",
                   concurrency_limit=LIVE_CONCURRENCY_LIMIT, concurrency_id="live", api_visibility="private")

    for f in filters:
        f.change(filter_examples, filters, [clip_dd, count_md, table], api_visibility="private")
    table.select(pick_row, None, clip_dd, api_visibility="private")
    clip_dd.change(show_example, clip_dd, [clip_audio, verdict, clip_label], api_name="example")

    recompute_btn.click(recompute, None, metrics_components, api_name="recompute_metrics",
                        concurrency_limit=RECOMPUTE_CONCURRENCY_LIMIT, concurrency_id="recompute")

demo.queue(default_concurrency_limit=DEFAULT_CONCURRENCY_LIMIT, max_size=QUEUE_MAX_SIZE)

# Everything loaded so far (torch, gradio, the model, the index) lives as long as the server:
# move it out of the garbage collector's view, so that the full collections that matplotlib's
# per-request figures trigger scan only new objects (they were the p95 latency spikes).
gc.freeze()


if __name__ == "__main__":
    demo.launch(**LAUNCH_KWARGS)

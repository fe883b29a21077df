"""The Analyze tab: one recording in, the top-3 emotions, the waveform, the spectrogram the model
read with its saliency, all probabilities; for recordings longer than one sentence, the emotion
timeline below. API: /predict and /timeline."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import gradio as gr

from emotion import AudioError, plots
from emotion.audio import CLIP_SECONDS, SAMPLE_RATE
from emotion.timeline import SINGLE_WINDOW_SECONDS, file_envelope

from .common import duration, error
from .settings import (EXAMPLE_WAVS, MAX_FILE_SIZE, MAX_SECONDS, TIMELINE_CONCURRENCY_LIMIT,
                       TIMELINE_MAX_SECONDS, TIMELINE_MIN_SECONDS, resources)


def clear_analysis():
    """Empty outputs, so that no earlier prediction stays beside new or failed input."""
    return None, None, None, None, ""


def analyze(audio_path: Optional[str]):
    """Top-3 label, waveform, saliency over the spectrogram of what the model heard, all 8
    probabilities, a note."""
    if not audio_path:
        raise error("No audio yet: record with the microphone or upload a file, then press Analyze.")
    seconds = duration(audio_path)
    if seconds is not None and seconds > MAX_SECONDS:
        raise error(f"The audio is too long for a single prediction ({seconds:.0f} s; the limit here is "
                     f"{MAX_SECONDS:.0f} s). The model judges 3 s of speech: the emotion timeline "
                     "covers a whole recording.", title="Too long for one prediction")
    try:
        result = resources().predictor.analyze(audio_path, explain=True)  # one forward pass for both
    except AudioError as exc:
        raise error(str(exc)) from None
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
        raise error("No audio yet: record with the microphone or upload a file.")
    seconds = duration(audio_path)
    if seconds is not None and seconds > TIMELINE_MAX_SECONDS:
        raise error(f"The audio is too long ({seconds / 60:.0f} min); the timeline's limit is "
                     f"{TIMELINE_MAX_SECONDS / 60:.0f} min.")
    try:
        return resources().predictor.timeline(audio_path)
    except AudioError as exc:
        raise error(str(exc)) from None


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
    seconds = duration(audio_path) if audio_path else None
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


def build() -> SimpleNamespace:
    """The tab's layout and events, inside the current gr.Blocks; returns its components."""
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
    return SimpleNamespace(audio_in=audio_in, analyze_btn=analyze_btn, top3=top3, note=note, wave_plot=wave_plot,
                           spec_plot=spec_plot, bars_plot=bars_plot, timeline_box=timeline_box,
                           timeline_plot=timeline_plot, timeline_table=timeline_table, timeline_csv=timeline_csv)

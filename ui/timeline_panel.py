"""The Analyze tab's timeline panel: emotion over time for a whole recording, window by window of
speech (emotion.longform.timeline), drawn under the waveform, as a table and as a CSV file. It opens by
itself for a recording longer than one sentence, and its button serves /timeline. With the Speakers
switch on (ui/speakers.py, issue 36) each window carries its speaker: one lane per speaker in the
chart, a speaker column in the table, and a per-speaker table under the chart."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import gradio as gr

from emotion import AudioError, SetupError
from emotion.charts import timeline_plots

from . import speakers as speakers_switch
from .common import described_plot, error
from .settings import MAX_FILE_SIZE, TIMELINE_CONCURRENCY_LIMIT, TIMELINE_MAX_SECONDS, resources

# Said in the API docs: gradio_client refuses a larger file itself, before sending, with its own words
API_LIMITS = (
    f"Files up to {MAX_FILE_SIZE.upper()} (gradio_client refuses a larger one before sending it: "
    "'exceeds the maximum file size'). Trim it, save it as MP3, or run "
    "`python -m emotion.predict --timeline FILE` locally (no limit but 30 min)."
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


def emotion_timeline(audio_path: Optional[str], speakers=None):
    """Predictor.timeline of a whole recording, with the app's checks and messages; speakers: None,
    "auto" or a number (speakers_switch.count)."""
    if not audio_path:
        raise error("No audio yet: record with the microphone or upload a file.")
    try:
        return resources().predictor.timeline(audio_path, speakers=speakers)
    except AudioError as exc:
        raise error(str(exc)) from None
    except SetupError as exc:  # the voice encoder's weights are missing: the message names the fix
        raise error(str(exc), title="Speakers") from None


def outputs(frame, audio_path: str):
    wave = frame.attrs.get("envelope")  # kept while the timeline decoded the file
    n = len(frame)
    title = f"Emotion over time ({n} window{'s' if n != 1 else ''} of speech"
    if "speaker" in frame.columns:
        voices = len(timeline_plots.speaker_lanes(frame))
        title += f", {voices} speaker{'s' if voices != 1 else ''}"
    # as wide as the panel; on a phone at least timeline_plots.TIMELINE_MIN_PX, scrolled in its box (PAGE_CSS)
    fig = timeline_plots.timeline(frame, wave, title=title + ")")
    first = ["start", "end", "speaker", "emotion"] if "speaker" in frame.columns else ["start", "end", "emotion"]
    shown = frame[first + [c for c in frame.columns if c not in first]]
    return fig, shown.round(3), _timeline_csv(frame, audio_path)  # the emotion early: visible on a phone


def timeline(audio_path: Optional[str], speakers: Optional[str] = speakers_switch.OFF):
    """Emotion over time for a whole recording (any length up to TIMELINE_MAX_SECONDS): the
    probabilities of each 3-s window of speech stacked under the waveform, the table of windows
    (start, end in s, the top emotion, a probability per emotion), and the table as a CSV file
    (start, end, the probabilities, emotion). speakers: "off" (default), "auto", "2", "3" or "4":
    each window's speaker (1, 2, ...) in a column after end, one lane per speaker in the chart."""
    return outputs(emotion_timeline(audio_path, speakers_switch.count(speakers)), audio_path)


def show_window(audio_path: Optional[str], table, evt: gr.SelectData):
    """A click on a row of the windows' table: the spectrogram the model heard in that window, with
    the saliency of the window's top emotion, on the recording's time axis (issue 33, item 15: the
    page showed one window's only)."""
    import numpy as np
    import torch

    from emotion import audio
    from emotion.charts import plots
    from emotion.explain import explain_features
    from emotion.longform import long_input

    if not audio_path or table is None or not len(table):
        return gr.skip()
    row = table.iloc[int(evt.index[0])]
    start, end, top = float(row["start"]), float(row["end"]), str(row["emotion"])
    predictor = resources().predictor
    try:  # seeks: only these seconds are decoded
        clip = audio.pad_or_trim(audio.read_seconds(audio_path, None, start, end))
    except AudioError as exc:
        raise error(str(exc)) from None
    mel = predictor.features(torch.from_numpy(np.ascontiguousarray(clip))[None])
    saliency = explain_features(predictor, mel, target=top)[1]
    t0 = long_input.clip_start(int(round(start * audio.SAMPLE_RATE)), int(round(end * audio.SAMPLE_RATE)))
    title = f"Window {start:.1f}-{end:.1f} s; highlighted: why {top}"
    return plots.spectrogram(mel[0].numpy(), saliency, t0=t0, title=title)


def clear_timeline():
    """Empty timeline outputs (shown or hidden as they are)."""
    return None, None, None


def open_timeline():
    """Empty timeline outputs, shown: the button asks for a timeline of any recording."""
    return None, None, None, gr.Column(visible=True)


def hide_timeline():
    """Empty timeline outputs, hidden: a new recording has no timeline yet."""
    return None, None, None, gr.Column(visible=False)


def build() -> SimpleNamespace:
    """The accordion, its button and its outputs (in `results`, a column hidden until there is a
    timeline), inside the current layout. The accordion is open from the start and code never opens
    or closes it: Gradio 6 at times left an accordion opened by an update shut, its chart and table
    unrendered (gradio-app/gradio#13881), so the results' visibility is what changes instead."""
    with gr.Accordion("Emotion over time (recordings longer than one sentence)", open=True, elem_id="timeline-box"):
        gr.Markdown(
            "The whole recording, 3-s window by window of speech (pauses are skipped), up to "
            f"{TIMELINE_MAX_SECONDS / 60:.0f} min or the {MAX_FILE_SIZE} upload limit. "
            "Analyze shows it by itself for recordings longer than one sentence."
        )
        button = gr.Button("Timeline of the whole recording", size="sm")
        with gr.Column(visible=False, elem_id="timeline-results") as results:
            plot = described_plot(
                label="Emotion over time",
                show_label=False,
                description="Emotion over time, window by window of speech:",
                elem_id="timeline-plot",
                elem_classes=["vega-chart"],
            )
            summary = speakers_switch.summary_table()  # with the Speakers switch on: a row per speaker
            gr.Markdown(  # shown on phones only (ui/common.py PAGE_CSS), where the chart is wider than the screen
                "↔ Swipe the timeline sideways: it is wider than the screen, to keep the windows apart.",
                elem_id="timeline-scroll-hint",
            )
            table = gr.Dataframe(
                label="Windows (start and end in seconds; click one to see what the model heard there)",
                interactive=False,
                max_height=260,
                elem_id="timeline-table",
            )
            csv = gr.File(label="Download the table (CSV)", interactive=False)
    return SimpleNamespace(box=results, button=button, plot=plot, table=table, csv=csv, summary=summary)


def wire(panel: SimpleNamespace, audio_in, speakers) -> None:
    """The button: any recording, up to TIMELINE_MAX_SECONDS, with the Speakers switch's choice;
    the per-speaker table follows the windows' table, whoever fills or empties it."""
    panel.button.click(
        open_timeline, None, [panel.plot, panel.table, panel.csv, panel.box], queue=False, api_visibility="private"
    ).then(
        timeline,
        [audio_in, speakers],
        [panel.plot, panel.table, panel.csv],
        api_name="timeline",
        api_description=f"{API_LIMITS} {speakers_switch.API_NOTE}",
        concurrency_limit=TIMELINE_CONCURRENCY_LIMIT,
        concurrency_id="timeline",
    )
    panel.table.change(speakers_switch.summary, panel.table, panel.summary, queue=False, api_visibility="private")

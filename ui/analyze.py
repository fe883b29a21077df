"""The Analyze tab: one recording in, the emotions, the waveform (shaded: what the model heard),
the spectrogram of what it heard (on the waveform's time axis), all probabilities, then the
saliency over the spectrogram; for recordings longer than one window of speech, the headline is the
speech-weighted mean of the windows (emotion.longform.long_input) and the emotion timeline opens below;
with the Speakers switch on (ui/speakers.py) the timeline and the transcript say who spoke when.
A problem is written in the result area and stays there until the next input.
API: /predict (label, charts, note), /explain (the saliency chart), /probabilities (JSON), /timeline."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import gradio as gr
import numpy as np
import torch

from emotion import AudioError
from emotion.charts import plots
from emotion.data.ravdess import parse_name

from . import analysis_view as view
from . import caveats, timeline_panel
from . import speakers as speakers_switch
from . import transcript as transcript_box
from .common import UPLOAD_HINT, described_plot, error, failure_panel
from .settings import EXAMPLE_WAVS, MAX_FILE_SIZE, resources
from .timeline_panel import API_LIMITS, clear_timeline, hide_timeline


def _emptied(visible: bool) -> tuple:
    """The label and the three charts emptied, shown in their places or hidden (out of the way of a
    problem's message). New dicts on every call: Gradio consumes an update's "value" as it applies it."""
    return tuple(gr.update(value=None, visible=visible) for _ in range(4))


def clear_analysis():
    """Empty outputs, so that no earlier prediction stays beside new or failed input."""
    return *_emptied(True), "", "", ""


def _check(audio_path: Optional[str]) -> None:
    if not audio_path:
        raise error("No audio yet: record with the microphone or upload a file, then press Analyze.")


def _saliency(result):
    """The saliency map of the top emotion for the spectrogram shown (emotion.explain: one forward
    and one backward pass, about twice the prediction's time, so it follows the answer)."""
    from emotion.explain import explain_features

    mel = torch.from_numpy(np.ascontiguousarray(result.mel))[None]
    return explain_features(resources().predictor, mel, target=result.top)[1]


def _analysis(audio_path: Optional[str], explain: bool = False):
    _check(audio_path)
    try:
        result = resources().predictor.analyze(audio_path, explain=explain)
    except AudioError as exc:
        raise error(str(exc)) from None
    wave_fig, spec_fig = view.figures(result)
    top = caveats.verdict_label(result.probabilities, result.verdict)  # near-tie, unfamiliar: emotion.clarity
    return result, (top, wave_fig, spec_fig, plots.probabilities(result.probabilities), view.note(result))


def analyze(audio_path: Optional[str]):
    """/predict: top-3 label, waveform, the spectrogram of what the model heard, all
    probabilities, a note. Any length: speech longer than one window gets the
    speech-weighted mean of the timeline's windows. Raises gr.Error with the reason.
    The charts are Vega-Lite specs (emotion.charts.plots); /explain adds the saliency."""
    return _analysis(audio_path)[1]


def explain(audio_path: Optional[str]) -> dict:
    """/explain: the spectrogram of what the model heard with the saliency of its top emotion
    over it (a Vega-Lite spec, as /predict's). Raises gr.Error with the reason."""
    result = _analysis(audio_path, explain=True)[0]  # one forward and backward pass for both
    return view.spectrogram(result, result.saliency)


def probabilities(audio_path: Optional[str]) -> dict:
    """/probabilities: every label's probability, the top label, what the model judged (start,
    end in s), and for long input the timeline's rows; JSON only, no images."""
    _check(audio_path)
    try:
        result = resources().predictor.analyze(audio_path, display=False)
    except AudioError as exc:
        raise error(str(exc)) from None
    out = dict(
        top=result.top,
        probabilities={k: round(v, 6) for k, v in result.probabilities.items()},
        judged=dict(start=round(result.judged[0][0], 3), end=round(result.judged[-1][1], 3)),
        judged_spans=[[round(s, 3), round(e, 3)] for s, e in result.judged],
        duration=round(result.seconds, 3),
        rule="one clip" if result.timeline is None else "speech-weighted mean of the timeline's windows",
        familiarity=result.familiarity,  # null for a checkpoint without familiarity statistics
        **caveats.judge(result.probabilities),  # clear: false for a near-tie (margin, gap, candidates)
        verdict=result.verdict.text,  # what every answer says (emotion.clarity): "no clear emotion: ..."
        unfamiliar=result.verdict.unfamiliar,
    )
    if result.timeline is not None:
        out["timeline"] = result.timeline.round(4).to_dict("records")
    return out


def _speakers_timeline(audio_path: str, speakers: Optional[str], plain):
    """The timeline with each window's speaker (a second pass: Predictor.analyze has none); where
    that cannot be (the voice encoder is not installed), the plain one, with a pop-up saying why."""
    try:
        return timeline_panel.emotion_timeline(audio_path, speakers_switch.count(speakers))
    except gr.Error as exc:
        gr.Warning(exc.message, title=exc.title)
        return plain


def analyze_page(audio_path: Optional[str], speakers: Optional[str] = speakers_switch.OFF):
    """The Analyze button: analyze(), the timeline of a long recording below it, and a problem
    written in the result area (it stays until the next input) instead of "Error" in every panel.
    A generator: the answer and its charts first, then the spectrogram again with the saliency.
    With the Speakers switch on, a long recording's timeline comes after the answer, per speaker."""
    try:
        result, outputs = _analysis(audio_path)
    except gr.Error as exc:
        gr.Warning(exc.message, title=exc.title)  # the pop-up as well
        # no empty chart frames under the problem (issue 33, item 8): hidden until the next answer
        yield (*_emptied(False), "", failure_panel(exc), "", gr.Column(visible=False), None, None, None)
        return
    notes = caveats.render(caveats.caveat_lines(result.probabilities, caveats.judge(result.probabilities)))
    if result.timeline is None:  # the timeline of an earlier recording is hidden, emptied
        panel = (gr.Column(visible=False), None, None, None)
        yield (*outputs, "", notes, *panel)
    elif speakers in (None, "", speakers_switch.OFF):
        panel = (gr.Column(visible=True), *timeline_panel.outputs(result.timeline, audio_path))
        yield (*outputs, "", notes, *panel)
    else:  # the answer first; the timeline once its speakers are known
        yield (*outputs, "", notes, gr.Column(visible=True), None, None, None)
        frame = _speakers_timeline(audio_path, speakers, result.timeline)
        panel = (gr.Column(visible=True), *timeline_panel.outputs(frame, audio_path))
        yield (*[gr.skip()] * 7, *panel)
    # the timeline's outputs are sent again, never skipped: a skip that reached the windows' table
    # became its value in the browser at times (an empty grid, and its change event failing on CI)
    explained = [gr.skip()] * (len(PAGE_OUTPUTS) - len(panel)) + list(panel)
    explained[PAGE_OUTPUTS.index("spec_plot")] = view.spectrogram(result, _saliency(result))
    yield tuple(explained)


# analyze_page's outputs, in order (build() wires the components in this order)
PAGE_OUTPUTS = (
    "top3",
    "wave_plot",
    "spec_plot",
    "bars_plot",
    "note",
    "message",
    "notes",
    "timeline_box",
    "timeline_plot",
    "timeline_table",
    "timeline_csv",
)


def _example_label(path: Path) -> str:
    try:
        name = parse_name(path.name)
        return f"{name.emotion} ({name.intensity}, actor {name.actor})"
    except ValueError:
        return path.stem


def build() -> SimpleNamespace:
    """The tab's layout and events, inside the current gr.Blocks; returns its components."""
    # Outputs are created first (unrendered) so that gr.Examples can run the analysis on click.
    top3 = caveats.VerdictLabel(num_top_classes=3, label="Top 3 emotions", render=False, elem_id="top3")
    notes = gr.Markdown(render=False, elem_id="analysis-caveats")  # caveats: no clear emotion, ...
    note = gr.Markdown(render=False, label="How the model judged it")
    message = gr.Markdown(render=False, label="Problem", elem_id="analysis-message")
    wave_plot, bars_plot, spec_plot = (
        described_plot(label=label, show_label=False, render=False, description=text, elem_classes=["vega-chart"])
        for label, text in [
            ("Waveform", "Waveform of the recording, shaded where the model listened:"),
            ("All probabilities", "Bar chart of the probability of every emotion:"),
            (
                "What the model heard",
                "Spectrogram of what the model heard, highlighted where it drove the top emotion:",
            ),
        ]
    )
    analysis_outputs = [top3, wave_plot, spec_plot, bars_plot, note]
    with gr.Tab("Analyze", id="analyze"):
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                audio_in = gr.Audio(
                    sources=["upload", "microphone"],  # most first visits bring a file
                    type="filepath",
                    elem_id="speech-input",
                    label=f"Speech: a sentence or a longer recording (files up to {MAX_FILE_SIZE.upper()})",
                )
                gr.Markdown(UPLOAD_HINT, elem_id="upload-hint")
                speakers = speakers_switch.control()  # who said it: the timeline and the transcript
                analyze_btn = gr.Button("Analyze", variant="primary")
                examples_box = gr.Column()
            with gr.Column(scale=1, min_width=300):
                message.render()
                notes.render()
                top3.render()
                note.render()
                bars_plot.render()
        with gr.Row():
            with gr.Column(min_width=300):
                wave_plot.render()
            with gr.Column(min_width=300):
                spec_plot.render()
        panel = timeline_panel.build()
        timeline_box, timeline_plot, timeline_table, timeline_csv = panel.box, panel.plot, panel.table, panel.csv
        timeline_outputs = [timeline_plot, timeline_table, timeline_csv]
        transcript = transcript_box.build()
        named = dict(top3=top3, wave_plot=wave_plot, spec_plot=spec_plot, bars_plot=bars_plot, note=note)
        named.update(message=message, notes=notes, timeline_box=timeline_box, timeline_plot=timeline_plot)
        named.update(timeline_table=timeline_table, timeline_csv=timeline_csv)
        page_outputs = [named[name] for name in PAGE_OUTPUTS]  # analyze_page yields in this order
        with examples_box:  # a click loads the example; the Analyze chain below then runs on it
            examples = gr.Examples(
                [[str(p)] for p in EXAMPLE_WAVS],
                inputs=[audio_in],
                cache_examples=False,
                example_labels=[_example_label(p) for p in EXAMPLE_WAVS],
                label="RAVDESS examples, named by the emotion acted; one click analyses "
                "(actors the model trained on: no test of skill)",
            )
        # API only (no button on the page): the JSON of /probabilities, /predict that raises errors
        api_json = gr.JSON(label="Probabilities of every emotion, top, judged span, timeline", visible=False)
        api_btn = gr.Button(visible=False)

    clear = [*analysis_outputs, message, notes]
    # Analyze: clear first (so that no old prediction stays beside new input), then analyse;
    # a problem is written in `message` and stays until the input changes.
    # the Analyze button and an example's click run one chain, the transcript after it (issue 33, item 5:
    # examples ran analyze_page alone and showed no transcript)
    analyzed = [
        start(clear_analysis, None, clear, queue=False, api_visibility="private")
        .then(clear_timeline, None, timeline_outputs, queue=False, api_visibility="private")
        .then(analyze_page, [audio_in, speakers], page_outputs, api_visibility="private")
        for start in (analyze_btn.click, examples.load_input_event.then)
    ]
    transcript_box.wire(transcript, audio_in, speakers, *analyzed)  # then the words (ui/transcript.py)
    for event in (audio_in.upload, audio_in.stop_recording, audio_in.clear):
        event(clear_analysis, None, clear, queue=False, api_visibility="private")
    audio_in.change(hide_timeline, None, [*timeline_outputs, timeline_box], queue=False, api_visibility="private")
    api_btn.click(analyze, audio_in, analysis_outputs, api_name="predict", api_description=API_LIMITS)
    api_btn.click(probabilities, audio_in, api_json, api_name="probabilities", api_description=API_LIMITS)
    api_btn.click(explain, audio_in, spec_plot, api_name="explain", api_description=API_LIMITS)
    timeline_panel.wire(panel, audio_in, speakers)  # the Timeline button (inside the accordion)
    # a click on a window of the timeline's table shows what the model heard there
    timeline_table.select(timeline_panel.show_window, [audio_in, timeline_table], spec_plot, api_visibility="private")
    return SimpleNamespace(
        audio_in=audio_in,
        analyze_btn=analyze_btn,
        top3=top3,
        note=note,
        message=message,
        wave_plot=wave_plot,
        spec_plot=spec_plot,
        bars_plot=bars_plot,
        timeline_box=timeline_box,
        timeline_plot=timeline_plot,
        timeline_table=timeline_table,
        timeline_csv=timeline_csv,
        timeline_summary=panel.summary,
        speakers=speakers,
        api_json=api_json,
        transcript=transcript,
    )

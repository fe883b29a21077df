"""The transcript on the Analyze tab: what was said, and how (emotion.longform.transcript).

Under the timeline: each utterance coloured by its emotion with its probability, and with the
Speakers switch on (ui/speakers.py, issue 36) who said it ("Speaker 2"); a click plays the recording
from there. Downloads in SRT, WebVTT and CSV. API: /transcript (JSON: {"language", "segments":
[{"start", "end", ("speaker"), "text", "emotion", "probabilities", "words"}]}).
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import gradio as gr

from emotion import AudioError, SetupError
from emotion.charts.plot_base import label_colors
from emotion.longform import subtitles
from emotion.longform.transcript import TranscriptError

from . import speakers as speakers_switch
from .common import error
from .settings import resources

CONCURRENCY_LIMIT = 1  # a long recording keeps the CPU busy for a while: one at a time
# a click on an utterance plays the uploaded recording from its start: the player's <audio> may sit
# in a shadow root (Gradio's waveform player), beside an empty one in the page: take one that has a source
FIND_PLAYER = (
    "const players = []; const walk = (root) => root.querySelectorAll('*').forEach((el) => {"
    " if (el.tagName === 'AUDIO') players.push(el); if (el.shadowRoot) walk(el.shadowRoot); });"
    " const box = document.querySelector('#speech-input'); if (box) walk(box);"
    " const player = players.find((a) => a.readyState > 0 && (a.currentSrc || a.src))"
    " || players.find((a) => a.currentSrc || a.src);"
)
PLAY_FROM = (
    "element.addEventListener('click', (e) => { const seg = e.target.closest('[data-start]'); if (!seg) return;"
    f" {FIND_PLAYER} if (!player) return;"
    " player.currentTime = parseFloat(seg.dataset.start); player.play(); });"
)


def _frame(audio_path: Optional[str], speakers=None):
    """Predictor.transcript with the app's messages; speakers: None, "auto" or a number."""
    if not audio_path:
        raise error("No audio yet: record with the microphone or upload a file.")
    try:
        return resources().predictor.transcript(audio_path, speakers=speakers)
    except (AudioError, TranscriptError, SetupError) as exc:
        raise error(str(exc), title="No transcript") from None


def transcript(audio_path: Optional[str], speakers: Optional[str] = speakers_switch.OFF) -> dict:
    """/transcript: {"language", "segments": [{start, end, text, emotion, probabilities: {label: p}, words}]};
    speakers "auto", "2", "3" or "4": each segment's "speaker" (1, 2, ...) as well."""
    return subtitles.as_json(_frame(audio_path, speakers_switch.count(speakers)))  # with its "speaker"s


def render(frame) -> str:
    """The utterances as HTML: time, emotion and probability, words; coloured by the emotion."""
    if not len(frame):
        return "<p id='transcript-empty'>No words were recognised.</p>"
    colors = label_colors(subtitles.labels_of(frame))
    rows, named = [], "speaker" in frame.columns
    for row in frame.to_dict("records"):
        judged = isinstance(row["emotion"], str)
        color = colors[row["emotion"]] if judged else "#999999"
        tag = html.escape(row["verdict"] if judged else (row["note"] or "not judged"))  # emotion.clarity
        minutes, secs = divmod(float(row["start"]), 60)
        who = _speaker(row["speaker"]) if named else ""
        rows.append(
            f"<div class='transcript-segment' data-start='{row['start']:.2f}' title='Play from here' "
            f"style='cursor:pointer;margin:2px 0;padding:4px 8px;border-left:6px solid {color};"
            f"background:{color}22'><small>{int(minutes)}:{secs:04.1f}</small> {who}"
            f"<b>[{tag}]</b> {html.escape(row['text'])}</div>"
        )
    lang = html.escape(str(frame.attrs.get("language")))
    hint = f"<p><small>Language: {lang}. Click an utterance to play from there.</small></p>"
    if subtitles.language_note(frame.attrs):  # unsure of the language: say so before the words
        hint = f"<p id='transcript-language-note'>⚠️ {html.escape(subtitles.language_note(frame.attrs))}</p>" + hint
    return f"<div id='transcript-view'>{hint}{''.join(rows)}</div>"


def _speaker(who) -> str:
    """ "Speaker 2" before an utterance (its emotion is the colour and the tag after it)."""
    name = "Speaker ?" if who is None or who != who else f"Speaker {int(who)}"
    return f"<span class='transcript-speaker' style='font-weight:600'>{name}</span> "


def _files(frame, audio_path: str) -> list:
    """SRT, WebVTT and CSV named after the recording, in Gradio's cache (deleted with it)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(audio_path).stem)[:60] or "recording"
    texts = {"srt": subtitles.srt(frame), "vtt": subtitles.vtt(frame), "csv": subtitles.csv(frame)}
    digest = hashlib.sha256("".join(texts.values()).encode()).hexdigest()[:32]
    folder = Path(gr.utils.get_upload_folder()) / f"transcript-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix, text in texts.items():
        path = folder / f"{stem}_transcript.{suffix}"
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, delete=False) as tmp:
            tmp.write(text)
        os.replace(tmp.name, path)
        out.append(str(path))
    return out


def show(audio_path: Optional[str], enabled: bool, speakers: Optional[str] = speakers_switch.OFF):
    """After Analyze: the transcript (HTML) and its downloads, or a note why there is none; with
    the Speakers switch on, each utterance names its speaker."""
    if not enabled or not audio_path:
        return "", None
    try:
        frame = _frame(audio_path, speakers_switch.count(speakers))
    except gr.Error as exc:
        return f"<p id='transcript-problem'>{exc.message}</p>", None
    return render(frame), (_files(frame, audio_path) if len(frame) else None)  # no words: nothing to download


def clear():
    return "", None


def build() -> SimpleNamespace:
    """The transcript's box, under the timeline (inside the Analyze tab's layout)."""
    with gr.Accordion("What was said, and how (transcript)", open=True, elem_id="transcript-box"):
        enabled = gr.Checkbox(value=True, label="Transcribe the words (Whisper-base; each utterance judged on its own)")
        view = gr.HTML(elem_id="transcript", js_on_load=PLAY_FROM)
        files = gr.File(
            label="Download the transcript (SRT, WebVTT, CSV)",
            file_count="multiple",
            interactive=False,
            elem_id="transcript-files",
        )
        api_json = gr.JSON(
            label="Transcript: language, utterances with text, emotion, probabilities, words", visible=False
        )
        api_btn = gr.Button(visible=False)
    return SimpleNamespace(enabled=enabled, view=view, files=files, api_json=api_json, api_btn=api_btn)


def wire(box: SimpleNamespace, audio_in, speakers, *analyzed) -> None:
    """The transcript follows each of `analyzed` (the Analyze button's event, an example's click),
    with the Speakers switch's choice; clears with new input; /transcript."""
    for event in analyzed:
        event.then(
            show,
            [audio_in, box.enabled, speakers],
            [box.view, box.files],
            api_visibility="private",
            concurrency_limit=CONCURRENCY_LIMIT,
            concurrency_id="transcript",
        )
    audio_in.change(clear, None, [box.view, box.files], queue=False, api_visibility="private")
    box.api_btn.click(
        transcript,
        [audio_in, speakers],
        box.api_json,
        api_name="transcript",
        api_description=speakers_switch.API_NOTE,
        concurrency_limit=CONCURRENCY_LIMIT,
        concurrency_id="transcript",
    )

"""Who said it (issue 36): the Analyze tab's "Speakers" switch, read by the timeline and the
transcript, and the small per-speaker table under the timeline (emotion.longform.long_input.speaker_summary).

    control()            the switch: off (as before), auto (voices counted), 2, 3 or 4
    count(value)         the switch's value as Predictor.timeline / .transcript take it
    summary(table)       the per-speaker table of a windows' table with a "speaker" column

Where the voice encoder's weights are not installed the switch is off, greyed out, and says the
pip command; an API call that asks for speakers then gets that sentence as its error.
"""

from __future__ import annotations

from typing import Optional

import gradio as gr

from emotion.errors import InputError
from emotion.longform import speakers as speakers_
from emotion.longform.voice_encoder import PIP_FIX

OFF = "off"
CHOICES = [OFF, "auto", "2", "3", "4"]
# said in /timeline's and /transcript's API docs
API_NOTE = (
    "speakers: 'off' (the default: the recording as one voice), 'auto' (voices counted) or '2', '3', '4': "
    "then each window or utterance carries its speaker (1, 2, ...)."
)
SUMMARY_COLUMNS = ["speaker", "seconds", "emotion", "moments"]


def control() -> gr.Radio:
    """The switch, inside the current layout; disabled with the pip command where the encoder is absent."""
    ready = speakers_.available()
    info = (
        "For a long recording of several voices (a call, an interview), before Analyze: a timeline lane "
        "per speaker, and the transcript says who said what. 'auto' counts the voices."
        if ready
        else f"Not installed here: the voice encoder that tells speakers apart. Run `{PIP_FIX}` and restart the app."
    )
    return gr.Radio(CHOICES, value=OFF, label="Speakers", info=info, interactive=ready, elem_id="speakers-switch")


def count(value: Optional[str]):
    """None (off), "auto" or a number, from the switch's value; a gr.Error for anything else or
    where the encoder is not installed."""
    if value in (None, "", OFF):
        return None
    try:
        parsed = speakers_.parse_count(value)
    except InputError as exc:
        raise gr.Error(str(exc), title="Speakers", print_exception=False) from None
    if not speakers_.available():
        raise gr.Error(
            f"Telling speakers apart needs the voice encoder: {PIP_FIX}", title="Speakers", print_exception=False
        )
    return parsed


def summary(table):
    """The per-speaker table (speaker, seconds of speech, emotion, its most intense moments) of a
    windows' table (the timeline panel's, rounded as shown), shown only when it has a speaker column."""
    from emotion.longform.long_input import speaker_summary

    if table is None or "speaker" not in getattr(table, "columns", ()) or not len(table):
        return gr.update(value=None, visible=False)
    labels = [c for c in table.columns if c not in ("start", "end", "speaker") and table[c].dtype.kind == "f"]
    frame = speaker_summary(table, labels)[SUMMARY_COLUMNS]
    frame["speaker"] = [f"Speaker {int(s)}" for s in frame["speaker"]]
    return gr.update(value=frame, visible=True)


def summary_table() -> gr.Dataframe:
    """The per-speaker table, hidden until a timeline has speakers."""
    return gr.Dataframe(
        label="Each speaker: seconds of speech, the emotion of the whole, the most intense moments",
        interactive=False,
        visible=False,
        wrap=True,  # the moments wrap inside their column: every column on a phone's screen
        column_widths=["26%", "23%", "22%", "29%"],
        elem_id="speaker-summary",
    )

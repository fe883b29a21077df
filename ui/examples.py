"""The Examples tab: browse RAVDESS clips with their true label and the model's fair prediction."""

from __future__ import annotations

from typing import Optional

import gradio as gr

from emotion import AudioError
from emotion.clips import ANY, ClipError
from emotion.ravdess import STATEMENTS

from .common import error
from .settings import resources


def filter_examples(emotion, actor, sex, intensity, statement, channel):
    """Matching clips: the clip dropdown (first one chosen), a count, and the table."""
    try:
        rows = resources().library.filter(emotion, actor, sex, intensity, statement, channel)
    except ClipError as exc:
        raise error(str(exc), title="Invalid filter") from None
    choices = resources().library.choices(rows)
    first = choices[0][1] if choices else None
    count = f"{len(rows)} matching clip{'s' if len(rows) != 1 else ''} in `{resources().library.data_dir.name}/`"
    return gr.update(choices=choices, value=first), count, resources().library.table(rows)


def pick_row(evt: gr.SelectData):
    """A click in the table chooses that row's clip in the dropdown."""
    row = evt.row_value or []
    return gr.update(value=row[0]) if row else gr.update()


def show_example(clip_id: Optional[str]):
    """The clip (to play), its true label against the model's top 3 (✓/✗), and the fairness note."""
    if not clip_id:
        return None, "Choose a clip.", None
    try:
        r = resources().library.evaluate(clip_id)
    except ClipError as exc:
        raise error(str(exc), title="Unknown clip") from None
    except AudioError as exc:
        raise error(str(exc)) from None
    mark = "✓ right" if r.correct else "✗ wrong"
    tops = ", ".join(f"{name} {p:.0%}" for name, p in r.top3)
    warn = "⚠️ " if not r.fair else ""
    text = (f"**True emotion: {r.emotion}** ({r.intensity}) · actor {r.actor} ({r.sex}) · "
            f"{r.channel} · “{r.statement}”\n\n"
            f"**Model: {r.predicted} — {mark}** (top 3: {tops})\n\n"
            f"{warn}_{r.note}._")
    return r.path, text, r.probabilities


def build() -> None:
    """The tab's layout and events, inside the current gr.Blocks."""
    LIBRARY = resources().library
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

    for f in filters:
        f.change(filter_examples, filters, [clip_dd, count_md, table], api_visibility="private")
    table.select(pick_row, None, clip_dd, api_visibility="private")
    clip_dd.change(show_example, clip_dd, [clip_audio, verdict, clip_label], api_name="example")

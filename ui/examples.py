"""The Examples tab: error analysis on RAVDESS clips. Every clip with an out-of-fold prediction
(all 1,200 speech clips of actors 01-20) is listed with its true emotion, the model's fair
prediction and whether it was right; filters include the predicted emotion and "mistakes only";
clips whose audio is here play, with their verdict. A click on a cell of the Metrics tab's
confusion matrix opens this tab filtered to that cell's clips (open_cell)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Optional

import gradio as gr

from emotion import AudioError
from emotion.data.clip_catalogue import ANY, NO_AUDIO, SCORED, ClipError
from emotion.data.ravdess import STATEMENTS

from .common import error, failure_panel
from .settings import resources

# The table's columns as shown: the verdict first (on a phone the first columns are what shows),
# then the clip id (a click on a row reads it from here) and the rest.
SHOWN_COLUMNS = [
    "true emotion",
    "predicted",
    "result",
    "probability",
    "id",
    "actor",
    "sex",
    "intensity",
    "statement",
    "channel",
    "audio",
]
ID_COLUMN = SHOWN_COLUMNS.index("id")
AUDIO_HERE = "audio here"  # not "▶ here": a click selects the row, it plays nothing by itself


def shown_table(rows):
    """ExampleLibrary.table in SHOWN_COLUMNS order, the audio column in words."""
    table = resources().library.table(rows)[SHOWN_COLUMNS]
    return table.assign(audio=table["audio"].where(table["audio"] == NO_AUDIO, AUDIO_HERE))


# The filters, in the order filter_examples takes them.
FILTER_NAMES = ("emotion", "predicted", "actor", "sex", "intensity", "statement", "channel", "mistakes", "audio")


def count_text(rows, heading: str = "") -> str:
    """ "N clips (k with audio here, w wrong)", after an optional bold heading."""
    n, here = len(rows), int(rows["audio"].sum())
    wrong = int(((rows["predicted"] != "") & ~rows["correct"].astype(bool)).sum())
    text = (
        f"{n} matching clip{'s' if n != 1 else ''} · {here} with audio here "
        f"({resources().library.source}) · {wrong} wrong"
    )
    return f"**{heading}** · {text}" if heading else text


def results(rows, heading: str = ""):
    """The clip dropdown (first clip chosen; clips with audio come first), count, table."""
    library = resources().library
    choices = library.choices(rows)
    first = choices[0][1] if choices else None
    return gr.update(choices=choices, value=first), count_text(rows, heading), shown_table(rows)


def filter_examples(
    emotion=ANY,
    predicted=ANY,
    actor=ANY,
    sex=ANY,
    intensity=ANY,
    statement=ANY,
    channel=ANY,
    mistakes=False,
    audio=False,
):
    """Matching clips: the clip dropdown (first one chosen), a count, and the table."""
    try:
        wanted = dict(zip(FILTER_NAMES, (emotion, predicted, actor, sex, intensity, statement, channel)))
        rows = resources().library.filter(mistakes=bool(mistakes), audio=bool(audio), **wanted)
    except ClipError as exc:
        raise error(str(exc), title="Invalid filter") from None
    return results(rows)


def cell_of(index, labels) -> tuple:
    """(true, predicted or SCORED) of a click at [row, column] of the confusion table over `labels`
    (emotion.evaluation.report.confusion_frame: column 0 the true emotion, 1..n predicted, then the total;
    the first and last stand for every clip of that true emotion that has a prediction)."""
    row, col = (int(i) for i in index)
    if not 0 <= row < len(labels):
        raise ValueError(f"no such row {row}")
    return labels[row], labels[col - 1] if 1 <= col <= len(labels) else SCORED


def open_cell(audio_only: bool, evt: gr.SelectData):
    """A click on a confusion-matrix cell (true T, predicted P): the Examples tab, filtered to
    exactly the clips of that cell (all of them, or only those with audio here after a recompute
    on local clips). Returns the tab switch, every filter's new value, and the results."""
    try:
        true, predicted = cell_of(evt.index, resources().predictor.labels)  # the table's: the checkpoint's
    except (TypeError, ValueError):
        return (gr.update(),) * (1 + len(FILTER_NAMES) + 3)
    rows = resources().library.filter(emotion=true, predicted=predicted, audio=bool(audio_only))
    heading = f"{true} heard as {predicted}" if predicted != SCORED else f"all {true} clips with a prediction"
    values = dict(emotion=true, predicted=predicted, mistakes=False, audio=bool(audio_only))
    filters = [gr.update(value=values.get(name, ANY)) for name in FILTER_NAMES]
    return (gr.Tabs(selected="examples"), *filters, *results(rows, heading))


def show_example(clip_id: Optional[str]):
    """The clip (to play, when its audio is here), its true label against the model's top 3
    (✓/✗), and the fairness note."""
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
    text = (
        f"**True emotion: {r.emotion}** ({r.intensity}) · actor {r.actor} ({r.sex}) · "
        f"{r.channel} · “{r.statement}”\n\n"
        f"**Model: {r.predicted} — {mark}** (top 3: {tops})\n\n"
        f"{warn}_{r.note}._"
    )
    if r.path is None:
        text += (
            "\n\n_No audio for this clip in this deployment: the app bundles "
            f"{resources().library.n_audio} clips. Start it with `--data-dir` pointing at a "
            "RAVDESS copy to hear all of them._"
        )
    return r.path, text, r.probabilities


def show_example_page(clip_id: Optional[str]):
    """show_example for the page: a clip id that is mistyped or unknown empties the player and the
    top 3 and says why in the verdict (not a red "Error" in each of the three over the last clip)."""
    try:
        return show_example(clip_id)
    except gr.Error as exc:
        return None, failure_panel(exc), None


def build() -> SimpleNamespace:
    """The tab's layout and events, inside the current gr.Blocks; returns its components
    (filters, clip, count, table) for app.py to wire the confusion matrix to."""
    library = resources().library
    with gr.Tab("Examples", id="examples"):
        options = library.options()
        gr.Markdown(
            f"Every clip with an out-of-fold prediction, and every clip whose audio is here "
            f"({library.source}, {library.n_audio} clips), with its true emotion and what the "
            "model predicted. The model is judged fairly: each clip by the fold model that never "
            "heard its actor (out-of-fold); where no such model exists the result is marked "
            "*not a fair test*. Clips marked *no audio here* show their prediction only."
        )
        with gr.Row():
            f_emotion = gr.Dropdown(options["emotion"], value=ANY, label="True emotion")
            f_predicted = gr.Dropdown(options["predicted"], value=ANY, label="Predicted emotion")
            f_actor = gr.Dropdown(options["actor"], value=ANY, label="Actor")
            f_sex = gr.Dropdown(options["sex"], value=ANY, label="Sex")
            f_intensity = gr.Dropdown(options["intensity"], value=ANY, label="Intensity")
            f_statement = gr.Dropdown(
                [(ANY, ANY)] + [(f"{s}: {STATEMENTS[s]}", s) for s in options["statement"][1:]],
                value=ANY,
                label="Statement",
            )
            f_channel = gr.Dropdown(options["channel"], value=ANY, label="Speech / song")
        with gr.Row():
            f_mistakes = gr.Checkbox(False, label="Mistakes only", elem_id="mistakes-only")
            f_audio = gr.Checkbox(False, label="Only clips with audio here", elem_id="audio-only")
        filters = [f_emotion, f_predicted, f_actor, f_sex, f_intensity, f_statement, f_channel, f_mistakes, f_audio]
        first_rows = library.filter()
        clip_dd = gr.Dropdown(
            library.choices(first_rows),
            value=None,
            label="Clip",
            allow_custom_value=True,
            info="choose from the list (or type a clip id)",
            elem_id="example-clip",
        )
        count_md = gr.Markdown(count_text(first_rows), elem_id="example-count")
        with gr.Row():
            with gr.Column():
                clip_audio = gr.Audio(label="Clip", type="filepath", interactive=False, elem_id="example-audio")
                verdict = gr.Markdown(elem_id="example-verdict", label="True emotion against the model")
            clip_label = gr.Label(num_top_classes=3, label="Model's top 3")
        table = gr.Dataframe(
            shown_table(first_rows),
            interactive=False,
            max_height=360,
            label="Matching clips (click a row to load it in the player above)",
            elem_id="example-table",
            elem_classes=["compact-table"],
        )
        # /example takes the id as text: the dropdown's 1,200 ids made view_api() 35 KB of literals
        api_id = gr.Textbox(visible=False, label="RAVDESS clip id, such as 03-01-05-02-01-01-12")
        api_btn = gr.Button(visible=False)

    # .input, not .change: open_cell sets the filters itself, and must not set off a search each.
    for f in filters:
        f.input(filter_examples, filters, [clip_dd, count_md, table], api_visibility="private")
    table.select(pick_row, None, clip_dd, api_visibility="private")
    clip_dd.change(show_example_page, clip_dd, [clip_audio, verdict, clip_label], api_visibility="private")
    api_btn.click(show_example, api_id, [clip_audio, verdict, clip_label], api_name="example")
    return SimpleNamespace(filters=filters, clip=clip_dd, count=count_md, table=table)


def pick_row(evt: gr.SelectData):
    """A click in the table chooses that row's clip in the dropdown."""
    row = evt.row_value or []
    return gr.update(value=row[ID_COLUMN]) if len(row) > ID_COLUMN else gr.update()


def wire_confusion(heatmap: gr.Dataframe, audio_only: gr.State, tabs: gr.Tabs, tab: SimpleNamespace) -> None:
    """A click on a cell of the Metrics tab's confusion table opens this tab on its clips."""
    heatmap.select(
        open_cell, audio_only, [tabs, *tab.filters, tab.clip, tab.count, tab.table], api_visibility="private"
    )

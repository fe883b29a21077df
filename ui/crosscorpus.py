"""The Metrics tab's "Across corpora" section: speakers never heard and corpora never heard, side
by side, from the crosscorpus.json beside the checkpoint (python -m emotion.training.crosscorpus),
and how often the model says "unfamiliar recording" (familiarity.json, emotion.training.unfamiliar)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import gradio as gr
import pandas as pd

from .settings import resources

CORPUS_NAMES = dict(
    ravdess="RAVDESS (English)", emodb="EmoDB (German)", nemo="nEMO (Polish)", korean="emotiontts-Korean (Korean)"
)


def short_name(corpus: str) -> str:
    """ "RAVDESS" for "ravdess": a corpus's name without its language."""
    return CORPUS_NAMES.get(corpus, corpus).split(" ")[0]


def training_speakers(speakers) -> dict:
    """Speakers per corpus, by the manifests' naming (emotion.training.corpora): RAVDESS actors are
    numbers ("01".."20" or 1..20), other corpora's speakers are "CORPUS-ID" (e.g. "emodb-03")."""
    out: dict = {}
    for s in speakers or []:
        text = str(s)
        corpus = "ravdess" if text.isdigit() else text.split("-")[0].lower()
        out.setdefault(corpus, []).append(text)
    return out


def trained_on_text(speakers) -> str:
    """'RAVDESS actors 01–20 (English) and EmoDB's 10 speakers (German)' from a checkpoint's
    train_actors; empty when it holds none."""
    parts = []
    for corpus, names in training_speakers(speakers).items():
        if corpus == "ravdess":
            ids = sorted(int(n) for n in names)
            span = (
                f"{ids[0]:02d}–{ids[-1]:02d}"
                if ids == list(range(ids[0], ids[-1] + 1))
                else ", ".join(f"{i:02d}" for i in ids)
            )
            parts.append(f"RAVDESS actors {span} (North-American English)")
        else:
            name = CORPUS_NAMES.get(corpus, corpus)
            base, _, lang = name.partition(" ")
            parts.append(f"{base}'s {len(names)} speakers {lang}".strip())
    return " and ".join(parts)


def _load(name: str) -> Optional[dict]:
    path = Path(resources().checkpoint).with_name(name)
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def summary_table(result: dict) -> pd.DataFrame:
    """One row per (model, corpus): the kind of test, n, accuracy and macro-F1 (what trained each
    model is in speakers_text). Short cells: the table must fit a phone's screen."""
    rows = []
    for r in result["results"]:
        rows.append(
            {
                "model": r["model"],
                "scored on": short_name(r["corpus"]),
                "test": r["test"],
                "n": r["n"],
                "accuracy": f"{r['accuracy']:.1%}",
                "macro-F1": f"{r['macro_f1']:.3f}",
                "accuracy on its labels": f"{r['accuracy_corpus_labels']:.1%}",
            }
        )
    return pd.DataFrame(rows)


def speakers_text(result: dict) -> str:
    """'RAVDESS only: RAVDESS 20 speakers; ...': which speakers trained each model."""
    seen = {}
    for r in result["results"]:
        seen[r["model"]] = " + ".join(f"{short_name(c)} ({n} speakers)" for c, n in r["trained_on"].items() if n)
    return "; ".join(f"*{m}* trained on {t}" for m, t in seen.items())


def per_class_table(result: dict) -> pd.DataFrame:
    """F1 x 100 per emotion (columns) for every (model, corpus) pair (rows); blank where the corpus
    lacks the emotion. Rows, not columns, per pair: the long pair names would push the table past a
    laptop screen; whole numbers, so that eight columns fit a phone's."""
    rows = []
    for r in result["results"]:
        row = {"model → corpus": f"{r['model']} → {short_name(r['corpus'])}"}
        row.update({k: f"{100 * v['f1']:.0f}" for k, v in r["per_class"].items()})
        rows.append(row)
    labels = [label for r in result["results"] for label in r.get("labels", r["per_class"])]
    order = ["model → corpus"] + list(dict.fromkeys(labels))
    return pd.DataFrame(rows).reindex(columns=order).fillna("")


def loco_table(run: dict) -> pd.DataFrame:
    """One row per corpus held out of training (python -m emotion.training.loco): what trained the
    model, n, accuracy over the labels both sides have, UAR, and how often an answer at >= 70% was wrong."""
    rows = []
    for corpus, r in run["corpora"].items():
        rows.append(
            {
                "never heard": short_name(corpus),
                "trained on": " + ".join(short_name(c) for c in r["trained_on"]),
                "n": r["n"],
                "accuracy": f"{r['accuracy']:.1%}",
                "UAR": f"{r['uar']:.1%}",
                "answers ≥ 70% wrong": f"{r['confident_wrong']:.0%}",
            }
        )
    return pd.DataFrame(rows)


def _table(frame: pd.DataFrame, label: str, elem_id: str, **options) -> gr.Dataframe:
    """A read-only figures table of this section, 12-px type on a phone (.compact-table, ui/common.py)."""
    return gr.Dataframe(
        frame, interactive=False, wrap=True, label=label, elem_id=elem_id, elem_classes=["compact-table"], **options
    )


def loco_section(run: Optional[dict]) -> None:
    """The leave-one-corpus-out table and its mean, the number the corpora and recipe were chosen by."""
    if not run:
        return
    gr.Markdown(
        f"**Voices from elsewhere: {run['mean_accuracy']:.1%}**, the mean over the corpora below of a "
        "model trained on the other corpora only (one head, the shipped recipe), scored over the emotions "
        "both sides have. This number chose the training corpora and the recipe.",
        elem_id="loco-summary",
    )
    _table(loco_table(run), "Leave one corpus out", "loco-table")


def familiarity_text(summary: Optional[dict]) -> str:
    if not summary:
        return ""
    own = summary.get("checkpoint", {}).get("oof", {})
    cross = summary.get("cross_corpus", {})
    lines = [
        f"**Unfamiliar recordings.** A recording whose encoder states lie further from the training clips "
        f"than {summary['quantile']:.0%} of new speakers' clips do is flagged *unfamiliar* and its probabilities "
        f"are toned down (gamma = {summary['gamma']:g}). On such audio the models were right "
        f"{summary['accuracy_when_unfamiliar']:.0%} of the time."
    ]
    if own:
        lines.append(
            f"- this model, its own corpora's speakers never heard: {own['unfamiliar_share']:.0%} flagged; "
            f"{own['confident_share_tempered']:.0%} of answers at ≥ 70%, "
            f"right {own['confident_accuracy_tempered']:.0%} of the time"
        )
    for name, r in cross.items():
        f = r.get("foreign", {})
        if f:
            who = (  # "without-korean": loco's table of a model trained without that corpus
                f"a model trained without {short_name(name[8:])}, on {short_name(name[8:])}"
                if name.startswith("without-")
                else name.replace("-to-", " model on ")
            )
            lines.append(
                f"- {who} (a corpus it never heard): "
                f"{f['unfamiliar_share']:.0%} flagged; "
                f"answers at ≥ 70%: {f['confident_share_raw']:.0%} → {f['confident_share_tempered']:.0%} "
                f"after toning down, right {f['confident_accuracy_raw']:.0%} → {f['confident_accuracy_tempered']:.0%}"
            )
    return "\n".join(lines)


def section() -> None:
    """Build the section inside the current Blocks (nothing when the checkpoint has no crosscorpus.json)."""
    result = _load("crosscorpus.json")
    if not result:
        return
    with gr.Accordion("Across corpora: speakers and corpora the model never heard", open=True, elem_id="cross-corpus"):
        gr.Markdown(
            "Every clip is scored by a model that never heard its speaker: a fold model that held "
            "the speaker out (*speakers never heard*), or, for a corpus a model never trained on, the "
            "whole model (*corpus never heard*). Each corpus is scored over the emotions it has (EmoDB has no "
            "*calm* or *surprised*, nEMO no *calm* or *disgust*, the Korean set four emotions). "
            + speakers_text(result)
            + "."
        )
        gr.Markdown(  # shown on narrow screens only (ui/common.py PAGE_CSS), where this table scrolls
            "↔ Swipe the accuracy table sideways for every column.", elem_id="cross-corpus-scroll-hint"
        )
        # .compact-table (ui/common.py): 12-px type on a phone; the per-emotion table keeps every column on screen
        _table(
            summary_table(result),
            "Accuracy across corpora",
            "cross-corpus-table",
            column_widths=["17%", "17%", "19%", "10%", "12%", "12%", "13%"],
        )
        classes = per_class_table(result)
        _table(
            classes,
            "F1 × 100 per emotion, model → corpus",
            "cross-corpus-classes",
            column_widths=["36%"] + [f"{64 // (len(classes.columns) - 1)}%"] * (len(classes.columns) - 1),
        )
        loco_section(_load("loco.json"))
        gr.Markdown(familiarity_text(_load("familiarity.json")), elem_id="familiarity-summary")

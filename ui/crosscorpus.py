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

CORPUS_NAMES = dict(ravdess="RAVDESS (English)", emodb="EmoDB (German)")


def _load(name: str) -> Optional[dict]:
    path = Path(resources().checkpoint).with_name(name)
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def summary_table(result: dict) -> pd.DataFrame:
    """One row per (model, corpus): what trained it, the kind of test, n, accuracy and macro-F1."""
    rows = []
    for r in result["results"]:
        trained = ", ".join(f"{CORPUS_NAMES.get(c, c).split(' ')[0]} {n}" for c, n in r["trained_on"].items() if n)
        rows.append({"model": r["model"], "trained on (speakers)": trained,
                     "scored on": CORPUS_NAMES.get(r["corpus"], r["corpus"]), "test": r["test"], "n": r["n"],
                     "accuracy": f"{r['accuracy']:.1%}", "macro-F1": f"{r['macro_f1']:.3f}",
                     "accuracy, corpus's labels only": f"{r['accuracy_corpus_labels']:.1%}"})
    return pd.DataFrame(rows)


def per_class_table(result: dict) -> pd.DataFrame:
    """F1 per emotion (rows) for every (model, corpus) pair (columns); blank where the corpus lacks it."""
    columns = {}
    for r in result["results"]:
        key = f"{r['model']} → {r['corpus']}"
        columns[key] = {k: f"{v['f1']:.2f}" for k, v in r["per_class"].items()}
    frame = pd.DataFrame(columns).fillna("")
    return frame.rename_axis("F1").reset_index()


def familiarity_text(summary: Optional[dict]) -> str:
    if not summary:
        return ""
    own = summary.get("checkpoint", {}).get("oof", {})
    cross = summary.get("cross_corpus", {})
    lines = [f"**Unfamiliar recordings.** A recording whose encoder states lie further from the training clips "
             f"than {summary['quantile']:.0%} of new speakers' clips do is flagged *unfamiliar* and its probabilities "
             f"are toned down (gamma = {summary['gamma']:g}). On such audio the models were right "
             f"{summary['accuracy_when_unfamiliar']:.0%} of the time."]
    if own:
        lines.append(f"- this model, its own corpora's speakers never heard: {own['unfamiliar_share']:.0%} flagged; "
                     f"{own['confident_share_tempered']:.0%} of answers at ≥ 70%, right {own['confident_accuracy_tempered']:.0%} of the time")
    for name, r in cross.items():
        f = r.get("foreign", {})
        if f:
            lines.append(f"- {name.replace('-to-', ' model on ')} (a corpus it never heard): {f['unfamiliar_share']:.0%} flagged; "
                         f"answers at ≥ 70%: {f['confident_share_raw']:.0%} → {f['confident_share_tempered']:.0%} "
                         f"after toning down, right {f['confident_accuracy_raw']:.0%} → {f['confident_accuracy_tempered']:.0%}")
    return "\n".join(lines)


def section() -> None:
    """Build the section inside the current Blocks (nothing when the checkpoint has no crosscorpus.json)."""
    result = _load("crosscorpus.json")
    if not result:
        return
    with gr.Accordion("Across corpora: speakers and corpora the model never heard", open=True,
                      elem_id="cross-corpus"):
        gr.Markdown("Every clip is scored by a model that never heard its speaker: a fold model that held "
                    "the speaker out (*speakers never heard*), or, for a corpus a model never trained on, the "
                    "whole model (*corpus never heard*). EmoDB has no *calm* or *surprised*: those RAVDESS clips "
                    "are left out when an EmoDB-only model scores RAVDESS.")
        gr.Dataframe(summary_table(result), interactive=False, wrap=True, label="Accuracy across corpora",
                     elem_id="cross-corpus-table")
        gr.Dataframe(per_class_table(result), interactive=False, label="F1 per emotion, model → corpus",
                     elem_id="cross-corpus-classes")
        gr.Markdown(familiarity_text(_load("familiarity.json")), elem_id="familiarity-summary")

"""What metrics.json says, in words and tables for people: the headline sentence, the per-class
table, and the evaluation split (which actors each number comes from). No user interface here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Optional, Sequence

import pandas as pd

from ..data.ravdess import parse_name


def load_metrics(path) -> Optional[dict]:
    """metrics.json as a dict, or None when there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def per_class_table(metrics: dict) -> pd.DataFrame:
    """One row per emotion: precision, recall, F1 (rounded to 3 decimals) and support."""
    rows = []
    for label in metrics["labels"]:
        c = metrics["per_class"][label]
        rows.append(
            dict(
                emotion=label,
                precision=round(c["precision"], 3),
                recall=round(c["recall"], 3),
                f1=round(c["f1"], 3),
                support=int(c["support"]),
            )
        )
    return pd.DataFrame(rows, columns=["emotion", "precision", "recall", "f1", "support"])


def _actors(actors: Sequence) -> str:
    """[1, 2, 3, 5] -> '1-3, 5'; speakers named by text (a manifest's, another corpus's) follow as they are."""
    numbers = sorted(int(a) for a in actors if isinstance(a, int) or str(a).isdigit())
    names = [str(a) for a in actors if not (isinstance(a, int) or str(a).isdigit())]
    parts, i = [], 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        parts.append(str(numbers[i]) if i == j else f"{numbers[i]}-{numbers[j]}")
        i = j + 1
    return ", ".join(parts + names) if parts or names else "none"


def split_text(metrics: dict) -> str:
    """The evaluation split in words (Markdown): which actors each number comes from."""
    split = metrics.get("split")
    if not split:
        return "The split of this evaluation is not recorded."
    lines = [
        f"**Split:** {split.get('kind', 'unknown')}; channel: {split.get('channel', 'speech')}. "
        "Speaker-independent: no clip is scored by a model that heard its actor."
    ]
    for k, fold in enumerate(split.get("folds", [])):
        lines.append(
            f"- fold {k + 1}: scored actors {_actors(fold['val_actors'])} with the model "
            f"trained on actors {_actors(fold['train_actors'])}"
        )
    if split.get("test_actors"):
        lines.append(
            f"- held-out actors {_actors(split['test_actors'])}, scored by the model trained "
            f"on actors {_actors(split.get('train_actors', []))}"
        )
    if split.get("unseen_actors"):
        lines.append(
            f"- actors {_actors(split['unseen_actors'])} were never in training: scored by "
            "the shipped model (all fold models averaged)"
        )
    if split.get("excluded_actors"):
        lines.append(
            f"- left out: actors {_actors(split['excluded_actors'])} (every model of this checkpoint heard them)"
        )
    if split.get("data_dir"):
        lines.append(f"- clips from `{Path(split['data_dir']).name}/`")
    return "\n".join(lines)


def summary_text(metrics: Optional[dict]) -> str:
    """One honest sentence on how good the model is (Markdown), from metrics.json."""
    if not metrics:
        return (
            "**Accuracy unknown:** there is no metrics.json beside this checkpoint, so how "
            "well it works has not been measured."
        )
    chance = 1.0 / len(metrics["labels"])
    corpus = (metrics.get("split") or {}).get("corpus")
    if corpus:  # trained on a manifest: say which, not what RAVDESS is
        return (
            f"**Measured accuracy: {metrics['accuracy']:.0%}** (macro-F1 {metrics['macro_f1']:.2f}; "
            f"chance is {chance:.1%}) on {metrics['n']} clips of `{corpus}` from speakers the scoring "
            "model never heard. Expect less on recordings unlike that corpus. "
            "Treat the output as a guess, not a measurement of how anyone feels."
        )
    return (
        f"**Measured accuracy: {metrics['accuracy']:.0%}** (macro-F1 {metrics['macro_f1']:.2f}; "
        f"chance is {chance:.1%}) on {metrics['n']} acted RAVDESS clips of speakers the scoring "
        "model never heard. That is acted, studio-quality North-American English; expect "
        "less on your own voice, spontaneous speech, other languages or noisy microphones. "
        "Treat the output as a guess, not a measurement of how anyone feels."
    )


def confusion_frame(matrix, labels: Sequence[str]) -> pd.DataFrame:
    """A confusion matrix as a table: first column the true emotion, then one column per predicted
    emotion (counts) and the row total. Cell (row i, column j + 1) holds true i, predicted j."""
    frame = pd.DataFrame([[int(v) for v in row] for row in matrix], columns=list(labels))
    frame.insert(0, "true ↓ / predicted →", list(labels))
    frame["total"] = frame[list(labels)].sum(axis=1)
    return frame


def per_actor_table(predictions: Mapping[str, str]) -> pd.DataFrame:
    """Accuracy per actor from {RAVDESS clip id: predicted emotion} (true emotion, actor and sex
    from the id): columns actor, sex, n, correct, accuracy; one row per actor, in order."""
    rows = {}
    for clip_id, predicted in predictions.items():
        name = parse_name(clip_id)
        r = rows.setdefault(name.actor, dict(actor=name.actor, sex=name.sex, n=0, correct=0))
        r["n"] += 1
        r["correct"] += int(predicted == name.emotion)
    table = pd.DataFrame(sorted(rows.values(), key=lambda r: r["actor"]), columns=["actor", "sex", "n", "correct"])
    table["accuracy"] = (table["correct"] / table["n"].clip(lower=1)).round(3)
    return table

"""No clear emotion: when the top two emotions are within a margin, say so and name both.

The margin is chosen from the checkpoint's out-of-fold probabilities by
`python -m emotion.training.near_tie` (checkpoints/oof_predictions.csv -> checkpoints/near_tie.json:
the largest margin below which the top emotion is right at most half the time; 0.30 for the
shipped model, firing on 15.4% of the 1,200 RAVDESS out-of-fold clips, whose rest are right 79.9%;
0.25 for the RAVDESS-only model in checkpoints/ravdess-only).
Rerun it after retraining; tests/test_clarity.py checks that the JSON matches the CSV.

    load_margin(checkpoint_path)    -> the margin in near_tie.json beside it (DEFAULT_MARGIN if none)
    clarity(probabilities, margin)  -> {"clear", "margin", "gap", "candidates": [[label, p], [label, p]]}
    verdict(probabilities, familiarity, margin) -> Verdict: what the model says about a stretch of audio

One verdict, one rule, everywhere a stretch of audio gets an answer: the headline (Analysis.verdict),
each window of the timeline, each transcript utterance, each live update, each batch row and the
API: the top emotion unless the top two are within the margin ("no clear emotion"), and whether
the recording is unfamiliar (emotion.model.familiarity). Verdict.text is how every one of them writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

DEFAULT_MARGIN = 0.25  # checkpoints/ravdess-only/near_tie.json, for a checkpoint without one
NEAR_TIE_FILE = "near_tie.json"


def load_margin(checkpoint: Optional[Path] = None) -> float:
    """The near-tie margin stored beside a checkpoint file (default: the shipped one)."""
    if checkpoint is None:
        from .model.checkpoint import SHIPPED as checkpoint
    try:
        return float(json.loads(Path(checkpoint).with_name(NEAR_TIE_FILE).read_text())["margin"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MARGIN


def top_k(probabilities: Dict[str, float], k: int = 3) -> list:
    """The k most probable (label, probability) pairs, most probable first."""
    return sorted(probabilities.items(), key=lambda kv: -kv[1])[:k]


def clarity(probabilities: Dict[str, float], margin: float = DEFAULT_MARGIN) -> dict:
    """Whether the top emotion stands clear of the second: clear is False when their gap is
    under margin. candidates: the top two as [label, probability]."""
    (a, pa), (b, pb) = sorted(probabilities.items(), key=lambda kv: -kv[1])[:2]
    gap = pa - pb
    return dict(
        clear=bool(gap >= margin),
        margin=round(float(margin), 4),
        gap=round(float(gap), 4),
        candidates=[[a, round(float(pa), 4)], [b, round(float(pb), 4)]],
    )


NO_CLEAR = "no clear emotion"
UNFAMILIAR = "unfamiliar recording"


@dataclass(frozen=True)
class Verdict:
    """What the model says about one stretch of audio (see the module docstring)."""

    top: str  # the most probable label
    clear: bool  # False: the top two are within `margin` of each other
    candidates: tuple  # the top two: ((label, p), (label, p))
    margin: float
    gap: float
    unfamiliar: bool  # the encoder states lie beyond the familiarity threshold

    @property
    def emotion(self) -> Optional[str]:
        """The emotion the model names: the top label when clear, else None."""
        return self.top if self.clear else None

    @property
    def text(self) -> str:
        """ "angry 0.81", "no clear emotion: calm 0.37 / neutral 0.35", with " · unfamiliar recording"
        when it is one: the tag of the transcript, the live label, the batch rows."""
        (a, pa), (b, pb) = self.candidates
        said = f"{a} {pa:.2f}" if self.clear else f"{NO_CLEAR}: {a} {pa:.2f} / {b} {pb:.2f}"
        return said + (f" · {UNFAMILIAR}" if self.unfamiliar else "")

    def fields(self) -> dict:
        """The columns every table of results carries: verdict (text), clear, unfamiliar."""
        return dict(verdict=self.text, clear=self.clear, unfamiliar=self.unfamiliar)


def verdict(probabilities: Dict[str, float], familiarity: Optional[dict] = None, margin: float = DEFAULT_MARGIN):
    """The Verdict on {label: probability}; familiarity: Familiarity.describe of the same stretch, or None."""
    c = clarity(probabilities, margin)
    (a, pa), (b, pb) = c["candidates"]
    unfamiliar = bool(familiarity and familiarity.get("unfamiliar"))
    return Verdict(a, c["clear"], ((a, pa), (b, pb)), c["margin"], c["gap"], unfamiliar)

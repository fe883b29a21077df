"""No clear emotion: when the top two emotions are within a margin, say so and name both.

The margin is chosen from the checkpoint's out-of-fold probabilities by
`python -m emotion.training.near_tie` (checkpoints/oof_predictions.csv -> checkpoints/near_tie.json:
the largest margin below which the top emotion is right at most half the time; 0.30 for the
shipped model, firing on 15.4% of the 1,200 RAVDESS out-of-fold clips, whose rest are right 79.9%;
0.25 for the RAVDESS-only model in checkpoints/ravdess-only).
Rerun it after retraining; tests/test_clarity.py checks that the JSON matches the CSV.

    load_margin(checkpoint_path)    -> the margin in near_tie.json beside it (DEFAULT_MARGIN if none)
    clarity(probabilities, margin)  -> {"clear", "margin", "gap", "candidates": [[label, p], [label, p]]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

DEFAULT_MARGIN = 0.25  # checkpoints/ravdess-only/near_tie.json, for a checkpoint without one
NEAR_TIE_FILE = "near_tie.json"


def load_margin(checkpoint: Optional[Path] = None) -> float:
    """The near-tie margin stored beside a checkpoint file (default: the shipped one)."""
    if checkpoint is None:
        from .checkpoint import SHIPPED as checkpoint
    try:
        return float(json.loads(Path(checkpoint).with_name(NEAR_TIE_FILE).read_text())["margin"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MARGIN


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

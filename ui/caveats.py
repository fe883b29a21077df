"""What the result card must say beside the emotions: its caveats, one line each.

Today "no clear emotion" (a near-tie of the top two, emotion.clarity); other caveats (such as an
unfamiliar recording) add a line in caveat_lines. The top label then reads "no clear emotion"
instead of one confident word (VerdictLabel)."""

from __future__ import annotations

from typing import Dict, List

import gradio as gr
from gradio.components.label import LabelConfidence, LabelData

from emotion.clarity import NO_CLEAR, UNFAMILIAR, Verdict, clarity

from .settings import resources


class VerdictLabel(gr.Label):
    """gr.Label (the same page component) whose heading may be a verdict other than the top
    class: postprocess also takes a LabelData."""

    is_template = True

    def postprocess(self, value):
        return value if isinstance(value, LabelData) else super().postprocess(value)


def margin() -> float:
    """The checkpoint's near-tie margin: the one every verdict of the Predictor uses (near_tie.json)."""
    return resources().predictor.margin


def judge(probabilities: Dict[str, float]) -> dict:
    """emotion.clarity of the headline with the checkpoint's margin."""
    return clarity(probabilities, margin())


def verdict_label(probabilities: Dict[str, float], said: Verdict, k: int = 3):
    """The label of any answer (the headline, Live): the probabilities, headed by the verdict:
    "no clear emotion" for a near-tie, with " · unfamiliar recording" when it is one."""
    heading = (said.top if said.clear else NO_CLEAR) + (f" · {UNFAMILIAR}" if said.unfamiliar else "")
    if heading == said.top:
        return probabilities
    top = sorted(probabilities.items(), key=lambda kv: -kv[1])[:k]
    return LabelData(label=heading, confidences=[LabelConfidence(label=n, confidence=p) for n, p in top])


def caveat_lines(probabilities: Dict[str, float], verdict: dict) -> List[str]:
    lines = []
    if not verdict["clear"]:
        (a, pa), (b, pb) = verdict["candidates"]
        lines.append(
            f"**No clear emotion**: *{a}* {pa:.0%} and *{b}* {pb:.0%} are within "
            f"{verdict['margin']:.0%} of each other; below that gap the top emotion is right at most "
            "half the time on speakers the model never heard."
        )
    return lines


def render(lines: List[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)

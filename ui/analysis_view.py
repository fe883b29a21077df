"""What one analysis looks like in the Analyze tab: the note that says how the model judged the
recording, and its charts (emotion.charts.plots: Vega-Lite, drawn by the browser) on one time axis."""

from __future__ import annotations

from typing import Optional

from emotion.audio import CLIP_SECONDS, SAMPLE_RATE
from emotion.charts import plots
from emotion.longform import long_input


def note(result) -> str:
    frame = result.timeline
    if frame is None:
        speech_s = (result.speech[1] - result.speech[0]) / SAMPLE_RATE
        if speech_s > CLIP_SECONDS:
            note = (
                f"The model heard the middle {CLIP_SECONDS:g} s of {speech_s:.1f} s of detected speech "
                "(shaded in the waveform; the spectrogram shows the same seconds)."
            )
        else:
            note = (
                f"The model heard all {speech_s:.1f} s of detected speech (shaded), padded with "
                f"silence to {CLIP_SECONDS:g} s."
            )
    else:
        row = frame.iloc[result.window]
        speech_s = long_input.covered_seconds(result.judged)  # overlapping windows' seconds once
        note = (
            f"**{len(frame)} window{'s' if len(frame) != 1 else ''} of speech** in {result.seconds:.0f} s "
            "(pauses skipped; the timeline below shows each): the emotions are their mean, each window "
            f"weighted by the seconds of speech it stands for. Shaded: the {speech_s:.0f} s the model heard; "
            f"outlined: the window in the spectrogram ({row['start']:.1f}-{row['end']:.1f} s)."
        )
        if result.top not in set(frame["emotion"]):
            note += (
                f" No single window has *{result.top}* on top; the windows found: "
                f"{', '.join(sorted(set(frame['emotion'])))}."
            )
    return (
        unfamiliar_note(result.familiarity)
        + note
        + (
            f" Highlighted in the spectrogram: the sounds that most raised the score of *{result.top}* "
            "(gradient × input saliency)."
        )
    )


def unfamiliar_note(familiarity: Optional[dict]) -> str:
    """The caveat for audio unlike anything the model trained on (emotion.model.familiarity), with the
    accuracy measured on such audio; empty for familiar audio."""
    if not familiarity or not familiarity.get("unfamiliar"):
        return ""
    acc = familiarity.get("accuracy_when_unfamiliar")
    measured = f" on such recordings it was right about {acc:.0%} of the time, so" if acc is not None else ""
    return (
        "**⚠️ Unfamiliar recording:** it sounds unlike the acted studio speech the model learnt from "
        f"(voice, language, microphone or room);{measured} the probabilities are toned down. "
        "Read the answer as a hint, not a verdict.\n\n"
    )


def placement(result):
    """(t0, xlim, highlight): where the spectrogram's first frame lies on the input's time axis,
    the range both charts show, and the window outlined on the waveform (long input)."""
    if result.timeline is None:
        t0 = long_input.clip_start(*result.speech)
        return t0, (min(0.0, t0), max(result.seconds, t0 + CLIP_SECONDS)), None
    row = result.timeline.iloc[result.window]
    t0 = long_input.clip_start(int(round(row["start"] * SAMPLE_RATE)), int(round(row["end"] * SAMPLE_RATE)))
    return t0, None, result.judged[result.window]


def spectrogram(result, saliency=None) -> dict:
    """What the model heard, on the waveform's time axis; with the saliency map, why it said its top emotion."""
    t0, xlim, _ = placement(result)
    title = f"Heard; highlighted: why {result.top}" if saliency is not None else "What the model heard"
    return plots.spectrogram(result.mel, saliency, t0=t0, xlim=xlim, title=title)


def figures(result):
    """Waveform (shaded: what the model heard) and the spectrogram on the same time axis (Vega-Lite
    charts, emotion.charts.plots: the browser draws them)."""
    # input too long to hold whole: the envelope the timeline kept while decoding it
    wave = result.wave if result.wave is not None else result.timeline.attrs["envelope"]
    _, xlim, highlight = placement(result)
    wave_fig = plots.waveform(wave, SAMPLE_RATE, judged=result.judged, highlight=highlight, xlim=xlim)
    return wave_fig, spectrogram(result)

"""The Live tab: the microphone streamed, the last 3 s judged once a second, a rolling timeline."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Optional

import gradio as gr

from emotion import AudioError
from emotion.audio import CLIP_SECONDS
from emotion.charts import timeline_plots
from emotion.live import HISTORY_SECONDS, LISTENING, LiveSession

from . import caveats
from .common import described_plot
from .settings import (
    LIVE_CHUNK_SECONDS,
    LIVE_CONCURRENCY_LIMIT,
    LIVE_TIME_LIMIT,
    LIVE_UPDATE_SECONDS,
    LIVE_WORKERS,
    resources,
)


@dataclass
class LiveState:
    """Per browser session (in gr.State): the stream's LiveSession and the update being computed."""

    session: LiveSession
    pending: Optional[Future] = None


def _live_outputs(session: LiveSession, work, envelope):
    """An update's work (speech detection, model), then what it shows: label and rolling plot.
    Runs in LIVE_WORKERS, while the stream handler goes on taking chunks."""
    update = work()
    if update.probabilities:  # headed by the verdict, as the Analyze tab's (near-tie, unfamiliar)
        label = caveats.verdict_label(update.probabilities, update.verdict)
    elif update.message == LISTENING:
        label = f"{LISTENING} ({update.time:.1f} s)"
    else:
        label = update.message
    end = max(update.time, HISTORY_SECONDS)
    fig = timeline_plots.timeline(  # a Vega-Lite spec the browser draws (a matplotlib PNG took ~100 ms an update)
        session.history_frame(),
        envelope,
        xlim=(end - HISTORY_SECONDS, end),
        title=f"Last {HISTORY_SECONDS:g} s (each bar: the 3-s window around it)",
    )
    return label, fig


def live_reset():
    """A new recording starts a new session (state None: created on the first chunk)."""
    return LISTENING, None, None


def live_update(chunk, state: Optional[LiveState]):
    """One streamed chunk (sample rate, int16 samples). Every chunk is buffered at once (a few
    ms); once per LIVE_UPDATE_SECONDS of audio an update starts in LIVE_WORKERS, and the next
    chunk after it finished delivers the label (the emotion of the last 3 s, or a message) and
    the rolling timeline of the last HISTORY_SECONDS; other chunks leave the outputs alone."""
    if state is None:
        state = LiveState(LiveSession(resources().predictor, update_every=LIVE_UPDATE_SECONDS))
    session = state.session
    if chunk is not None:
        sr, data = chunk
        try:
            session.feed(data, sr)
        except AudioError as exc:
            return str(exc), gr.skip(), state
    if state.pending is None and session.due():
        state.pending = LIVE_WORKERS.submit(_live_outputs, session, session.begin_update(), session.envelope())
    if state.pending is not None and state.pending.done():
        label, fig = state.pending.result()
        state.pending = None
        return label, fig, state
    return gr.skip(), gr.skip(), state


def build() -> None:
    """The tab's layout and events, inside the current gr.Blocks."""
    with gr.Tab("Live", id="live"):
        gr.Markdown(
            f"Press record and speak: every {LIVE_UPDATE_SECONDS:g} s the model judges the last "
            f"{CLIP_SECONDS:g} s of speech (nothing while there is none); the plot shows the last "
            f"{HISTORY_SECONDS:g} s. Streams stop after {LIVE_TIME_LIMIT // 60} minutes; press record again."
        )
        with gr.Row():
            with gr.Column(scale=1):
                live_in = gr.Audio(
                    sources=["microphone"],
                    streaming=True,
                    type="numpy",
                    label="Microphone (live)",
                    elem_id="live-input",
                )
                live_label = caveats.VerdictLabel(num_top_classes=3, label="Now (the last 3 s)", elem_id="live-label")
            live_plot = described_plot(
                label="Rolling timeline", show_label=False, scale=2, elem_id="live-plot", elem_classes=["vega-chart"]
            )
        live_state = gr.State(None)

    # Live: one LiveState per browser session (gr.State), a new one for every recording.
    live_in.start_recording(
        live_reset, None, [live_label, live_plot, live_state], queue=False, api_visibility="private"
    )
    live_in.stream(
        live_update,
        [live_in, live_state],
        [live_label, live_plot, live_state],
        stream_every=LIVE_CHUNK_SECONDS,
        time_limit=LIVE_TIME_LIMIT,
        show_progress="hidden",
        concurrency_limit=LIVE_CONCURRENCY_LIMIT,
        concurrency_id="live",
        api_visibility="private",
    )

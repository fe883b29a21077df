"""Live microphone: the emotion of the last few seconds, updated while audio streams in.

No user interface here: the app hands every chunk the browser sends (sample rate, int16
samples) to a LiveSession and draws what it returns.

    session = LiveSession(predictor)
    for sr, chunk in stream:                  # chunks of any length (a browser sends 0.1 s)
        update = session.add(chunk, sr)       # once a second of audio a LiveUpdate (probabilities,
                                              # or None and a message), else None
    session.history_frame()                   # the last HISTORY_SECONDS, as Predictor.timeline rows
    session.envelope()                        # (times, low, high) of the same stretch, to draw

A server that must not hold up the stream (Gradio keeps only the newest chunk while its handler
is busy) feeds every chunk and runs the update's work elsewhere: `work = session.begin_update()`
copies the window at once, `work()` (speech detection, model) may then run in another thread.

Each update judges the last WINDOW_SECONDS (the model's 3-s window; from FIRST_SECONDS on,
what there is of it) by Predictor.analyze, exactly as a recording is judged: the speech in it
found, trimmed, centred and padded, the voice gate asked, the verdict (near-tie, unfamiliar) said
as everywhere else; a window without speech (silence, steady noise, a short click, music)
reports "no speech" instead of an emotion, and speech under too much noise "too noisy".
Chunks are resampled to 16 kHz as they arrive by resample.StreamResampler, which
keeps enough of the previous chunk as context that the result equals resampling the whole
recording at once (resampling each chunk on its own would put clicks at every chunk boundary).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from . import audio
from .audio import CLIP_SECONDS, SAMPLE_RATE, AudioError, Envelope
from .audio.resampling import StreamResampler
from .audio.speech import TooNoisyError
from .clarity import Verdict

UPDATE_SECONDS = 1.0  # add() judges the window once per this much audio, whatever the chunk size
WINDOW_SECONDS = CLIP_SECONDS  # each update judges this much of the most recent audio
FIRST_SECONDS = 2.5  # the first judgement comes once this much has arrived (a shorter window)
HISTORY_SECONDS = 30.0  # the rolling timeline covers this much
MAX_HISTORY = 240  # at most this many updates are kept, however small the chunks

LISTENING = "listening…"
NO_SPEECH = "no speech"
TOO_NOISY = "too noisy"


@dataclass
class LiveUpdate:
    """What one update found about the window ending `time` seconds into the stream."""

    time: float  # seconds of audio received when the update began: the end of the judged window
    probabilities: Optional[Dict[str, float]]  # every label -> probability; None: no emotion judged
    message: (
        str  # the verdict's text (emotion.clarity), LISTENING (less than FIRST_SECONDS so far), NO_SPEECH or TOO_NOISY
    )
    seconds: float  # processing time of this update (speech detection, model)
    verdict: Optional[Verdict] = None  # what the model says about the window, by the headline's rule

    @property
    def top(self) -> Optional[str]:
        return max(self.probabilities, key=self.probabilities.get) if self.probabilities else None


class RingBuffer:
    """The last `capacity` samples of a stream (float32)."""

    def __init__(self, capacity: int):
        self.data = np.zeros(capacity, np.float32)
        self.pos = 0  # next write position
        self.total = 0  # samples written so far

    def write(self, x: np.ndarray) -> None:
        cap, n = len(self.data), len(x)
        x = x[-cap:]  # more than fits: only the end matters
        pos = (self.pos + n - len(x)) % cap
        first = min(len(x), cap - pos)
        self.data[pos : pos + first] = x[:first]
        self.data[: len(x) - first] = x[first:]
        self.pos = (pos + len(x)) % cap
        self.total += n

    def latest(self, n: int) -> np.ndarray:
        """The last n samples in order (fewer while fewer were written)."""
        n = min(n, self.total, len(self.data))
        idx = (self.pos - n + np.arange(n)) % len(self.data)
        return self.data[idx]


class LiveSession:
    """One listener's stream: a ring buffer of recent 16-kHz audio and a bounded history."""

    def __init__(
        self,
        predictor,
        update_every: float = UPDATE_SECONDS,
        window_seconds: float = WINDOW_SECONDS,
        first_seconds: float = FIRST_SECONDS,
        history_seconds: float = HISTORY_SECONDS,
        max_history: int = MAX_HISTORY,
    ):
        self.predictor = predictor
        self.update_every = float(update_every)
        self._last_update: Optional[float] = None  # `received` when the last update began
        self.window = int(round(window_seconds * SAMPLE_RATE))
        self.first = min(self.window, int(round(first_seconds * SAMPLE_RATE)))
        self.history_seconds = float(history_seconds)
        self.buffer = RingBuffer(self.window + SAMPLE_RATE)  # the window and a second to spare
        self.history: Deque[LiveUpdate] = deque(maxlen=max_history)
        self._envelope = Envelope(max_seconds=history_seconds)  # min/max per 10 ms, to draw
        self._resampler: Optional[StreamResampler] = None

    @property
    def received(self) -> float:
        """Seconds of audio received (at 16 kHz, after resampling)."""
        return self.buffer.total / SAMPLE_RATE

    def feed(self, chunk, sample_rate: int) -> None:
        """Append a chunk: an int or float array, shape (samples,) or (samples, channels)."""
        chunk = np.asarray(chunk)
        if chunk.size == 0:
            return
        data, sr = audio.read_audio(chunk, audio.check_rate(sample_rate))  # float32 (samples, channels)
        mono = audio.to_mono(np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0))  # a stream forgives a bad sample
        if self._resampler is None or self._resampler.sample_rate != sr:
            self._resampler = StreamResampler(sr)  # (rate checked above) a new rate (a new device): start afresh
        wave = np.clip(self._resampler(mono), -1.0, 1.0)
        self.buffer.write(wave)
        self._envelope.feed(wave)

    def due(self) -> bool:
        """Whether update_every seconds of audio have arrived since the last update began
        (the first chunk is due at once, so that "listening…" shows immediately)."""
        return self._last_update is None or self.received - self._last_update >= self.update_every - 1e-9

    def begin_update(self) -> Callable[[], LiveUpdate]:
        """Take what the next update needs now (a copy of the window: cheap) and return the work
        itself (speech detection, the model, adding to the history) as a function, which may run
        in another thread while further chunks are fed. Run them in the order begun, one at a time."""
        now = self.received
        self._last_update = now
        wave = self.buffer.latest(self.window).copy() if self.buffer.total >= self.first else None
        return lambda: self._record(self._judge(now, wave))

    def update(self) -> LiveUpdate:
        """Judge the last window now: an emotion if it holds speech, else a message."""
        return self.begin_update()()

    def add(self, chunk, sample_rate: int) -> Optional[LiveUpdate]:
        """feed(), then update() if one is due (else None)."""
        self.feed(chunk, sample_rate)
        return self.update() if self.due() else None

    def _judge(self, now: float, wave: Optional[np.ndarray]) -> LiveUpdate:
        t0 = time.perf_counter()
        if wave is None:
            result = LiveUpdate(now, None, LISTENING, 0.0)
        else:
            try:  # the rule of every answer: Predictor.analyze of the window, its verdict (emotion.clarity)
                judged = self.predictor.analyze(wave, SAMPLE_RATE, display=False)
            except AudioError as exc:  # silence, noise, music (the voice gate), too noisy
                result = LiveUpdate(now, None, TOO_NOISY if isinstance(exc, TooNoisyError) else NO_SPEECH, 0.0)
            else:
                said = judged.verdict
                result = LiveUpdate(now, judged.probabilities, said.text, 0.0, said)
        result.seconds = time.perf_counter() - t0
        return result

    def _record(self, result: LiveUpdate) -> LiveUpdate:
        self.history.append(result)
        while self.history and self.history[0].time < result.time - self.history_seconds:
            self.history.popleft()
        return result

    def history_frame(self) -> pd.DataFrame:
        """The updates of the last HISTORY_SECONDS as rows like Predictor.timeline's: start, end
        (the judged window, s), a probability column per emotion (NaN without speech), emotion."""
        rows: List[dict] = []
        for u in self.history:
            start = max(0.0, u.time - self.window / SAMPLE_RATE)
            probs = u.probabilities or {e: np.nan for e in self.predictor.labels}
            rows.append(
                dict(start=round(start, 3), end=round(u.time, 3), **probs, emotion=u.top if u.probabilities else None)
            )
        return pd.DataFrame(rows, columns=["start", "end", *self.predictor.labels, "emotion"])

    def envelope(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times in s, minimum, maximum) per 10 ms of the last HISTORY_SECONDS of audio."""
        return self._envelope.columns()

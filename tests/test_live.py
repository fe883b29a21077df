"""Live microphone sessions (emotion.live): chunks in, an emotion (or "no speech") out.

Chunks are what Gradio hands a streaming gr.Audio(type="numpy") handler: (sample rate, int16
samples), here cut from a 48 kHz example clip in 0.5-s pieces, then silence.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from emotion import EMOTIONS, AudioError, audio
from emotion.audio.corruptions import make_noise
from emotion.audio.speech import frame_db, speech_span
from emotion.live import (
    FIRST_SECONDS,
    HISTORY_SECONDS,
    LISTENING,
    NO_SPEECH,
    TOO_NOISY,
    LiveSession,
    RingBuffer,
    StreamResampler,
)

CHUNK_SECONDS = 0.5


def chunks_of(samples: np.ndarray, sr: int, seconds: float = CHUNK_SECONDS):
    step = int(seconds * sr)
    return [samples[i : i + step] for i in range(0, len(samples), step)]


@pytest.fixture(scope="module")
def speech(example_wavs):
    """(48 kHz int16 samples, sample rate) of an example clip."""
    data, sr = sf.read(example_wavs[0], dtype="int16")
    return data, sr


def feed_all(session, chunks, sr):
    """The updates that feeding the chunks gave (add() gives one per update_every of audio)."""
    return [u for u in (session.add(c, sr) for c in chunks) if u is not None]


def test_speech_gives_predictions_after_about_3_s_and_silence_gives_no_speech(tiny_predictor, speech):
    data, sr = speech
    silence = np.zeros(int(4 * sr), np.int16)
    session = LiveSession(tiny_predictor)
    updates = feed_all(session, chunks_of(data, sr) + chunks_of(silence, sr), sr)
    early = [u for u in updates if u.time < FIRST_SECONDS - 0.1]
    assert early and all(u.probabilities is None and u.message == LISTENING for u in early)
    judged = [u for u in updates if u.probabilities is not None]
    assert judged, [u.message for u in updates]
    assert FIRST_SECONDS - 0.1 <= judged[0].time <= 3.6  # the first prediction comes after ~3 s
    for u in judged:
        assert set(u.probabilities) == set(EMOTIONS)
        assert sum(u.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
        assert u.top == u.verdict.top == max(u.probabilities, key=u.probabilities.get)
        assert u.message == u.verdict.text  # the verdict, by the headline's rule (emotion.clarity)
    # once the last 3 s hold only silence: no emotion, a message
    assert updates[-1].probabilities is None and updates[-1].message == NO_SPEECH
    assert session.received == pytest.approx((len(data) + len(silence)) / sr, abs=0.05)


def test_a_window_is_judged_as_the_same_audio_offline(tiny_predictor, speech):
    """Streaming changes nothing: the last update equals Predictor.predict on the last 3 s of
    the whole recording resampled at once."""
    data, sr = speech
    session = LiveSession(tiny_predictor)
    update = feed_all(session, chunks_of(data[: int(3.5 * sr)], sr), sr)[-1]
    assert update.probabilities is not None
    whole = audio.resample(data.astype(np.float32) / 32768.0, sr)
    n = session.buffer.total
    window = whole[n - audio.N_SAMPLES : n]
    expected = tiny_predictor.predict(window, audio.SAMPLE_RATE)
    np.testing.assert_allclose([update.probabilities[e] for e in EMOTIONS], [expected[e] for e in EMOTIONS], atol=1e-4)


def test_silence_and_noise_never_give_an_emotion(tiny_predictor):
    sr = 16000
    rng = np.random.default_rng(0)
    quiet = np.zeros(5 * sr, np.int16)
    noise = (rng.standard_normal(5 * sr) * 3000).astype(np.int16)  # steady noise, no speech
    for stream in (quiet, noise):
        updates = feed_all(LiveSession(tiny_predictor), chunks_of(stream, sr), sr)
        assert all(u.probabilities is None for u in updates)
        assert {u.message for u in updates if u.time >= FIRST_SECONDS} == {NO_SPEECH}


def test_history_is_bounded_and_follows_the_stream(tiny_predictor, speech):
    data, sr = speech
    gap = np.zeros(int(3.5 * sr), np.int16)  # longer than a window: some updates hear no speech
    stream = np.concatenate([np.concatenate([data, gap]) for _ in range(6)])  # ~46 s
    session = LiveSession(tiny_predictor, update_every=0.25, max_history=40)
    for c in chunks_of(stream, sr, 0.25):
        session.add(c, sr)
    assert len(session.history) == 40
    times = [u.time for u in session.history]
    assert times == sorted(times) and session.received - 0.25 <= times[-1] <= session.received
    assert times[-1] - times[0] <= HISTORY_SECONDS
    frame = session.history_frame()
    assert list(frame.columns) == ["start", "end", *EMOTIONS, "emotion"]
    assert len(frame) == len(session.history)
    assert (frame["end"] - frame["start"] <= 3.0 + 1e-6).all()
    spoken = frame.dropna(subset=["emotion"])
    assert len(spoken) and len(spoken) < len(frame)  # speech and pauses both in the last 30 s
    np.testing.assert_allclose(spoken[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-6)
    assert frame[frame["emotion"].isna()][list(EMOTIONS)].isna().all().all()
    # time bound: a session keeps only the last HISTORY_SECONDS, however many updates fit
    t, low, high = session.envelope()
    assert len(t) == len(low) == len(high) <= HISTORY_SECONDS * 100 + 1
    assert t[-1] == pytest.approx(session.received, abs=0.05) and t[-1] - t[0] <= HISTORY_SECONDS
    assert (low <= high).all()


def test_one_update_per_second_of_audio_whatever_the_chunk_size(tiny_predictor, speech):
    data, sr = speech  # 4.1 s
    session = LiveSession(tiny_predictor)
    results = [session.add(c, sr) for c in chunks_of(data, sr, 0.1)]  # what a browser sends
    updates = [u for u in results if u is not None]
    assert results[0] is updates[0]  # the first chunk at once ("listening…")
    assert len(updates) == int(len(data) / sr) + 1
    assert np.diff([u.time for u in updates]) == pytest.approx(1.0, abs=0.11)


def test_an_update_can_run_while_chunks_keep_coming(tiny_predictor, speech):
    """begin_update() copies the window; the work may run later (in another thread) and judges
    that window, not what was fed meanwhile."""
    data, sr = speech
    session = LiveSession(tiny_predictor)
    session.feed(data[: int(3.2 * sr)], sr)
    work = session.begin_update()
    expected = LiveSession(tiny_predictor)
    expected.feed(data[: int(3.2 * sr)], sr)
    session.feed(np.zeros(2 * sr, np.int16), sr)  # two seconds of silence arrive meanwhile
    update = work()
    assert session.history[-1] is update
    assert update.probabilities == expected.update().probabilities
    assert update.time == pytest.approx(3.2, abs=0.05)


def test_the_history_is_dropped_after_30_s(tiny_predictor):
    sr = 16000
    session = LiveSession(tiny_predictor)
    for c in chunks_of(np.zeros(70 * sr, np.int16), sr, 1.0):
        session.add(c, sr)
    assert 29 <= len(session.history) <= 31
    assert session.history[0].time >= session.received - HISTORY_SECONDS


@pytest.mark.parametrize("sr", [48000, 44100, 22050, 8000, 16000])
def test_chunked_resampling_equals_resampling_at_once(sr):
    rng = np.random.default_rng(sr)
    x = (rng.standard_normal(2 * sr) * 0.1).astype(np.float32)
    whole = audio.resample(x, sr)
    resampler, parts, i = StreamResampler(sr), [], 0
    while i < len(x):
        n = int(rng.integers(50, sr // 3))
        parts.append(resampler(x[i : i + n]))
        i += n
    out = np.concatenate(parts)
    assert len(whole) - len(out) <= 0.1 * audio.SAMPLE_RATE  # held back: tens of ms
    np.testing.assert_allclose(out, whole[: len(out)], atol=1e-5)
    out = np.concatenate([out, resampler.flush()])  # the end of the signal: the rest comes out
    assert len(out) == len(whole)
    np.testing.assert_allclose(out, whole, atol=1e-5)


def test_live_is_the_audio_module_s_resampler_and_rate_check(tiny_predictor, speech):
    assert StreamResampler is audio.StreamResampler  # one front end: the live tab adds no copy
    data, _ = speech
    for bad in (1000, 500000):
        with pytest.raises(AudioError, match=r"Unsupported sample rate .* 4 kHz to 384 kHz"):
            LiveSession(tiny_predictor).add(data[:4800], bad)


def test_speech_under_heavy_noise_is_too_noisy_not_no_speech(tiny_predictor, speech):
    data, sr = speech
    x = data.astype(np.float64) / 32768.0
    a, b = speech_span(frame_db(audio.resample(x.astype(np.float32), sr)), len(x))
    rms = np.sqrt(np.mean(x[a * sr // audio.SAMPLE_RATE : b * sr // audio.SAMPLE_RATE] ** 2))  # the sentence's
    noisy = x + make_noise(len(x), "white", np.random.default_rng(0)) * rms * 10 ** (14 / 20)  # SNR -14 dB
    stream = (np.clip(noisy, -1, 1) * 32767).astype(np.int16)
    updates = [u for u in feed_all(LiveSession(tiny_predictor), chunks_of(stream, sr), sr) if u.time >= FIRST_SECONDS]
    assert updates and all(u.probabilities is None for u in updates)
    assert {u.message for u in updates} == {TOO_NOISY}


def test_ring_buffer_keeps_the_latest_samples():
    ring = RingBuffer(10)
    ring.write(np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(ring.latest(10), np.arange(4))
    ring.write(np.arange(4, 13, dtype=np.float32))
    np.testing.assert_array_equal(ring.latest(10), np.arange(3, 13))
    np.testing.assert_array_equal(ring.latest(3), [10, 11, 12])
    ring.write(np.arange(100, 125, dtype=np.float32))  # longer than the buffer
    np.testing.assert_array_equal(ring.latest(10), np.arange(115, 125))
    assert ring.total == 38


def test_stereo_float_and_odd_chunks(tiny_predictor, speech):
    data, sr = speech
    session = LiveSession(tiny_predictor)
    stereo = np.stack([data, data], axis=1)
    session.add(np.zeros((0,), np.int16), sr)  # empty chunk: ignored
    for c in chunks_of(stereo, sr):
        session.add(c, sr)
    assert session.received == pytest.approx(len(data) / sr, abs=0.05)
    assert session.history[-1].probabilities is not None
    session.add(data[:4800].astype(np.float32) / 32768.0, sr)  # float chunks work too
    with pytest.raises(AudioError):
        session.add(data[:100], 1000)


def test_per_update_latency_is_well_under_the_update_interval(shipped_predictor, speech):
    """The work of one update (resampling a 1-s chunk, speech detection, the model) with the
    configured checkpoint. Printed; run with -s to see it (or benchmarks/bench_live.py)."""
    data, sr = speech
    session = LiveSession(shipped_predictor)
    stream = np.concatenate([data, data, np.zeros(2 * sr, np.int16)])
    updates = feed_all(session, chunks_of(stream, sr, 1.0), sr)
    judged = [u.seconds for u in updates if u.probabilities is not None]
    everything = [u.seconds for u in updates]
    assert judged
    print(
        f"\nlive update ({len(shipped_predictor.models)} model(s), {torch.get_num_threads()} thread(s)): "
        f"median {np.median(judged) * 1000:.0f} ms, max {max(judged) * 1000:.0f} ms with a prediction; "
        f"max {max(everything) * 1000:.0f} ms over all {len(updates)} updates of 1 s"
    )
    assert np.median(judged) < 0.25  # the interval is 1 s; tens of ms on an idle core

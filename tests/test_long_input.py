"""The headline of any length of input (emotion.longform.long_input, Predictor.analyze/predict).

Speech up to one window is one clip, exactly as before (the shipped metrics rest on it); longer
speech gets the speech-weighted mean of the timeline's windows, never a window of pause; input
over PREDICT_MAX_SECONDS is a normal case (the timeline, read block by block), not an error.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from emotion import audio
from emotion.audio import speech
from emotion.longform.long_input import judged_span, speech_weights, summarise
from emotion.longform.timeline import SINGLE_WINDOW_SECONDS
from emotion.predictor import PREDICT_MAX_SECONDS

SR = audio.SAMPLE_RATE


def six_sentences(asset_flacs, gap: float = 1.0, repeat: int = 1) -> np.ndarray:
    """Six RAVDESS sentences of six different emotions joined by `gap` s of silence (the issue's case)."""
    by_emotion = {}
    for f in asset_flacs:
        if f.name.startswith("03-01-"):
            by_emotion.setdefault(f.name.split("-")[2], f)
    clips = [audio.load_audio(f) for f in list(by_emotion.values())[:6]]
    pause = np.zeros(int(gap * SR), np.float32)
    one = np.concatenate([pause] + [x for c in clips for x in (c, pause)])
    return np.concatenate([one] * repeat)


def test_speech_weights_count_every_second_of_speech_once():
    # two half-overlapping 3-s windows and a lone one: 2.25 + 2.25 + 2
    np.testing.assert_allclose(
        speech_weights(np.array([0.0, 1.5, 10.0]), np.array([3.0, 4.5, 12.0])), [2.25, 2.25, 2.0]
    )
    assert judged_span(1.0, 3.5) == (1.0, 3.5)  # up to 3 s: all of it
    assert judged_span(1.0, 5.0) == pytest.approx((1.5, 4.5))  # longer: the centred 3 s


def test_summary_is_the_speech_weighted_mean():
    import pandas as pd

    labels = ["a", "b"]
    frame = pd.DataFrame(dict(start=[0.0, 5.0], end=[1.0, 8.0], a=[1.0, 0.2], b=[0.0, 0.8]))
    probs, row = summarise(frame, labels)
    assert probs == pytest.approx(dict(a=(1.0 + 3 * 0.2) / 4, b=3 * 0.8 / 4))
    assert row == 1  # the window that has the headline on top


def test_short_input_is_judged_as_one_clip_as_before(shipped_predictor, asset_flacs, example_wavs):
    p = shipped_predictor
    for f in asset_flacs[:4] + example_wavs[:2]:
        a = p.analyze(str(f))
        wave = audio.load_audio(f)
        start, end = speech.speech_bounds(wave)
        assert end - start <= SINGLE_WINDOW_SECONDS * SR and a.timeline is None
        old = torch.softmax(p.logits(torch.from_numpy(audio.pad_or_trim(wave[start:end]))[None]) / p.temperature, -1)[0]
        np.testing.assert_allclose([a.probabilities[k] for k in p.labels], (old / old.sum()).numpy(), atol=1e-6)
        ((js, je),) = a.judged
        assert start / SR - 1e-3 <= js < je <= end / SR + 1e-3 and je - js <= audio.CLIP_SECONDS + 1e-3


def test_long_input_headline_comes_from_the_speech(shipped_predictor, asset_flacs, tmp_path):
    p = shipped_predictor
    path = tmp_path / "six.wav"
    sf.write(path, six_sentences(asset_flacs), SR, subtype="PCM_16")
    a = p.analyze(str(path))
    frame = p.timeline(str(path))
    assert a.timeline is not None and len(a.timeline) == len(frame) >= 4
    expected, _ = summarise(frame, list(p.labels))
    assert a.probabilities == pytest.approx(expected, abs=1e-9)
    assert p.predict(str(path)) == pytest.approx(expected, abs=1e-9)  # predict says what the app says
    bare = p.analyze(str(path), display=False)  # predict and /probabilities: no picture, no extra pass
    assert bare.probabilities == a.probabilities and bare.mel is None and bare.clip is None
    assert a.mel is not None and a.clip is not None
    assert a.top in set(frame["emotion"])  # the headline is an emotion the timeline found
    # what was judged: each window's (at most) 3 s, all inside detected speech
    assert len(a.judged) == len(frame)
    for (js, je), s, e in zip(a.judged, frame["start"], frame["end"]):
        assert s - 1e-3 <= js < je <= e + 1e-3 and je - js <= audio.CLIP_SECONDS + 1e-3
    s, e = frame["start"].iloc[a.window], frame["end"].iloc[a.window]
    np.testing.assert_allclose(a.clip, audio.pad_or_trim(a.wave[int(round(s * SR)) : int(round(e * SR))]))


def test_input_over_the_decoding_limit_is_a_timeline_not_an_error(shipped_predictor, asset_flacs, tmp_path):
    p = shipped_predictor
    path = tmp_path / "long.wav"
    wave = six_sentences(asset_flacs, repeat=3)
    assert len(wave) / SR > PREDICT_MAX_SECONDS
    sf.write(path, wave, SR, subtype="PCM_16")
    a = p.analyze(str(path), explain=True)
    assert a.wave is None and a.seconds == pytest.approx(len(wave) / SR, abs=0.01)
    assert a.timeline["end"].max() > PREDICT_MAX_SECONDS and a.top in set(a.timeline["emotion"])
    assert a.mel.shape == a.saliency.shape  # the window shown is explained like a single clip
    # the same input as an array (sample rate given) gets the same answer
    array = p.analyze(wave, SR)
    assert array.probabilities == pytest.approx(a.probabilities, abs=1e-3)


def count_decoded_frames(monkeypatch) -> list:
    """Every frame soundfile decodes from now on (SoundFile.read: whole files, blocks and seeks)."""
    decoded, read = [], sf.SoundFile.read

    def counting(self, frames=-1, *args, **kwargs):
        out = read(self, frames, *args, **kwargs)
        decoded.append(len(out))
        return out

    monkeypatch.setattr(sf.SoundFile, "read", counting)
    return decoded


@pytest.mark.parametrize("repeat", [1, 3])  # speech longer than a window in 30 s, and a file over PREDICT_MAX_SECONDS
def test_one_analyze_click_decodes_its_file_once(shipped_predictor, asset_flacs, tmp_path, monkeypatch, repeat):
    """What the Analyze button asks (analysis with saliency, the figures' waveform): each frame of
    the file decoded once; over PREDICT_MAX_SECONDS, plus the seconds of the window shown."""
    path = tmp_path / "six.wav"
    sf.write(path, six_sentences(asset_flacs, repeat=repeat), SR, subtype="PCM_16")
    frames = sf.info(str(path)).frames
    decoded = count_decoded_frames(monkeypatch)
    a = shipped_predictor.analyze(str(path), explain=True)
    assert a.timeline is not None  # the long route: the timeline's windows
    shown = a.wave if a.wave is not None else a.timeline.attrs["envelope"]  # what the page draws
    if repeat == 1:
        assert sum(decoded) == frames and len(shown) == frames  # once, whole, and kept for the figure
    else:
        window = int(round((a.timeline["end"] - a.timeline["start"]).iloc[a.window] * SR))
        assert sum(decoded) == frames + window  # the blocks once, then the seconds shown (a seek)
        times, low, high = shown  # the envelope, from the same pass
        assert len(times) <= 2000 and times[-1] == pytest.approx(frames / SR, abs=0.05) and (low <= high).all()

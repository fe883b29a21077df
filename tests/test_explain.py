"""Saliency maps (emotion.explain): shape, range, determinism, speed, and meaning.

Meaning is checked by deletion: silencing (setting to the spectrogram floor) the 10 % most
salient bins must lower the top emotion's probability more than silencing a random 10 %. It
holds for a trained model; a checkpoint near chance level (e.g. a short development run that
predicts one class for everything) has no meaningful saliency, so the check on the configured
checkpoint needs one that metrics.json reports well above chance.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import SHIPPED_CHECKPOINT

from emotion import audio
from emotion.audio import speech
from emotion.explain import log_probabilities, saliency
from emotion.model.features import N_FRAMES, N_MELS, log_mel_spectrogram

FRACTION = 0.1  # share of the spectrogram's bins silenced
RANDOM_DRAWS = 3


@pytest.fixture(scope="module")
def clips(asset_flacs):
    return {p.name: speech.prepare(p) for p in asset_flacs}


def deletion_drops(predictor, clip, rng):
    """(drop of the top probability when the most salient bins are silenced, mean drop for random bins)."""
    sal = saliency(predictor, clip)
    mel = predictor.features(torch.from_numpy(clip)[None])  # what the model reads, either backbone
    floor = float(mel.amin())  # silence, the saliency baseline
    with torch.no_grad():
        logp = log_probabilities(predictor, mel)[0]
        k = int(logp.argmax())
        p0 = float(logp.exp()[k])
        n = sal.size
        m = int(FRACTION * n)

        def drop(idx):
            x = mel.clone().reshape(-1)
            x[torch.from_numpy(np.ascontiguousarray(idx))] = floor
            return p0 - float(log_probabilities(predictor, x.reshape(mel.shape)).exp()[0, k])

        top = np.argsort(-sal.ravel(), kind="stable")[:m]
        return drop(top), float(np.mean([drop(rng.choice(n, m, replace=False)) for _ in range(RANDOM_DRAWS)]))


@pytest.mark.parametrize("which", ["tiny", "configured"])
def test_map_has_the_mels_shape_is_in_0_1_and_deterministic(which, request, clips):
    predictor = request.getfixturevalue("tiny_predictor" if which == "tiny" else "shipped_predictor")
    clip = next(iter(clips.values()))
    sal = saliency(predictor, clip)
    assert sal.shape == tuple(predictor.features(torch.from_numpy(clip)[None]).shape[1:])
    if predictor.backbone.name == "cnn":
        assert sal.shape == (N_MELS, N_FRAMES) == log_mel_spectrogram(clip).shape
    assert sal.dtype == np.float32
    assert sal.min() >= 0.0 and sal.max() == pytest.approx(1.0)
    assert (sal > 0.05).mean() < 0.9  # it singles something out
    np.testing.assert_array_equal(sal, saliency(predictor, clip))
    np.testing.assert_array_equal(sal, saliency(predictor, torch.from_numpy(clip)))
    # another target gives another map; the default target is the top emotion
    probs = predictor.probabilities(torch.from_numpy(clip)[None])[0]
    top = int(probs.argmax())
    from emotion import EMOTIONS

    np.testing.assert_array_equal(sal, saliency(predictor, clip, target=EMOTIONS[top]))
    assert not np.array_equal(sal, saliency(predictor, clip, target=EMOTIONS[(top + 1) % len(EMOTIONS)]))


def test_silence_has_no_saliency_nan(tiny_predictor):
    sal = saliency(tiny_predictor, np.zeros(audio.N_SAMPLES, np.float32))
    assert np.isfinite(sal).all() and sal.min() >= 0.0 and sal.max() <= 1.0


def test_salient_bins_matter_more_than_random_ones_tiny(tiny_predictor, clips):
    """On the tiny model fitted to these very clips: over all 18 clips, silencing the salient
    10 % costs the top emotion more than silencing a random 10 %, on average and for most clips."""
    rng = np.random.default_rng(0)
    drops = np.array([deletion_drops(tiny_predictor, c, rng) for c in clips.values()])
    assert drops[:, 0].mean() > drops[:, 1].mean()
    assert (drops[:, 0] > drops[:, 1]).mean() >= 2 / 3, drops


def test_salient_bins_matter_more_than_random_ones_configured(shipped_predictor, clips):
    metrics_path = SHIPPED_CHECKPOINT.with_name("metrics.json")
    accuracy = json.loads(metrics_path.read_text())["accuracy"] if metrics_path.exists() else None
    if accuracy is None or accuracy < 0.3:
        pytest.skip(f"checkpoint accuracy {accuracy} is near chance: its saliency has no meaning to test")
    rng = np.random.default_rng(0)
    names = [
        "03-01-01-01-01-01-01.flac",
        "03-01-05-02-01-01-12.flac",
        "03-01-06-02-01-01-11.flac",
        "03-01-08-02-01-01-18.flac",
    ]
    for name in names:
        top, rand = deletion_drops(shipped_predictor, clips[name], rng)
        assert top > rand, (name, top, rand)


def test_analyze_explain_reuses_one_forward_pass_and_agrees(tiny_predictor, asset_flacs):
    """Predictor.analyze(explain=True): the same probabilities as analyze() and the same map as
    saliency(), from a single forward pass."""
    src = asset_flacs[4]
    plain, explained = tiny_predictor.analyze(src), tiny_predictor.analyze(src, explain=True)
    assert plain.saliency is None
    np.testing.assert_allclose(list(explained.probabilities.values()), list(plain.probabilities.values()), atol=1e-6)
    np.testing.assert_array_equal(explained.saliency, saliency(tiny_predictor, plain.clip))

"""Value checks of emotion.audio.corruptions and of the robustness table's out-of-fold scoring."""

import numpy as np
import pytest
import torch

from emotion.audio import N_SAMPLES, SAMPLE_RATE
from emotion.audio import corruptions as C
from emotion.labels import EMOTIONS
from emotion.training import robustness as R

SR = SAMPLE_RATE


def speech_like(seconds=1.25, pad=0.5, seed=0):
    """A voiced, amplitude-modulated harmonic signal with exact-zero padding on both sides."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    voice = sum(np.sin(2 * np.pi * 180 * h * t + rng.uniform(0, 6)) / h for h in range(1, 12))
    voice *= 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2.5 * t))
    voice = 0.3 * voice / np.abs(voice).max()
    pad_n = int(pad * SR)
    return np.concatenate([np.zeros(pad_n), voice, np.zeros(pad_n)]).astype(np.float32)


def band_power(x, lo, hi):
    """Power in [lo, hi) Hz, summed over the FFT bins."""
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return spec[(f >= lo) & (f < hi)].sum()


def per_hz(x, lo, hi):
    return band_power(x, lo, hi) / (hi - lo)


def check(out, like):
    assert out.dtype == np.float32 and out.shape == like.shape and np.all(np.isfinite(out))


@pytest.mark.parametrize("color", ["white", "pink"])
@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_add_noise_snr_is_relative_to_the_speech(color, snr_db):
    wave = speech_like()
    speech = wave != 0
    out = C.add_noise(wave, snr_db, color, np.random.default_rng(3))
    check(out, wave)
    noise = (out - wave).astype(np.float64)
    measured = 10 * np.log10(np.mean(wave[speech].astype(np.float64) ** 2) / np.mean(noise[speech] ** 2))
    assert abs(measured - snr_db) < 0.5
    assert np.all(noise[~speech] != 0)  # the padding is noisy too
    # the speech RMS ignores the padding: twice the padding, same noise level during speech
    longer = np.pad(wave, SR)
    out2 = C.add_noise(longer, snr_db, color, np.random.default_rng(3))
    noise2 = (out2 - longer)[longer != 0].astype(np.float64)
    assert np.sqrt(np.mean(noise2**2)) == pytest.approx(np.sqrt(np.mean(noise[speech] ** 2)), rel=0.06)


def test_pink_noise_is_pink_and_white_is_flat():
    silent_speech = np.full(4 * SR, 1e-3, dtype=np.float32)  # constant: all its power at DC
    pink = C.add_noise(silent_speech, 0.0, "pink", np.random.default_rng(0)) - silent_speech
    white = C.add_noise(silent_speech, 0.0, "white", np.random.default_rng(0)) - silent_speech
    assert per_hz(pink, 20, 500) > 10 * per_hz(pink, 4000, 8000)  # 1/f: about 20x here
    ratio = per_hz(white, 20, 500) / per_hz(white, 4000, 8000)
    assert 0.8 < ratio < 1.25
    # 1/f: each octave holds about the same power
    octaves = [band_power(pink, f, 2 * f) for f in (250, 500, 1000, 2000)]
    assert max(octaves) / min(octaves) < 1.3


def test_add_noise_is_seeded_and_leaves_silence_alone():
    wave = speech_like()
    a = C.add_noise(wave, 10, "pink", np.random.default_rng(7))
    assert np.array_equal(a, C.add_noise(wave, 10, "pink", np.random.default_rng(7)))
    assert not np.array_equal(a, C.add_noise(wave, 10, "pink", np.random.default_rng(8)))
    zeros = np.zeros(1000, dtype=np.float32)
    assert np.array_equal(C.add_noise(zeros, 10, "white", np.random.default_rng(0)), zeros)
    with pytest.raises(ValueError):
        C.add_noise(wave, 10, "brown", np.random.default_rng(0))


def test_gain_scales_and_clips():
    wave = speech_like() * 0.5  # peak 0.15
    up = C.gain(wave, 20 * np.log10(2))
    check(up, wave)
    np.testing.assert_allclose(up, 2 * wave, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(C.gain(wave, -6.0), wave * 10 ** (-6 / 20), rtol=1e-6)
    loud = C.gain(np.array([0.2, -0.4, 0.7, -0.9, 0.0], dtype=np.float32), 6.0206)
    np.testing.assert_allclose(loud, [0.4, -0.8, 1.0, -1.0, 0.0], atol=1e-4)
    assert np.abs(C.gain(wave, 30.0)).max() == 1.0


def test_telephone_band_limits():
    white = (0.1 * np.random.default_rng(1).standard_normal(2 * SR)).astype(np.float32)
    out = C.telephone(white)
    check(out, white)
    assert band_power(out, 3600, SR / 2 + 1) < 0.01 * band_power(white, 3600, SR / 2 + 1)
    assert band_power(out, 0, 200) < 0.01 * band_power(white, 0, 200)
    assert band_power(out, 500, 3000) > 0.9 * band_power(white, 500, 3000)
    tone = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(2 * SR) / SR)).astype(np.float32)
    kept = C.telephone(tone)
    assert np.sum(kept[1000:-1000] ** 2) > 0.9 * np.sum(tone[1000:-1000] ** 2)
    for n in (1, 37, 8001):  # odd and tiny lengths keep their length
        check(C.telephone(np.ones(n, dtype=np.float32) * 0.1), np.ones(n, dtype=np.float32))


def decay_rt60(response, onset, seconds=0.4, win=320):
    """RT60 estimated from the slope of the 20-ms energy envelope after onset."""
    e = response[onset : onset + int(seconds * SR)].astype(np.float64) ** 2
    energy = np.add.reduceat(e, np.arange(0, len(e), win))[:-1]
    t = (np.arange(len(energy)) * win + win / 2) / SR
    keep = t > 0.02
    slope = np.polyfit(t[keep], 10 * np.log10(energy[keep]), 1)[0]  # dB per second
    return -60.0 / slope


@pytest.mark.parametrize("rt60", [0.3, 0.5, 0.8])
def test_reverb_decays_over_rt60(rt60):
    impulse = np.zeros(2 * SR, dtype=np.float32)
    impulse[4000] = 0.5
    out = C.reverb(impulse, np.random.default_rng(0), rt60=rt60)
    check(out, impulse)
    assert np.abs(out[:4000]).max() < 1e-6  # causal: nothing before the direct path
    assert np.abs(out).max() == pytest.approx(0.5, rel=1e-6)  # the input's peak level
    assert decay_rt60(out, 4000, seconds=min(0.4, rt60 * 0.8)) == pytest.approx(rt60, rel=0.15)
    tail = out[4000 + int(rt60 * SR) + 10 :]
    assert np.abs(tail).max() < 1e-6  # the room response lasts about rt60


def test_reverb_is_seeded_and_changes_the_signal():
    wave = speech_like()
    a = C.reverb(wave, np.random.default_rng(1))
    check(a, wave)
    assert np.array_equal(a, C.reverb(wave, np.random.default_rng(1)))
    assert not np.array_equal(a, C.reverb(wave, np.random.default_rng(2)))
    assert np.abs(a).max() == pytest.approx(np.abs(wave).max(), rel=1e-6)
    assert np.mean((a - wave) ** 2) > 0.05 * np.mean(wave**2)
    after = slice(len(wave) - int(0.5 * SR) + 10, len(wave) - int(0.5 * SR) + 2000)  # padding after the speech
    assert np.abs(a[after]).max() > 1e-3  # the room rings on into the silence


def test_conditions_table():
    assert list(C.CONDITIONS) == [
        "clean",
        "white noise 20 dB",
        "white noise 10 dB",
        "pink noise 20 dB",
        "pink noise 10 dB",
        "reverb (RT60 0.5 s)",
        "gain +12 dB",
        "gain -12 dB",
        "telephone (8 kHz band)",
    ]
    wave = speech_like()
    for name, fn in C.CONDITIONS.items():
        out = fn(wave, np.random.default_rng(0))
        check(out, wave)
        assert np.array_equal(out, fn(wave, np.random.default_rng(0))), name
        assert np.array_equal(out, wave) == (name == "clean"), name
    np.testing.assert_allclose(C.CONDITIONS["gain -12 dB"](wave, None), wave * 10 ** (-12 / 20), rtol=1e-6)


def test_random_corruption_is_reproducible_and_varied():
    wave = speech_like()
    outs = [C.random_corruption(wave, np.random.default_rng(s)) for s in range(40)]
    for s in (0, 5, 17):
        assert np.array_equal(outs[s], C.random_corruption(wave, np.random.default_rng(s)))
    for out in outs:
        check(out, wave)
    unchanged = sum(np.array_equal(o, wave) for o in outs)
    # P(no corruption) = 0.5 * 0.75 * 0.85 = 0.32: some of 40 untouched, most changed
    assert 3 <= unchanged <= 25
    noisy_padding = sum(np.abs(o[:100]).max() > 1e-4 for o in outs)  # noise reaches the padding
    assert noisy_padding >= 8


class FakePredictor:
    """Model k predicts class (code + k) % 8, where code is the wave's value at the clip's centre; so a
    clip is right only when scored by its own fold's model. Actor 9 was heard by every model."""

    labels = list(EMOTIONS)
    folds = [dict(val_actors=[1, 2]), dict(val_actors=["03"]), dict(val_actors=[4])]  # speakers as stored
    models = [None, None, None]
    train_actors = [1, 2, 3, 4, 9]

    def __init__(self):
        self.calls = []

    def logits(self, batch, models=None):
        assert batch.shape[1] == N_SAMPLES and len(models) == 1
        self.calls.append((models[0], len(batch)))
        code = torch.round(batch[:, N_SAMPLES // 2] * 10).long()
        return torch.nn.functional.one_hot((code + models[0]) % 8, 8).float() * 5


def test_robustness_scores_each_clip_by_its_fold_model_through_the_one_scorer():
    """robustness.robustness scores the corrupted waves with scoring.out_of_fold_logits (its `waves`
    hook): each clip by the fold model that held its actor out, in chunks of `batch`, over the
    predictor's labels; an actor every model heard is left out."""
    import pandas as pd
    from sklearn.metrics import f1_score

    from emotion.evaluation.scoring import out_of_fold_logits

    actors = np.array([1, 2, 3, 4, 1, 3, 4, 4, 2, 9])
    n = len(actors)
    fold_of = np.array([0, 0, 1, 2, 0, 1, 2, 2, 0, -1])
    labels = np.arange(n) % 8
    codes = (labels - fold_of) % 8  # right answer from the right fold model
    codes[[2, 7]] = (codes[[2, 7]] + 1) % 8  # two clips wrong: one of fold 1, one of fold 2
    waves = [np.full(1000 + 10 * i, c / 10.0, dtype=np.float32) for i, c in enumerate(codes)]
    frame = pd.DataFrame(dict(id=[f"c{i}" for i in range(n)], path="unused", actor=actors, label=labels))

    fake = FakePredictor()
    logits, kept, folds, excluded = out_of_fold_logits(fake, frame, batch_size=2, waves=waves)
    assert excluded == [9] and kept["id"].tolist() == [f"c{i}" for i in range(9)]
    assert folds.tolist() == fold_of[:9].tolist()
    assert fake.calls == [(0, 2), (0, 2), (1, 2), (2, 2), (2, 1)]  # chunks of <= batch per fold
    pred = logits.argmax(1).numpy()
    assert (pred == labels[:9]).tolist() == [True, True, False, True, True, True, True, False, True]

    results = R.robustness(FakePredictor(), frame, waves, {"clean": C.CONDITIONS["clean"]}, batch=4)
    r = results["clean"]
    assert r["n"] == 9 and r["accuracy"] == pytest.approx(7 / 9)
    assert r["macro_f1"] == pytest.approx(f1_score(labels[:9], pred, labels=list(range(8)), average="macro"))
    assert 0 < r["macro_f1"] < 1
    # a corruption that shifts every code by 1 makes every clip wrong
    shift = {"shift": lambda w, rng: (w + 0.1).astype(np.float32)}
    assert R.robustness(FakePredictor(), frame, waves, shift)["shift"]["accuracy"] == 0.0
    # the table's rows: the clips of actors a fold held out ("03" and 3 are one speaker)
    assert R.fold_actors(FakePredictor(), frame)["actor"].tolist() == [1, 2, 3, 4, 1, 3, 4, 4, 2]
    with pytest.raises(ValueError, match="9 waves for 10 rows"):
        out_of_fold_logits(FakePredictor(), frame, waves=waves[:9])


def test_robustness_macro_f1_is_over_the_models_labels():
    """score() averages F1 over all of the model's labels (absent ones count 0), not a fixed eight."""
    logits = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 2]), 3).float()
    assert R.score([0, 1, 2, 2], logits, 3)["macro_f1"] == pytest.approx(1.0)
    assert R.score([0, 1, 2, 2], logits, 4)["macro_f1"] == pytest.approx(0.75)


def test_corrupt_all_seeds_per_clip():
    waves = [speech_like(seed=s) for s in range(3)]
    noisy = R.corrupt_all(waves, C.CONDITIONS["white noise 10 dB"], seed=4)
    again = R.corrupt_all(waves, C.CONDITIONS["white noise 10 dB"], seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(noisy, again))
    other = R.corrupt_all(waves, C.CONDITIONS["white noise 10 dB"], seed=5)
    assert not any(np.array_equal(a, b) for a, b in zip(noisy, other))
    # clip i uses rng (seed, i): the same noise as corrupting it alone with that generator
    assert np.array_equal(noisy[1], C.add_noise(waves[1], 10.0, "white", np.random.default_rng([4, 1])))

"""emotion.model.features: the one log-mel function of training and inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchaudio

from emotion.audio import N_SAMPLES, SAMPLE_RATE, load_audio
from emotion.audio.speech import prepare
from emotion.model import features
from emotion.model.features import N_FRAMES, N_MELS, TOP_DB, log_mel_spectrogram


@pytest.fixture(scope="module")
def clip(asset_flacs) -> np.ndarray:
    return prepare(asset_flacs[4])


def test_constants_agree():
    assert N_FRAMES == 301 and N_MELS == 64 and TOP_DB == 70.0
    assert features.FEATURE_CONFIG["sample_rate"] == SAMPLE_RATE
    assert features.FEATURE_CONFIG["hop_length"] * (N_FRAMES - 1) == N_SAMPLES


def test_prepared_clip_shape_and_range(clip):
    mel = log_mel_spectrogram(clip)
    assert mel.shape == (64, 301) and mel.dtype == torch.float32
    assert float(mel.max()) == 0.0  # dB relative to its own loudest bin
    assert float(mel.min()) == -TOP_DB  # the padding and the silences reach the floor
    assert torch.isfinite(mel).all()
    assert float(mel.std()) > 5  # not flat: speech has structure


def test_all_assets_lie_in_range(asset_batch):
    _, _, mel, _ = asset_batch
    assert mel.shape == (18, 64, 301)
    assert torch.all(mel <= 0) and torch.all(mel >= -TOP_DB)
    np.testing.assert_array_equal(mel.amax(dim=(1, 2)).numpy(), np.zeros(18, np.float32))


def test_gain_invariance(clip):
    a, b = log_mel_spectrogram(clip), log_mel_spectrogram(0.25 * clip)
    torch.testing.assert_close(a, b, atol=1e-3, rtol=0)
    c = log_mel_spectrogram(clip * (0.99 / np.abs(clip).max()))  # normalised to full scale
    torch.testing.assert_close(a, c, atol=1e-3, rtol=0)


def test_batch_equals_per_item(asset_batch):
    _, waves, _, _ = asset_batch
    batch = log_mel_spectrogram(waves[:5])
    assert batch.shape == (5, 64, 301)
    for i in range(5):
        torch.testing.assert_close(batch[i], log_mel_spectrogram(waves[i]), atol=1e-4, rtol=0)
    # numpy input == tensor input
    torch.testing.assert_close(log_mel_spectrogram(waves[:2].numpy()), batch[:2], atol=1e-5, rtol=0)


def test_path_input_equals_array_input(asset_flacs, example_wavs):
    for path in (asset_flacs[0], example_wavs[0]):
        from_path = log_mel_spectrogram(str(path))
        torch.testing.assert_close(from_path, log_mel_spectrogram(load_audio(path)), atol=1e-5, rtol=0)
        assert from_path.shape[0] == 64
        # roughly 100 frames per second of audio
        assert abs(from_path.shape[1] - len(load_audio(path)) / 160) <= 2


def test_other_rate_array_with_sample_rate_is_resampled(example_wavs):
    import soundfile as sf

    x, sr = sf.read(example_wavs[2], dtype="float32")
    assert sr == 48000
    torch.testing.assert_close(
        log_mel_spectrogram(x, sample_rate=sr), log_mel_spectrogram(load_audio(x, sr)), atol=1e-5, rtol=0
    )


def test_pathlib_path_input(asset_flacs):
    path = asset_flacs[0]
    torch.testing.assert_close(log_mel_spectrogram(Path(path)), log_mel_spectrogram(str(path)))


@pytest.mark.parametrize("freq", [300.0, 1000.0, 4000.0])
def test_a_tone_lights_the_right_mel_bin(freq):
    t = np.arange(N_SAMPLES) / SAMPLE_RATE
    mel = log_mel_spectrogram((0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32))
    fb = torchaudio.functional.melscale_fbanks(
        257, 20.0, 8000.0, 64, SAMPLE_RATE, norm="slaney", mel_scale="slaney"
    )  # (n_freqs, n_mels)
    expected = int(fb[int(round(freq / (SAMPLE_RATE / 512)))].argmax())
    loudest = mel.mean(dim=1).argmax()
    assert int(loudest) == expected
    # the loudest bin is the same in every frame but the edges
    assert (mel[:, 5:-5].argmax(dim=0) == expected).all()


def test_time_axis_is_100_frames_per_second():
    wave = np.zeros(N_SAMPLES, np.float32)
    wave[SAMPLE_RATE : SAMPLE_RATE + 160] = np.random.default_rng(0).normal(0, 0.3, 160)  # burst at 1.0 s
    energy = log_mel_spectrogram(wave).mean(dim=0)
    assert abs(int(energy.argmax()) - 100) <= 2
    assert float(energy[:90].max()) == -TOP_DB and float(energy[112:].max()) == -TOP_DB


def test_features_do_not_modify_input(clip):
    before = clip.copy()
    log_mel_spectrogram(clip)
    np.testing.assert_array_equal(clip, before)

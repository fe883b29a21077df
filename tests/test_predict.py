"""emotion.predictor and emotion.predict: the Predictor contract, checkpoint checks, and the command line."""

from __future__ import annotations

import copy
import re
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

import emotion
from emotion.audio import AudioError, load_audio
from emotion.audio.speech import prepare, speech_bounds
from emotion.clarity import top_k
from emotion.labels import EMOTIONS
from emotion.model import EmotionNet, ModelConfig
from emotion.model.checkpoint import sha256
from emotion.model.features import log_mel_spectrogram
from emotion.predict import main
from emotion.predictor import CheckpointError, Predictor


def test_package_exports():
    assert emotion.Predictor is Predictor and emotion.AudioError is AudioError
    assert emotion.CheckpointError is CheckpointError and emotion.EMOTIONS == EMOTIONS


def test_predict_returns_a_distribution_over_all_emotions(tiny_predictor, asset_flacs, example_wavs):
    tops = set()
    for path in asset_flacs[::3] + example_wavs:
        probs = tiny_predictor.predict(path)
        assert list(probs) == list(EMOTIONS)
        assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in probs.values())
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6)
        tops.add(max(probs, key=probs.get))
    assert len(tops) > 1  # the answer depends on the input


def test_probabilities_are_the_tempered_ensemble_softmax(tiny_predictor, tiny_checkpoint, asset_flacs):
    """predict = softmax(mean over fold models of logits(prepare(x)) / temperature)."""
    path = asset_flacs[5]
    mel = log_mel_spectrogram(prepare(path))[None]
    config = ModelConfig(**tiny_checkpoint["model_config"])
    logits = []
    for state in tiny_checkpoint["models"]:
        net = EmotionNet(config)
        net.load_state_dict(state)
        with torch.no_grad():
            logits.append(net.eval()(mel)[0])
    assert len(logits) == 2 and not torch.allclose(logits[0], logits[1])  # a real ensemble
    expected = torch.softmax(torch.stack(logits).mean(0) / tiny_checkpoint["temperature"], -1)[0]
    got = tiny_predictor.predict(path)
    np.testing.assert_allclose(list(got.values()), expected.double().numpy(), atol=1e-6)
    assert tiny_predictor.temperature == tiny_checkpoint["temperature"] != 1.0
    wave = torch.from_numpy(prepare(path))[None]
    torch.testing.assert_close(tiny_predictor.logits(wave, models=[1])[0], logits[1][0])


def test_path_bytes_and_array_agree(tiny_predictor, example_wavs):
    path = example_wavs[0]
    ref = tiny_predictor.predict(path)
    int16, sr = sf.read(path, dtype="int16")
    for name, probs in {
        "str path": tiny_predictor.predict(str(path)),
        "bytes": tiny_predictor.predict(path.read_bytes()),
        "int16 array": tiny_predictor.predict(int16, sample_rate=sr),
        "float array": tiny_predictor.predict(int16 / 32768.0, sample_rate=sr),
        "16 kHz array": tiny_predictor.predict(load_audio(path), sample_rate=16000),
    }.items():
        np.testing.assert_allclose(list(probs.values()), list(ref.values()), atol=1e-5, err_msg=name)


def test_predict_is_deterministic(tiny_predictor, asset_flacs):
    a = tiny_predictor.predict(asset_flacs[7])
    for _ in range(3):
        assert tiny_predictor.predict(asset_flacs[7]) == a


def test_analyze_keeps_what_the_model_saw(tiny_predictor, example_wavs):
    path = example_wavs[2]
    result = tiny_predictor.analyze(path)
    wave = load_audio(path)
    np.testing.assert_array_equal(result.wave, wave)
    assert result.speech == speech_bounds(wave)
    np.testing.assert_array_equal(result.clip, prepare(path))
    np.testing.assert_allclose(result.mel, log_mel_spectrogram(prepare(path)).numpy(), atol=1e-6)
    assert result.top == max(result.probabilities, key=result.probabilities.get)
    assert result.probabilities == tiny_predictor.predict(path)


def test_unusable_input_raises_audio_error(tiny_predictor, tmp_path):
    with pytest.raises(AudioError, match="sample"):
        tiny_predictor.predict(np.zeros(32000, np.float32))  # array without its sample rate
    with pytest.raises(AudioError):
        tiny_predictor.predict(np.zeros(32000, np.float32), sample_rate=16000)  # silence
    (tmp_path / "x.wav").write_text("not audio")
    with pytest.raises(AudioError):
        tiny_predictor.predict(tmp_path / "x.wav")


def test_top_k():
    probs = dict(zip(EMOTIONS, [0.05, 0.1, 0.3, 0.05, 0.2, 0.1, 0.15, 0.05]))
    assert top_k(probs) == [("happy", 0.3), ("angry", 0.2), ("disgust", 0.15)]
    assert [k for k, _ in top_k(probs, 8)][:3] == ["happy", "angry", "disgust"]


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_manifest_is_checked(tiny_checkpoint_path, tmp_path, asset_flacs):
    path = tmp_path / "emotion.pt"
    shutil.copy(tiny_checkpoint_path, path)
    manifest = tmp_path / "SHA256SUMS"
    manifest.write_text(f"{'0' * 64}  other.pt\n\n{sha256(path)} *emotion.pt\n")
    good = Predictor.from_checkpoint(path)  # listed and intact
    assert good.predict(asset_flacs[0]).keys() == set(EMOTIONS)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        Predictor.from_checkpoint(path)
    # the same file, unlisted, is not checked against the manifest
    manifest.write_text(f"{'0' * 64}  other.pt\n")
    shutil.copy(tiny_checkpoint_path, path)
    Predictor.from_checkpoint(path)


def test_checkpoint_manifest_with_relative_paths_is_checked(tiny_checkpoint_path, tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    path = folder / "emotion.pt"
    shutil.copy(tiny_checkpoint_path, path)
    (folder / "SHA256SUMS").write_text(f"{sha256(path)}  checkpoints/emotion.pt\n")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        Predictor.from_checkpoint(path)


def _saved(ckpt: dict, tmp_path, name="bad.pt"):
    path = tmp_path / name
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("change", ["labels repeated", "labels missing one", "format 2", "features 80 mels"])
def test_incompatible_checkpoints_raise_checkpoint_error(tiny_checkpoint, tmp_path, change):
    ckpt = copy.deepcopy(tiny_checkpoint)
    if change == "labels repeated":
        ckpt["labels"] = list(EMOTIONS[:-1]) + [EMOTIONS[0]]
    elif change == "labels missing one":
        ckpt["labels"] = list(EMOTIONS[:-1])
    elif change == "format 2":
        ckpt["format_version"] = 2
    elif change == "features 80 mels":
        ckpt["feature_config"] = dict(ckpt["feature_config"], n_mels=80)
    with pytest.raises(CheckpointError) as info:
        Predictor.from_checkpoint(_saved(ckpt, tmp_path))
    assert str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_missing_checkpoint_raises_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="No checkpoint"):
        Predictor.from_checkpoint(tmp_path / "absent.pt")


def _unreadable(kind: str, tiny_checkpoint_path, tiny_checkpoint, tmp_path):
    if kind == "random bytes":
        path = tmp_path / "x.pt"
        path.write_bytes(np.random.default_rng(0).bytes(2048))
        return path
    if kind == "truncated":
        path = tmp_path / "x.pt"
        path.write_bytes(tiny_checkpoint_path.read_bytes()[:5000])
        return path
    if kind == "not a dict":
        return _saved([1, 2, 3], tmp_path)
    if kind == "no labels key":
        return _saved({k: v for k, v in tiny_checkpoint.items() if k != "labels"}, tmp_path)
    if kind == "weights of another size":
        return _saved(
            dict(copy.deepcopy(tiny_checkpoint), model_config=dict(tiny_checkpoint["model_config"], lstm_hidden=16)),
            tmp_path,
        )
    raise KeyError(kind)


@pytest.mark.parametrize(
    "kind", ["random bytes", "truncated", "not a dict", "no labels key", "weights of another size"]
)
def test_unreadable_checkpoints_raise_checkpoint_error(kind, tiny_checkpoint_path, tiny_checkpoint, tmp_path):
    with pytest.raises(CheckpointError):
        Predictor.from_checkpoint(_unreadable(kind, tiny_checkpoint_path, tiny_checkpoint, tmp_path))


def test_checkpoint_describes_itself(tiny_checkpoint, tiny_predictor):
    assert tiny_checkpoint["labels"] == list(EMOTIONS)
    assert tiny_predictor.labels == EMOTIONS
    assert tiny_predictor.train_actors == list(range(1, 21))
    assert [f["val_actors"] for f in tiny_predictor.folds] == [list(range(11, 21)), list(range(1, 11))]
    assert len(tiny_checkpoint["normalization"]) == len(tiny_checkpoint["models"]) == 2
    np.testing.assert_allclose(
        tiny_checkpoint["normalization"][0]["mean"], tiny_checkpoint["models"][0]["mean"].numpy(), rtol=1e-6
    )
    assert "models" not in tiny_predictor.checkpoint_info


def test_shipped_checkpoint_loads_and_predicts(shipped_predictor, asset_flacs):
    probs = shipped_predictor.predict(asset_flacs[0])
    assert list(probs) == list(EMOTIONS) and sum(probs.values()) == pytest.approx(1.0, abs=1e-6)
    assert len(shipped_predictor.models) >= 1 and shipped_predictor.temperature > 0
    assert not set(shipped_predictor.train_actors) & {21, 22, 23, 24}  # the blind actors stay blind


# --------------------------------------------------------------------------- command line

LINE = re.compile(r"^(?P<path>.+)\t(?P<rest>.+)$")


def test_cli_prints_top3_per_file(tiny_checkpoint_path, tiny_predictor, asset_flacs, capsys):
    files = [str(asset_flacs[2]), str(asset_flacs[9])]
    assert main(files + ["--checkpoint", str(tiny_checkpoint_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, files):
        m = LINE.match(line)
        assert m and m["path"] == path
        pairs = re.findall(r"(\w+) (\d+)%", m["rest"])
        assert len(pairs) == 3
        expected = top_k(tiny_predictor.predict(path))
        assert [name for name, _ in pairs] == [name for name, _ in expected]
        assert [int(p) for _, p in pairs] == [round(100 * p) for _, p in expected]


def test_cli_reports_unreadable_file_and_goes_on(tiny_checkpoint_path, asset_flacs, tmp_path, capsys):
    bad = tmp_path / "broken.wav"
    bad.write_text("this is not audio")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(32000, np.float32), 16000)
    code = main([str(bad), str(asset_flacs[0]), str(silent), "--checkpoint", str(tiny_checkpoint_path)])
    assert code == 0  # at least one file worked
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{bad}\terror: ") and len(lines[0]) > len(f"{bad}\terror: ") + 10
    assert re.search(r"(\w+ \d+%\s*){3}", lines[1])
    assert lines[2].startswith(f"{silent}\terror: ")
    assert main([str(bad), "--checkpoint", str(tiny_checkpoint_path)]) == 1  # every file failed
    assert "error:" in capsys.readouterr().out

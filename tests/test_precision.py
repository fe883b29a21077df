"""Issue 25: the precision switch (auto default since issue 32, bf16 by argument or EMOTION_PRECISION)."""

import pytest

from emotion.model import precision


def test_resolve_default_and_env(monkeypatch):
    monkeypatch.delenv("EMOTION_PRECISION", raising=False)
    assert precision.resolve() == ("bf16" if precision.native_bf16() else "fp32")  # auto
    monkeypatch.setenv("EMOTION_PRECISION", "bf16")
    assert precision.resolve() == "bf16"
    assert precision.resolve("fp32") == "fp32"
    assert precision.resolve("auto") in ("fp32", "bf16")
    with pytest.raises(ValueError):
        precision.resolve("fp16")


def test_bf16_encoder_weights_give_the_autocast_encoders_states():
    """load_encoder(bf16=True) stores the convolutions' and linear layers' weights in bf16 once;
    under the bf16 context it must give exactly what autocasting the fp32 encoder gives (which
    rounds the same weights on every call), and leave the cached fp32 encoder untouched."""
    import torch

    from emotion.model import encoder

    fp32, bf16 = encoder.load_encoder(), encoder.load_encoder(bf16=True)
    assert bf16 is not fp32 and encoder.load_encoder(bf16=True) is bf16  # built once
    assert encoder.load_encoder(int8=False, bf16=False) is fp32 and encoder.load_encoder(False) is fp32  # one copy
    assert fp32.blocks[0].qkv.weight.dtype == torch.float32 and fp32.conv1.weight.dtype == torch.float32
    assert bf16.blocks[0].qkv.weight.dtype == torch.bfloat16 and bf16.conv2.weight.dtype == torch.bfloat16
    assert bf16.blocks[0].attn_ln.weight.dtype == torch.float32 and bf16.positions.dtype == torch.float32
    assert torch.equal(bf16.blocks[1].mlp1.weight, fp32.blocks[1].mlp1.weight.to(torch.bfloat16))

    mel = encoder.features(torch.randn(1, 16000, generator=torch.Generator().manual_seed(0)) * 0.1)
    with torch.inference_mode(), precision.context("bf16"):
        autocast = fp32(mel, n_layers=2)
        stored = bf16(mel, n_layers=2)
    with torch.inference_mode():
        plain = fp32(mel, n_layers=2)
    assert torch.equal(stored, autocast)
    rel = float((stored - plain).norm() / plain.norm())
    assert 0 < rel < 0.02, rel  # bf16 really ran, and stays close to fp32


def test_bf16_predictor_agrees_with_fp32_and_keeps_fp32_saliency(shipped_predictor, example_wavs):
    """A bf16 Predictor: probabilities sum to one and stay near fp32's with the same top label;
    its saliency map (gradients) is computed by the fp32 encoder, so it equals fp32's exactly."""
    import numpy as np
    import torch

    from emotion import Predictor
    from emotion.explain import saliency

    bf16 = Predictor.from_checkpoint(precision="bf16")
    assert bf16.precision == "bf16" and bf16.encoder.blocks[0].qkv.weight.dtype == torch.bfloat16
    path = str(example_wavs[0])
    a, b = shipped_predictor.analyze(path), bf16.analyze(path)
    pa, pb = np.array(list(a.probabilities.values())), np.array(list(b.probabilities.values()))
    assert abs(pb.sum() - 1) < 1e-5 and np.abs(pa - pb).max() < 0.05
    assert a.top == b.top
    np.testing.assert_array_equal(saliency(bf16, a.clip), saliency(shipped_predictor, a.clip))

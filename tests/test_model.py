"""emotion.model: the CNN-BiLSTM's contract, persistence, determinism, and that it can learn."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F

from emotion.model import EmotionNet, ModelConfig

TINY = dict(channels=(4, 4, 8, 8), lstm_hidden=8)


@pytest.fixture
def model() -> EmotionNet:
    torch.manual_seed(0)
    return EmotionNet(ModelConfig(**TINY))


@pytest.fixture(scope="module")
def mels(asset_batch):
    _, _, mel, labels = asset_batch
    return mel, labels


def test_forward_shapes_and_loss_contract(model, mels):
    mel, labels = mels
    x, y = mel[:3], labels[:3]
    logits, loss = model(x)
    assert logits.shape == (3, 8) and loss is None
    assert torch.isfinite(logits).all()
    logits, loss = model(x, y)
    assert loss.shape == () and torch.isfinite(loss) and float(loss.detach()) > 0
    model.eval()
    logits, loss = model(x, y)
    expected = F.cross_entropy(logits, y, label_smoothing=model.config.label_smoothing)
    torch.testing.assert_close(loss, expected)
    soft = F.one_hot(y, 8).float() * 0.7 + 0.3 / 8  # mixup-style soft targets
    _, soft_loss = model(x, soft)
    torch.testing.assert_close(soft_loss, -(soft * F.log_softmax(logits, -1)).sum(-1).mean())


@pytest.mark.parametrize("n_frames", [101, 301, 800])
def test_any_length_and_class_count(n_frames):
    torch.manual_seed(0)
    net = EmotionNet(ModelConfig(**TINY, n_classes=5)).eval()
    logits, _ = net(torch.randn(2, 64, n_frames))
    assert logits.shape == (2, 5)


def test_state_dict_round_trip_gives_identical_logits(model, mels):
    mel, _ = mels
    model.set_normalization(mel.mean(dim=(0, 2)), mel.std(dim=(0, 2)))
    model.eval()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    torch.manual_seed(123)  # a different init, overwritten by the load
    other = EmotionNet(ModelConfig(**TINY))
    other.load_state_dict(torch.load(buf, weights_only=True))
    other.eval()
    assert torch.equal(other(mel[:4])[0], model(mel[:4])[0])
    assert torch.equal(other.mean, model.mean) and torch.equal(other.std, model.std)
    assert not torch.equal(other.mean, torch.zeros(64))  # the normaliser travels in the state


def test_eval_is_deterministic_and_batch_independent(model, mels):
    mel, _ = mels
    model.eval()
    with torch.no_grad():
        a, b = model(mel[:4])[0], model(mel[:4])[0]
        assert torch.equal(a, b)
        single = torch.cat([model(mel[i : i + 1])[0] for i in range(4)])
    torch.testing.assert_close(a, single, atol=1e-5, rtol=1e-5)


def test_train_mode_uses_dropout(mels):
    torch.manual_seed(0)
    net = EmotionNet(ModelConfig(**TINY, dropout=0.5, conv_dropout=0.3)).train()
    mel, _ = mels
    with torch.no_grad():
        assert not torch.equal(net(mel[:2])[0], net(mel[:2])[0])


def test_normalisation_is_applied(model, mels):
    mel, _ = mels
    model.eval()
    before = model(mel[:2])[0]
    model.set_normalization(torch.full((64,), -30.0), torch.zeros(64))
    assert float(model.std.min()) == pytest.approx(1e-3)  # std floored, no division by zero
    after = model(mel[:2])[0]
    assert not torch.allclose(before, after)
    # standardising by (m, s) is the same as feeding (x - m) / s to an un-normalised model
    m, s = mel.mean(dim=(0, 2)), mel.std(dim=(0, 2))
    model.set_normalization(m, s)
    normalised = model(mel[:2])[0]
    model.set_normalization(torch.zeros(64), torch.ones(64))
    torch.testing.assert_close(normalised, model((mel[:2] - m[:, None]) / s[:, None])[0])


@pytest.mark.parametrize(
    "variant",
    [dict(), dict(pool_first=True), dict(pool_first=True, bf16=True)],
    ids=["default", "pool_first", "pool_first+bf16"],
)
def test_tiny_model_overfits_a_tiny_batch(asset_batch, fit_tiny_model, variant):
    paths, _, mel, labels = asset_batch
    first = {}
    for i, y in enumerate(labels.tolist()):  # one clip per emotion: 8 clips, 8 labels
        first.setdefault(y, i)
    idx = torch.tensor([first[y] for y in range(8)])
    x, y = mel[idx], labels[idx]
    assert sorted(y.tolist()) == list(range(8))
    net, losses, _ = fit_tiny_model(
        x, y, steps=80, seed=0, dropout=0.0, conv_dropout=0.0, label_smoothing=0.0, **variant
    )
    with torch.no_grad():
        logits, loss = net(x, y)
    assert (logits.argmax(1) == y).all(), logits.argmax(1)
    assert losses[0] > 1.5  # about ln 8 = 2.08 at the start
    assert float(loss) < 0.1 * losses[0]


def test_model_is_small():
    net = EmotionNet(ModelConfig())
    n = sum(p.numel() for p in net.parameters())
    assert 50_000 < n < 1_000_000
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    assert len(buf.getvalue()) < 10e6
    tiny = EmotionNet(ModelConfig(**TINY))
    assert sum(p.numel() for p in tiny.parameters()) < 10_000


def test_utterance_norm_ignores_a_clip_wide_colour_and_keeps_padding_neutral(asset_batch):
    """With utterance_norm a constant per-bin offset on the speech frames (another voice's or
    microphone's average colour) leaves the logits unchanged; without it they change."""
    _, _, mel, _ = asset_batch
    mel = mel[:4]
    active = mel.amax(dim=1, keepdim=True) > -60.0
    assert (~active).any() and active.any()  # the padded clips have both speech and padding
    colour = torch.linspace(0.0, 6.0, mel.shape[1])[None, :, None]  # a tilt towards the highs
    coloured = mel + colour * active
    assert torch.equal(coloured.amax(dim=1, keepdim=True) > -60.0, active)  # same frames count as sound
    torch.manual_seed(0)
    normed = EmotionNet(ModelConfig(utterance_norm=True)).eval()
    torch.manual_seed(0)
    plain = EmotionNet(ModelConfig()).eval()
    with torch.inference_mode():
        torch.testing.assert_close(normed(coloured)[0], normed(mel)[0], atol=1e-5, rtol=0)
        assert (plain(coloured)[0] - plain(mel)[0]).abs().max() > 1e-3


def test_pool_first_reorders_the_block_and_old_configs_keep_the_old_order(mels):
    """pool_first computes Conv -> MaxPool -> BN -> GELU (the same parameters, 4x fewer values
    through BN and GELU); a config saved before the field existed loads with the original order."""
    mel, _ = mels
    torch.manual_seed(0)
    fast = EmotionNet(ModelConfig(**TINY, pool_first=True)).eval()
    plain = EmotionNet(ModelConfig(**TINY)).eval()
    plain.load_state_dict(fast.state_dict())  # identical weights, only the order differs
    block = fast.convs[0]
    for module in (block.bn, plain.convs[0].bn):  # non-trivial BatchNorm statistics
        module.running_mean.fill_(0.3)
        module.running_var.fill_(2.0)
    x = torch.randn(2, 1, 64, 40)
    with torch.inference_mode():
        torch.testing.assert_close(block(x), F.gelu(block.bn(block.pool(block.conv(x)))))
        torch.testing.assert_close(
            plain.convs[0](x), plain.convs[0].pool(F.gelu(plain.convs[0].bn(plain.convs[0].conv(x))))
        )
        assert (fast(mel[:2])[0] - plain(mel[:2])[0]).abs().max() > 1e-4
    old = {k: v for k, v in vars(ModelConfig(**TINY)).items() if k != "pool_first"}
    assert ModelConfig(**old).pool_first is False

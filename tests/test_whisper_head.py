"""BiLSTM heads on the frozen Whisper encoder: they learn, they pack into a checkpoint the
Predictor reads, the encoder runs once for all heads, and saliency reaches the encoder's input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from emotion.labels import EMOTIONS
from emotion.model import EncoderHead, HeadConfig

TINY = dict(layers=(1, 2), proj_dim=16, lstm_hidden=8)


@pytest.fixture(scope="module")
def asset_states(asset_batch):
    """Cached-style encoder states of the 18 asset clips: (18, 3, 75, 512) float16, and labels."""
    from emotion.training.encoder_cache import encode_clips

    _, waves, _, labels = asset_batch
    return encode_clips(waves, n_layers=2, time_pool=2, desc="test"), labels.numpy()


def test_select_pools_time_and_picks_layers():
    head = EncoderHead(HeadConfig(layers=(1, 3), time_pool=2))
    states = torch.arange(4 * 2 * 6 * 1, dtype=torch.float32).reshape(4, 2, 6, 1).expand(4, 2, 6, 512)
    x = head.select(states)
    assert x.shape == (2, 2, 3, 512)
    # layer 1, clip 0, frames (0, 1) -> their mean
    assert float(x[0, 0, 0, 0]) == pytest.approx(float(states[1, 0, :2, 0].mean()))
    assert float(x[1, 1, 2, 0]) == pytest.approx(float(states[3, 1, 4:6, 0].mean()))


def test_head_learns_from_cached_states(asset_states):
    from emotion.training.heads import head_logits, train_head
    from emotion.training.recipes import HeadRecipe

    states, labels = asset_states
    idx = np.arange(len(labels))
    config = HeadConfig(**TINY)
    states = np.ascontiguousarray(states[:, list(config.layers)])  # the head's layers, as the trainer keeps them
    recipe = HeadRecipe(epochs=40, lr=1e-2, batch_size=6, time_mask=0)
    untrained = head_logits(EncoderHead(config), states, idx)
    state, info, *_ = train_head([states], labels, idx, np.array([], dtype=int), config, recipe, seed=0)
    model = EncoderHead(config)
    model.load_state_dict(state)
    logits = head_logits(model, states, idx)
    loss0 = torch.nn.functional.cross_entropy(untrained, torch.as_tensor(labels)).item()
    loss1 = torch.nn.functional.cross_entropy(logits, torch.as_tensor(labels)).item()
    assert info["history"][-1]["loss"] < info["history"][0]["loss"]
    assert loss1 < 0.5 * loss0
    assert (logits.argmax(1).numpy() == labels).mean() >= 0.8  # 18 clips of 8 classes: chance is 1/8
    assert sum(info["layer_weights"]) == pytest.approx(1.0)


def test_mixup_mixes_states_and_labels_by_the_same_weight():
    from emotion.training.heads import _mix_draw
    from emotion.training.step import mixup

    x, y = torch.randn(6, 2, 5, 3), torch.tensor([0, 1, 2, 3, 4, 5])
    mixed, soft = mixup(x.clone(), y, 8, *_mix_draw(0.4, 6, np.random.default_rng(0)))
    assert soft.shape == (6, 8) and torch.allclose(soft.sum(1), torch.ones(6))
    assert torch.all(soft.argmax(1) == y)  # each clip keeps the larger share of itself
    draw = np.random.default_rng(0)  # the same draws: one weight, one pairing for the whole batch
    b = draw.beta(0.4, 0.4)
    lam, partner = max(b, 1 - b), torch.from_numpy(draw.permutation(6))
    onehot = torch.nn.functional.one_hot(y, 8).float()
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[partner], atol=1e-6)
    assert torch.allclose(soft, lam * onehot + (1 - lam) * onehot[partner], atol=1e-6)


def test_head_learns_with_mixup(asset_states):
    from emotion.training.heads import head_logits, train_head
    from emotion.training.recipes import HeadRecipe

    states, labels = asset_states
    idx = np.arange(len(labels))
    config = HeadConfig(**TINY)
    states = np.ascontiguousarray(states[:, list(config.layers)])
    recipe = HeadRecipe(epochs=40, lr=1e-2, batch_size=6, time_mask=0, mixup=0.4)
    state, info, *_ = train_head([states], labels, idx, np.array([], dtype=int), config, recipe, seed=0)
    model = EncoderHead(config)
    model.load_state_dict(state)
    logits = head_logits(model, states, idx)
    assert info["history"][-1]["loss"] < info["history"][0]["loss"]
    assert (logits.argmax(1).numpy() == labels).mean() >= 0.8  # chance is 1/8


@pytest.mark.parametrize("stats_pool, utterance_norm", [(False, False), (True, False), (True, True)])
def test_head_stack_gives_each_head_s_logits_and_gradients(stats_pool, utterance_norm):
    """The heads run as one (model.HeadStack, what the Predictor uses) give what each head gives
    alone, for a batch, and the same gradient with respect to the encoder states (saliency)."""
    from emotion.model import HeadStack

    config = HeadConfig(**TINY, stats_pool=stats_pool, utterance_norm=utterance_norm)
    heads = []
    for seed in range(3):
        torch.manual_seed(seed)
        head = EncoderHead(config).eval()
        with torch.no_grad():  # trained-looking parameters: a layer mix and LayerNorm not at their start
            for param in (head.layer_weights, head.norm.weight, head.norm.bias):
                param.add_(torch.randn_like(param))
        heads.append(head)
    x = torch.randn(4, len(config.layers), 25, config.n_state, requires_grad=True)
    alone = torch.stack([h(x)[0] for h in heads])
    grad_alone = torch.autograd.grad(alone[:, :, 2].sum(), x)[0]
    together = HeadStack(heads)(x)
    grad_together = torch.autograd.grad(together[:, :, 2].sum(), x)[0]
    assert together.shape == (3, 4, config.n_classes)
    assert torch.allclose(together, alone, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(together[0], together[1], atol=1e-3)  # the heads differ: each kept its own
    assert torch.allclose(grad_together, grad_alone, atol=1e-6, rtol=1e-4)
    with pytest.raises(ValueError, match="same config"):
        HeadStack([heads[0], EncoderHead(HeadConfig(**TINY, stats_pool=not stats_pool))])


@pytest.fixture(scope="module")
def whisper_checkpoint(tmp_path_factory):
    from emotion.model.checkpoint import build as build_checkpoint

    config = HeadConfig(**TINY)
    states = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        states.append(EncoderHead(config).state_dict())
    folds = [
        dict(fold=0, train_actors=list(range(1, 11)), val_actors=list(range(11, 21))),
        dict(fold=1, train_actors=list(range(11, 21)), val_actors=list(range(1, 11))),
    ]
    metrics = dict(n=18, accuracy=0.5, macro_f1=0.5, macro_recall=0.5, ece=0.1, ece_calibrated=0.05)
    ckpt = build_checkpoint(
        dict(states=states, folds=folds), config, 1.3, metrics, command="test", seed=0, labels=EMOTIONS
    )
    path = tmp_path_factory.mktemp("whisper_ckpt") / "tiny_whisper.pt"
    torch.save(ckpt, path)
    return path


def test_predictor_reads_a_whisper_checkpoint(whisper_checkpoint, asset_flacs):
    from emotion.model import encoder as E
    from emotion.predictor import Predictor

    p = Predictor.from_checkpoint(whisper_checkpoint)
    assert p.backbone.name == "whisper-base" and "Whisper-base" in p.description
    probs = p.predict(asset_flacs[0])
    assert list(probs) == list(EMOTIONS)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-9)
    a = p.analyze(asset_flacs[0])
    assert a.mel.shape == (E.N_MELS, 300)
    # the encoder runs once for both heads: the same as each head on its own encoder pass, averaged
    clip = torch.from_numpy(a.clip)[None]
    both = p.logits(clip)
    with torch.inference_mode():
        mel = E.features(clip)
        singles = [m(m.select(E.load_encoder()(mel, n_layers=2)))[0] for m in p.models]
    assert torch.allclose(both, torch.stack(singles).mean(0), atol=1e-5)
    assert torch.allclose(p.logits(clip, models=[1]), singles[1], atol=1e-5)
    calibrated = torch.softmax(both / 1.3, dim=-1)[0].double()
    np.testing.assert_allclose(list(probs.values()), (calibrated / calibrated.sum()).numpy(), atol=1e-6)


def test_checkpoint_on_another_encoder_is_refused(whisper_checkpoint):
    from emotion.predictor import CheckpointError, Predictor

    ckpt = torch.load(whisper_checkpoint, weights_only=True)
    ckpt["encoder"]["sha256"] = "0" * 64
    with pytest.raises(CheckpointError, match="another encoder"):
        Predictor(ckpt)


def test_saliency_reaches_the_spectrogram_the_encoder_reads(whisper_checkpoint, asset_flacs):
    from emotion.explain import saliency
    from emotion.predictor import Predictor

    p = Predictor.from_checkpoint(whisper_checkpoint)
    a = p.analyze(asset_flacs[3])
    sal = saliency(p, a.clip)
    assert sal.shape == a.mel.shape == (80, 300)
    assert 0.0 <= sal.min() and sal.max() == pytest.approx(1.0)
    assert np.array_equal(sal, saliency(p, a.clip))  # deterministic


def test_train_cli_trains_heads_with_nested_calibration(asset_flacs, tmp_path, monkeypatch, capsys):
    """The whole --backbone whisper-base recipe on the 18 asset clips (3 actors folds)."""
    import json

    import emotion.training.encoder_cache as TH
    from emotion.predictor import Predictor
    from emotion.training.train import main

    monkeypatch.setattr(TH, "CACHE_DIR", tmp_path / "cache")
    out = tmp_path / "run" / "emotion.pt"
    rc = main(
        [
            "--backbone",
            "whisper-base",
            "--data-dir",
            str(asset_flacs[0].parent),
            "--folds",
            "3",
            "--epochs",
            "2",
            "--variants",
            "1",
            "--layers",
            "1",
            "2",
            "--proj-dim",
            "16",
            "--lstm-hidden",
            "8",
            "--select",
            "last",
            "--calibrate",
            "nested",
            "--batch-size",
            "4",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    metrics = json.loads(out.with_name("metrics.json").read_text())
    cal = metrics["ensemble_calibration"]
    # the shipped temperature is the nested ensemble's, the single heads' is kept for comparison
    assert cal["single_model_temperature"] == pytest.approx(metrics["temperature"])
    assert np.isfinite(cal["temperature"]) and np.isfinite(cal["ece_calibrated"])
    p = Predictor.from_checkpoint(out)
    assert len(p.models) == 3 and p.temperature == pytest.approx(cal["temperature"])
    oof = pd.read_csv(out.with_name("oof_predictions.csv"))
    assert len(oof) == sum(f.name[3:5] == "01" for f in asset_flacs) == 16  # the speech clips
    # speaker independence: each clip's fold held its actor out
    for fold in p.folds:
        assert not set(fold["val_actors"]) & set(fold["train_actors"])
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2  # clean + 1 variant, cached once


def test_whisper_predictor_ignores_gain(whisper_checkpoint, asset_flacs):
    """The level is normalised before Whisper's (absolute) log-mel: a quiet copy gets the same answer."""
    from emotion.audio import load_audio
    from emotion.predictor import Predictor

    p = Predictor.from_checkpoint(whisper_checkpoint)
    wave = load_audio(asset_flacs[5])
    loud, quiet = p.predict(wave, sample_rate=16000), p.predict(wave * 0.03, sample_rate=16000)
    np.testing.assert_allclose(list(quiet.values()), list(loud.values()), atol=2e-3)


def test_cnn_fallback_ships_beside_the_whisper_model():
    """checkpoints/cnn/ holds the from-scratch CNN: checksum-checked, loadable, with its metrics."""
    import json
    from pathlib import Path

    from emotion.predictor import Predictor

    folder = Path(__file__).resolve().parent.parent / "checkpoints" / "cnn"
    p = Predictor.from_checkpoint(folder / "emotion.pt")
    assert p.backbone.name == "cnn" and p.encoder is None and len(p.models) == 5
    assert "CNN" in p.description
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["n"] == 1200 and 0.6 < metrics["accuracy"] < 0.7
    assert {a for f in p.folds for a in f["val_actors"]} == set(range(1, 21))


def test_one_mixup_flag_sets_both_recipes():
    """--mixup is one flag of the recipe group with one default for both backbones, and the heads'
    recipe reads it (two flags of the same name once made the trainer's parser fail to build)."""
    from emotion.training import train
    from emotion.training.data import Augment
    from emotion.training.recipes import HeadRecipe

    assert HeadRecipe.mixup == Augment.mixup_alpha == 0.0  # one default for both
    args = train.parser().parse_args(["--data-dir", "x", "--mixup", "0.3"])
    assert train.head_setup(args, 8)[1].mixup == 0.3
    assert train.head_setup(train.parser().parse_args(["--data-dir", "x"]), 8)[1].mixup == 0.0
    warped = train.head_setup(train.parser().parse_args(["--data-dir", "x", "--warp", "0.1"]), 8)[1]
    assert warped.warp == 0.1 and HeadRecipe.warp == Augment.warp == 0.0  # off unless asked for


def test_with_mixup_the_corpus_critic_reads_the_mixed_corpora(asset_states, monkeypatch):
    """Mixup and the adversary together: each step's emotion targets and corpus targets are mixed by
    the same weight and pairing (a mixed clip is lam of its own corpus and 1 - lam of its partner's),
    so the critic is never told a mixed clip is wholly one corpus; and the head still learns."""
    from emotion.training import heads
    from emotion.training.recipes import HeadRecipe

    states, labels = asset_states
    idx = np.arange(len(labels))
    domains = idx % 2  # two "corpora"
    config = HeadConfig(**TINY)
    states = np.ascontiguousarray(states[:, list(config.layers)])
    seen, step = [], heads.adversarial_step

    def spy(model, critic, opt, x, y, domain, scale):
        seen.append((y.clone(), domain.clone()))
        return step(model, critic, opt, x, y, domain, scale)

    monkeypatch.setattr(heads, "adversarial_step", spy)
    recipe = HeadRecipe(epochs=30, lr=1e-2, batch_size=6, time_mask=0, mixup=0.4, adversary=0.1)
    state, info, *_ = heads.train_head([states], labels, idx, idx[:0], config, recipe, seed=0, domains=domains)
    assert len(seen) == 30 * (len(idx) // 6)
    for y, domain in seen:
        assert y.shape == (6, config.n_classes) and domain.shape == (6, 2)
        assert torch.allclose(domain.sum(1), torch.ones(6))
        lam = y.max(1).values.min()  # the batch's weight: a clip's own share where its partner's label differs
        share = domain.max(1).values  # lam where the partner is of the other corpus, 1 where of the same
        assert torch.all(torch.isclose(share, lam) | torch.isclose(share, torch.ones(6)))
    assert any(bool((d.max(1).values < 1).any()) for _, d in seen)  # some pairs cross corpora
    model = EncoderHead(config)
    model.load_state_dict(state)
    assert (heads.head_logits(model, states, idx).argmax(1).numpy() == labels).mean() >= 0.8  # chance 1/8

"""emotion.training (train, evaluate) and emotion.evaluation.scoring: fold training end to end on the asset
clips, and metrics checked against known answers and scikit-learn."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from emotion import audio
from emotion.data.ravdess import index_dataset, load_waves
from emotion.evaluation.scoring import expected_calibration_error, fit_temperature, metrics_report, reliability
from emotion.labels import EMOTIONS
from emotion.model import EmotionNet, ModelConfig
from emotion.model.checkpoint import build as build_checkpoint
from emotion.predictor import Predictor
from emotion.training.cnn import batch_logits, train_cnn_folds
from emotion.training.folds import speaker_folds
from emotion.training.recipes import CnnRecipe

TINY = ModelConfig(channels=(4, 4, 8, 8), lstm_hidden=8)


@pytest.fixture(scope="module")
def asset_frame(asset_flacs):
    frame = index_dataset(asset_flacs[0].parent)
    assert len(frame) == 18 and (frame["channel"] == "speech").sum() == 16
    return frame


@pytest.fixture(scope="module")
def folds_result(asset_frame):
    return train_cnn_folds(asset_frame, 2, TINY, CnnRecipe(epochs=2, lr=3e-3, batch_size=4), seed=0)


def test_train_folds_end_to_end(asset_frame, folds_result):
    result = folds_result
    assert len(result["states"]) == 2 and len(result["folds"]) == 2
    expected_folds = speaker_folds(asset_frame["actor"].unique(), 2)
    speech = asset_frame[asset_frame["channel"] == "speech"]
    for i, info in enumerate(result["folds"]):
        train, val = set(info["train_actors"]), set(info["val_actors"])
        assert info["fold"] == i and sorted(val) == list(expected_folds[i])
        assert not train & val  # speaker-independent
        assert train | val == set(asset_frame["actor"])
        assert info["n_val"] == speech["actor"].isin(val).sum()
        assert info["n_train"] == asset_frame["actor"].isin(train).sum()  # song clips train too
        assert [h["epoch"] for h in info["history"]] == [1, 2]
        assert info["best_epoch"] in (1, 2) and 0.0 <= info["val_macro_f1"] <= 1.0
        assert all(np.isfinite(h["loss"]) and h["loss"] > 0 for h in info["history"])
    val_sets = [set(f["val_actors"]) for f in result["folds"]]
    assert not val_sets[0] & val_sets[1]

    oof = result["oof"]
    assert sorted(oof["id"]) == sorted(speech["id"])  # every held-out speech clip, once
    assert (oof["channel"] == "speech").all()
    for _, row in oof.iterrows():
        assert row["actor"] in result["folds"][row["fold"]]["val_actors"]
        assert row["logits"].shape == (8,) and np.isfinite(row["logits"]).all()
        assert row["label"] == EMOTIONS.index(row["emotion"])


def test_oof_logits_come_from_the_kept_state(asset_frame, folds_result):
    """The stored best-epoch state reproduces the stored out-of-fold logits of its fold."""
    oof = folds_result["oof"]
    paths = asset_frame.set_index("id")["path"]
    for i, state in enumerate(folds_result["states"]):
        net = EmotionNet(TINY)
        net.load_state_dict(state)
        assert not torch.equal(net.mean, torch.zeros(64))  # normaliser fitted on the training clips
        part = oof[oof["fold"] == i]
        waves = audio.clip_batch(load_waves(list(paths.loc[part["id"]])))
        np.testing.assert_allclose(batch_logits(net, waves).numpy(), np.stack(part["logits"]), atol=1e-4)


def test_train_folds_is_reproducible_and_song_optional(asset_frame, folds_result):
    recipe = CnnRecipe(epochs=2, lr=3e-3, batch_size=4, use_song=False)
    again = train_cnn_folds(asset_frame, 2, TINY, recipe, seed=0, only_folds=[1])
    assert len(again["states"]) == 1
    info = again["folds"][0]
    assert info["fold"] == 1
    speech_actors = set(asset_frame.loc[asset_frame["channel"] == "speech", "actor"])
    assert set(info["train_actors"]) <= speech_actors  # no song-only actors without song
    assert (
        info["n_train"] == ((asset_frame["channel"] == "speech") & ~asset_frame["actor"].isin(info["val_actors"])).sum()
    )
    # fold 1's train set has no song clips anyway, so it must reproduce the first run exactly
    first = folds_result["oof"][folds_result["oof"]["fold"] == 1]
    np.testing.assert_allclose(np.stack(again["oof"]["logits"]), np.stack(first["logits"]), atol=1e-5)


def test_checkpoint_from_training_loads_in_predictor(folds_result, tmp_path, asset_flacs):
    oof = folds_result["oof"]
    logits = torch.tensor(np.stack(oof["logits"]))
    metrics = metrics_report(oof["label"].to_numpy(), logits, names=EMOTIONS)
    ckpt = build_checkpoint(folds_result, TINY, 1.3, metrics, "pytest", seed=0, labels=EMOTIONS)
    path = tmp_path / "emotion.pt"
    torch.save(ckpt, path)
    predictor = Predictor.from_checkpoint(path)  # weights_only=True: nothing but plain types
    assert len(predictor.models) == 2 and predictor.temperature == pytest.approx(1.3)
    assert predictor.train_actors == sorted(set().union(*(f["train_actors"] for f in folds_result["folds"])))
    assert [f["val_actors"] for f in predictor.folds] == [f["val_actors"] for f in folds_result["folds"]]
    assert "history" not in predictor.folds[0]
    probs = predictor.predict(asset_flacs[0])
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6)


def test_train_main_writes_a_loadable_checkpoint(asset_flacs, tmp_path, capsys):
    from emotion.training.train import main

    out = tmp_path / "ck" / "emotion.pt"
    code = main(
        [
            "--data-dir",
            str(asset_flacs[0].parent),
            "--out",
            str(out),
            "--folds",
            "2",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--channels",
            "4",
            "4",
            "8",
            "8",
            "--no-song",
        ]
    )
    assert code == 0
    metrics = json.loads(out.with_name("metrics.json").read_text())
    assert metrics["n"] == 16 and 0 <= metrics["accuracy"] <= 1
    assert len(metrics["folds"]) == 2 and np.array(metrics["confusion_matrix"]).sum() == 16
    table = pd.read_csv(out.with_name("oof_predictions.csv"))
    assert len(table) == 16 and list(table.columns[-8:]) == list(EMOTIONS)
    np.testing.assert_allclose(table[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-3)
    predictor = Predictor.from_checkpoint(out)
    assert predictor.checkpoint_info["training"]["command"].startswith("python -m emotion.training.train")
    assert "saved" in capsys.readouterr().out


def test_weight_averaging_keeps_the_averaged_model(asset_frame):
    """With --ema the averaged weights are validated and kept: the kept state reproduces the
    out-of-fold logits and differs from the raw weights, whose score is logged beside it."""
    from emotion.training.cnn import train_model
    from emotion.training.data import Augment, ClipDataset

    frame = asset_frame[asset_frame["channel"] == "speech"].reset_index(drop=True)
    waves = load_waves(list(frame["path"]))
    train = ClipDataset(frame.iloc[:12], Augment(), waves=waves[:12])
    val_waves = audio.clip_batch(waves[12:])
    val_labels = frame["label"].to_numpy()[12:]
    recipe = CnnRecipe(epochs=3, lr=3e-3, batch_size=4, ema=0.5)
    state, info, logits, last = train_model(train, val_waves, val_labels, TINY, recipe, seed=0)
    assert all("raw_val_macro_f1" in h for h in info["history"])
    net = EmotionNet(TINY)
    net.load_state_dict(state)
    np.testing.assert_allclose(batch_logits(net, val_waves).numpy(), logits.numpy(), atol=1e-4)
    raw_state, _, raw_logits, _ = train_model(train, val_waves, val_labels, TINY, replace(recipe, ema=0.0), seed=0)
    assert not torch.allclose(state["fc.weight"], raw_state["fc.weight"])


def test_select_last_keeps_the_last_epoch_without_looking_at_the_held_out_score(asset_frame):
    """select="last" keeps the final weights whatever the validation curve did: the kept state
    reproduces the last epoch's validation logits; select="best" keeps the best-scoring epoch."""
    from emotion.training.cnn import train_model
    from emotion.training.data import Augment, ClipDataset

    frame = asset_frame[asset_frame["channel"] == "speech"].reset_index(drop=True)
    waves = load_waves(list(frame["path"]))
    train = ClipDataset(frame.iloc[:12], Augment(), waves=waves[:12])
    val_waves = audio.clip_batch(waves[12:])
    val_labels = frame["label"].to_numpy()[12:]
    last_recipe = CnnRecipe(epochs=4, lr=3e-3, batch_size=4, select="last")
    state, info, logits, last = train_model(train, val_waves, val_labels, TINY, last_recipe, seed=0)
    assert info["kept_epoch"] == 4 and torch.equal(logits, last)
    assert info["val_macro_f1"] == info["history"][-1]["val_macro_f1"] <= info["best_val_macro_f1"]
    net = EmotionNet(TINY)
    net.load_state_dict(state)
    np.testing.assert_allclose(batch_logits(net, val_waves).numpy(), last.numpy(), atol=1e-4)
    train = ClipDataset(frame.iloc[:12], Augment(), waves=waves[:12])  # fresh augmentation RNG
    _, best_info, _, best_last = train_model(
        train, val_waves, val_labels, TINY, replace(last_recipe, select="best"), seed=0
    )
    assert best_info["kept_epoch"] == best_info["best_epoch"]
    assert best_info["val_macro_f1"] == max(h["val_macro_f1"] for h in best_info["history"])
    torch.testing.assert_close(best_last, last)  # same seed: the same run, only the kept epoch differs
    with pytest.raises(ValueError, match="best.*last"):
        train_model(train, val_waves, val_labels, TINY, replace(last_recipe, select="median"), seed=0)


def test_train_main_records_the_recipe(asset_flacs, tmp_path):
    from emotion.training.train import main

    out = tmp_path / "emotion.pt"
    assert (
        main(
            [
                "--data-dir",
                str(asset_flacs[0].parent),
                "--out",
                str(out),
                "--folds",
                "2",
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--channels",
                "4",
                "4",
                "8",
                "8",
                "--lstm-hidden",
                "12",
                "--ema",
                "0.9",
                "--pool-first",
                "--bf16",
                "--select",
                "last",
            ]
        )
        == 0
    )
    predictor = Predictor.from_checkpoint(out)
    assert predictor.config.lstm_hidden == 12 and predictor.config.channels == (4, 4, 8, 8)
    assert predictor.config.pool_first
    recipe = predictor.checkpoint_info["training"]["recipe"]
    assert recipe["bf16"] is True and recipe["ema"] == 0.9 and recipe["epochs"] == 2 and recipe["select"] == "last"
    assert all(f["kept_epoch"] == 2 for f in predictor.checkpoint_info["folds"])
    history = json.loads(out.with_name("history.json").read_text())
    assert [h["fold"] for h in history] == [0, 1]
    assert [e["epoch"] for e in history[0]["history"]] == [1, 2]
    assert all(0 <= e["val_macro_f1"] <= 1 and e["loss"] > 0 for e in history[1]["history"])


def test_evaluate_cli_agrees_with_training_and_keeps_speakers_apart(asset_flacs, tmp_path, capsys):
    """evaluate --folds K with the checkpoint's own fold models reproduces the out-of-fold accuracy
    the trainer wrote; --folds with another K retrains with the checkpoint's recipe; without
    --folds only actors the checkpoint never heard are scored."""
    from emotion.training.evaluate import main as evaluate
    from emotion.training.train import main as train

    data = str(asset_flacs[0].parent)
    out = tmp_path / "emotion.pt"
    assert (
        train(
            [
                "--data-dir",
                data,
                "--out",
                str(out),
                "--folds",
                "2",
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--channels",
                "4",
                "4",
                "8",
                "8",
                "--lstm-hidden",
                "8",
            ]
        )
        == 0
    )
    trained = json.loads(out.with_name("metrics.json").read_text())
    assert (
        evaluate(["--data-dir", data, "--checkpoint", str(out), "--folds", "2", "--out", str(tmp_path / "oof.json")])
        == 0
    )
    oof = json.loads((tmp_path / "oof.json").read_text())
    assert oof["n"] == trained["n"] == 16
    assert oof["accuracy"] == pytest.approx(trained["accuracy"])
    assert oof["confusion_matrix"] == trained["confusion_matrix"]
    assert "checkpoint's fold models" in oof["split"]["kind"]

    assert (
        evaluate(["--data-dir", data, "--checkpoint", str(out), "--folds", "3", "--out", str(tmp_path / "re.json")])
        == 0
    )
    assert "Training 3 fold models (2 epochs)" in capsys.readouterr().out
    again = json.loads((tmp_path / "re.json").read_text())
    assert again["n"] == 16 and len(again["split"]["folds"]) == 3

    # trained on actors 1-10 only: plain evaluation scores the speech of actors 11-20 alone
    part = tmp_path / "part.pt"
    assert (
        train(
            [
                "--data-dir",
                data,
                "--out",
                str(part),
                "--folds",
                "2",
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--channels",
                "4",
                "4",
                "8",
                "8",
                "--lstm-hidden",
                "8",
                "--actors",
                *map(str, range(1, 11)),
            ]
        )
        == 0
    )
    assert evaluate(["--data-dir", data, "--checkpoint", str(part), "--out", str(tmp_path / "held.json")]) == 0
    held = json.loads((tmp_path / "held.json").read_text())
    assert held["split"]["test_actors"] == [11, 12, 13, 14, 15, 16, 18] and held["n"] == 7
    assert not set(held["split"]["test_actors"]) & set(held["split"]["train_actors"])


def test_train_main_refuses_an_empty_selection(asset_flacs, tmp_path, capsys):
    from emotion.training.train import main

    code = main(["--data-dir", str(asset_flacs[0].parent), "--out", str(tmp_path / "x.pt"), "--actors", "23", "24"])
    assert code == 1 and not (tmp_path / "x.pt").exists()
    assert "No RAVDESS clips" in capsys.readouterr().err


def test_batch_size_larger_than_a_fold_trains_or_says_why(asset_frame):
    try:
        result = train_cnn_folds(asset_frame, 2, TINY, CnnRecipe(epochs=1, batch_size=32), seed=0, only_folds=[1])
    except ValueError as exc:
        assert "batch" in str(exc).lower(), exc
        return
    assert len(result["states"]) == 1


def test_one_fold_loop_hands_each_fit_its_speakers():
    """folds.train_folds, the loop of both recipes: fold i validates on its held-out speakers' speech,
    trains on the rest (song too unless use_song=False), and its out-of-fold rows are its fit's logits."""
    from emotion.training.folds import train_folds

    frame = pd.DataFrame(
        dict(
            id=[f"c{i}" for i in range(8)],
            actor=[3, 3, 1, 1, 2, 2, 4, 4],
            label=[0, 1, 1, 0, 0, 1, 1, 0],
            emotion=["neutral", "calm", "calm", "neutral"] * 2,
            channel=["speech", "song"] * 4,
        )
    )
    calls = []

    def fit(i, train_idx, val_idx, desc):
        calls.append((i, train_idx.tolist(), val_idx.tolist()))
        logits = torch.eye(2)[frame["label"].to_numpy()[val_idx]] * (i + 1)
        return {"w": torch.tensor(float(i))}, dict(kept_epoch=2), logits, -logits

    folds = speaker_folds(frame["actor"], 2)
    assert folds == [[1, 2], [3, 4]]
    result = train_folds(frame, folds, fit, use_song=False)
    assert calls == [(0, [0, 6], [2, 4]), (1, [2, 4], [0, 6])]  # speech only, speakers apart
    assert [f["val_actors"] for f in result["folds"]] == [[1, 2], [3, 4]]
    assert [f["train_actors"] for f in result["folds"]] == [[3, 4], [1, 2]]
    assert [(f["n_train"], f["n_val"], f["kept_epoch"]) for f in result["folds"]] == [(2, 2, 2)] * 2
    oof = result["oof"]
    assert oof["id"].tolist() == ["c0", "c2", "c4", "c6"] and oof["fold"].tolist() == [1, 0, 0, 1]
    assert [row.argmax() for row in oof["logits"]] == oof["label"].tolist()
    assert [float(row.max()) for row in oof["logits"]] == [2.0, 1.0, 1.0, 2.0]  # each clip by its own fold
    assert (oof["last_pred"] != oof["label"]).all()  # the last epoch's predictions, kept apart
    calls.clear()
    train_folds(frame, folds, fit, use_song=True, only_folds=[1])
    assert calls == [(1, [2, 3, 4, 5], [0, 6])]  # the song clips train too


def test_cnn_recipe_is_what_train_records_and_evaluate_retrains():
    from emotion.training.data import Augment

    recipe = CnnRecipe(epochs=7, ema=0.5, select="last", augment=Augment(mixup_alpha=0.2, speed_prob=0.0))
    recorded = dict(recipe.to_dict(), folds=5)
    assert recorded["augment"]["mixup_alpha"] == 0.2 and recorded["epochs"] == 7
    assert CnnRecipe.from_dict(recorded) == recipe
    old = CnnRecipe.from_dict(dict(epochs=100, lr=1e-3))  # a recipe recorded before ema, bf16, augment
    assert (old.epochs, old.lr, old.batch_size, old.ema, old.select) == (100, 1e-3, 32, 0.0, "best")
    assert old.augment == Augment() and old.use_song and not old.bf16


def test_evaluate_says_why_other_folds_of_heads_cannot_be_scored():
    from types import SimpleNamespace

    from emotion.errors import InputError
    from emotion.model.backbone import by_name
    from emotion.training.evaluate import EvaluateError, out_of_fold

    heads = SimpleNamespace(folds=[{}, {}], backbone=by_name("whisper-base"))
    args = SimpleNamespace(folds=5, data_dir="x", epochs=None, channel="speech")
    with pytest.raises(EvaluateError, match="--backbone whisper-base --folds 5") as exc:
        out_of_fold(heads, pd.DataFrame(), args)
    assert isinstance(exc.value, InputError)


# --------------------------------------------------------------------------- evaluate

LABELS = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 5])
PREDS = np.array([0, 1, 1, 1, 2, 0, 3, 3, 4, 6])


def _logits_for(preds: np.ndarray, scale: float = 4.0) -> torch.Tensor:
    return torch.from_numpy(np.eye(8, dtype=np.float32)[preds] * scale)


def test_metrics_report_on_known_predictions():
    m = metrics_report(
        LABELS,
        _logits_for(PREDS),
        temperature=2.0,
        split=dict(kind="toy"),
        ids=[f"c{i}" for i in range(10)],
        names=EMOTIONS,
    )
    assert m["n"] == 10 and m["accuracy"] == pytest.approx(0.7)
    cm = np.zeros((8, 8), int)
    for t, p in [(0, 0), (0, 1), (1, 1), (1, 1), (2, 2), (2, 0), (3, 3), (3, 3), (4, 4), (5, 6)]:
        cm[t, p] += 1  # rows true, columns predicted
    assert m["confusion_matrix"] == cm.tolist()
    assert m["confusion_matrix"] == confusion_matrix(LABELS, PREDS, labels=range(8)).tolist()
    assert m["labels"] == list(EMOTIONS)
    p, r, f, s = precision_recall_fscore_support(LABELS, PREDS, labels=list(range(8)), zero_division=0)
    for i, name in enumerate(EMOTIONS):
        got = m["per_class"][name]
        assert got == pytest.approx(dict(precision=p[i], recall=r[i], f1=f[i], support=s[i]))
    # a few by hand
    assert m["per_class"]["neutral"]["precision"] == pytest.approx(0.5)  # predicted 0 twice, 1 right
    assert m["per_class"]["calm"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["calm"]["recall"] == pytest.approx(1.0)
    assert m["per_class"]["fearful"]["recall"] == 0.0 and m["per_class"]["fearful"]["support"] == 1
    assert m["macro_f1"] == pytest.approx(f.mean()) and m["macro_recall"] == pytest.approx(r.mean())
    assert m["macro_precision"] == pytest.approx(p.mean())
    assert m["unweighted_average_recall"] == m["macro_recall"]
    assert m["predictions"]["c5"] == "neutral" and m["predictions"]["c9"] == "disgust"
    assert m["split"] == dict(kind="toy") and m["temperature"] == 2.0
    assert sum(m["reliability"]["count"]) == 10
    json.dumps(m)  # JSON-able as written to metrics.json


def test_temperature_changes_calibration_not_accuracy():
    a = metrics_report(LABELS, _logits_for(PREDS), temperature=1.0, names=EMOTIONS)
    b = metrics_report(LABELS, _logits_for(PREDS), temperature=3.0, names=EMOTIONS)
    assert a["accuracy"] == b["accuracy"] and a["confusion_matrix"] == b["confusion_matrix"]
    assert a["ece"] == b["ece"] == a["ece_calibrated"]
    assert b["ece_calibrated"] != a["ece_calibrated"]


def _calibrated_toy(n=20000, seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 8)) * scale
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    labels = np.array([rng.choice(8, p=row) for row in p])
    return z, p, labels


def test_ece_known_value_and_calibrated_vs_overconfident():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    # bin of 0.9: accuracy 1/2 vs confidence 0.9; 0.8 (right) and 0.6 (wrong) alone in their bins
    expected = 0.5 * 0.4 + 0.25 * 0.2 + 0.25 * 0.6
    assert expected_calibration_error(probs, np.array([0, 1, 1, 0])) == pytest.approx(expected)
    z, p, labels = _calibrated_toy()
    assert expected_calibration_error(p, labels) < 0.02
    hot = np.exp(3 * z - (3 * z).max(1, keepdims=True))
    hot /= hot.sum(1, keepdims=True)
    assert expected_calibration_error(hot, labels) > 0.1
    rel = reliability(p, labels)
    assert sum(rel["count"]) == len(labels) and len(rel["edges"]) == 16


def test_fit_temperature_recovers_the_scale():
    z, _, labels = _calibrated_toy(n=5000, seed=1, scale=1.5)
    y = torch.from_numpy(labels)
    assert fit_temperature(torch.from_numpy(2 * z).float(), y) == pytest.approx(2.0, abs=0.3)
    assert fit_temperature(torch.from_numpy(z).float(), y) == pytest.approx(1.0, abs=0.15)
    assert fit_temperature(torch.from_numpy(0.5 * z).float(), y) == pytest.approx(0.5, abs=0.1)


def _oof_table(path, probs, folds):
    ids = [f"03-01-0{e + 1}-01-01-01-0{i + 1}" for i, e in enumerate([0, 1, 2, 3])]
    table = pd.DataFrame(dict(id=ids, actor=[1, 2, 3, 4], fold=folds, emotion=[EMOTIONS[e] for e in [0, 1, 2, 3]]))
    for j, name in enumerate(EMOTIONS):
        table[name] = probs[:, j]
    table.to_csv(path, index=False)
    return path


def test_combine_scores_the_per_fold_ensemble(tmp_path, capsys):
    """Run A is right on clips 0-1, run B on clips 2-3, each confidently where it is right:
    their ensemble (mean log-probability) is right on all four; a run with other folds is refused."""
    from emotion.training.evaluate import combine_oof, main

    a = np.full((4, 8), 0.05)
    b = np.full((4, 8), 0.05)
    for i, true in enumerate([0, 1, 2, 3]):
        wrong = 7 - i
        (a if i < 2 else b)[i, true] = 0.65  # confident and right
        (b if i < 2 else a)[i, true], (b if i < 2 else a)[i, wrong] = 0.15, 0.55  # unsure and wrong
    a, b = a / a.sum(1, keepdims=True), b / b.sum(1, keepdims=True)
    pa = _oof_table(tmp_path / "a.csv", a, [0, 0, 1, 1])
    pb = _oof_table(tmp_path / "b.csv", b, [0, 0, 1, 1])
    labels, logp, folds, ids = combine_oof([pa, pb])
    assert list(labels) == [0, 1, 2, 3] and list(folds) == [0, 0, 1, 1]
    np.testing.assert_allclose(logp, (np.log(a) + np.log(b)) / 2)
    assert list(logp.argmax(1)) == [0, 1, 2, 3]
    assert main(["--combine", str(pa), str(pb), "--out", str(tmp_path / "ens.json")]) == 0
    ens = json.loads((tmp_path / "ens.json").read_text())
    assert ens["accuracy"] == 1.0 and ens["n"] == 4
    assert main(["--combine", str(pa), "--out", str(tmp_path / "one.json")]) == 0
    assert json.loads((tmp_path / "one.json").read_text())["accuracy"] == 0.5
    other = _oof_table(tmp_path / "c.csv", b, [0, 1, 0, 1])
    assert main(["--combine", str(pa), str(other)]) == 1
    assert "same clips in the same folds" in capsys.readouterr().err


def test_compare_is_a_paired_bootstrap_over_actors(tmp_path, capsys):
    """Base is right on actors 1-2 only, new on all four actors: the difference is +0.5 accuracy;
    new is better unless a resample draws only actors 1-2 (chance 1/16), so about 94% of the time."""
    from emotion.training.evaluate import compare_oof, main

    base = np.full((4, 8), 0.05)
    new = np.full((4, 8), 0.05)
    for i, true in enumerate([0, 1, 2, 3]):
        new[i, true] = 0.65
        base[i, true if i < 2 else 7 - i] = 0.65
    pb = _oof_table(tmp_path / "base.csv", base / base.sum(1, keepdims=True), [0, 0, 1, 1])
    pn = _oof_table(tmp_path / "new.csv", new / new.sum(1, keepdims=True), [0, 0, 1, 1])
    from emotion.training.compare import macro_f1

    rng = np.random.default_rng(0)
    for n in (1, 5, 40):  # the bootstrap's F1 is sklearn's, labels missing from a resample included
        true, pred = rng.integers(0, 8, n), rng.integers(0, 6, n)
        want = precision_recall_fscore_support(true, pred, labels=range(8), average="macro", zero_division=0)[2]
        assert macro_f1(true, pred, 8) == pytest.approx(want)
    result = compare_oof(pb, pn, n_boot=4000, seed=1)
    assert result["base"]["accuracy"] == 0.5 and result["new"]["accuracy"] == 1.0
    assert result["diff"]["accuracy"] == 0.5
    assert result["diff"]["macro_f1"] == pytest.approx(4 / 8 - 2 / 8)  # F1 over all 8 emotions
    assert result["p_new_better"]["accuracy"] == pytest.approx(15 / 16, abs=0.02)
    lo, hi = result["ci95"]["accuracy"]
    assert lo == 0.0 and hi == 1.0  # a resample of actors 1-2 only / of actors 3-4 only
    assert compare_oof(pb, pb, n_boot=200)["p_new_better"]["macro_f1"] == 0.0  # a run never beats itself
    assert main(["--compare", str(pb), str(pn), "--out", str(tmp_path / "cmp.json")]) == 0
    assert "paired bootstrap over 4 actors" in capsys.readouterr().out
    assert json.loads((tmp_path / "cmp.json").read_text())["diff"]["accuracy"] == 0.5
    other = _oof_table(tmp_path / "other.csv", new, [0, 1, 0, 1])
    assert main(["--compare", str(pb), str(other)]) == 1
    assert "same clips in the same folds" in capsys.readouterr().err


def test_merge_of_fold_parts_equals_the_whole_run(asset_flacs, tmp_path, capsys):
    """Folds trained by separate runs (--only-folds, as on a GPU, one process per fold) and packed
    with --merge give the checkpoint and out-of-fold scores of one run that trained every fold;
    parts from another recipe, or a fold twice or missing, are refused with the reason."""
    from emotion.training.train import main as train

    data = str(asset_flacs[0].parent)
    common = [
        "--data-dir",
        data,
        "--folds",
        "2",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--channels",
        "4",
        "4",
        "8",
        "8",
        "--lstm-hidden",
        "8",
        "--select",
        "last",
    ]
    whole = tmp_path / "whole" / "emotion.pt"
    assert train(common + ["--out", str(whole)]) == 0
    parts = [tmp_path / f"part{i}" / "emotion.pt" for i in (0, 1)]
    for i, part in enumerate(parts):
        assert train(common + ["--out", str(part), "--only-folds", str(i)]) == 0
    merged = tmp_path / "merged" / "emotion.pt"
    assert train(["--data-dir", data, "--out", str(merged), "--merge", str(parts[1]), str(parts[0])]) == 0

    a, b = (torch.load(p, weights_only=True) for p in (whole, merged))
    assert [f["val_actors"] for f in b["folds"]] == [f["val_actors"] for f in a["folds"]]
    for sa, sb in zip(a["models"], b["models"]):
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert b["temperature"] == pytest.approx(a["temperature"], rel=1e-4)
    ma, mb = (json.loads(p.with_name("metrics.json").read_text()) for p in (whole, merged))
    assert mb["n"] == ma["n"] == 16 and mb["accuracy"] == ma["accuracy"] and mb["macro_f1"] == ma["macro_f1"]
    assert mb["last_epoch_accuracy"] == ma["last_epoch_accuracy"] == ma["accuracy"]
    assert mb["confusion_matrix"] == ma["confusion_matrix"]
    ta, tb = (pd.read_csv(p.with_name("oof_predictions.csv")) for p in (whole, merged))
    pd.testing.assert_frame_equal(ta, tb, atol=2e-4)
    assert [len(h["history"]) for h in json.loads(merged.with_name("history.json").read_text())] == [2, 2]
    assert b["training"]["command"].count("--only-folds") == 2 and "--merge" in b["training"]["command"]

    capsys.readouterr()
    assert train(["--data-dir", data, "--out", str(tmp_path / "x.pt"), "--merge", str(parts[0]), str(parts[0])]) == 1
    assert "need each of 1-2 exactly once" in capsys.readouterr().err
    assert train(["--data-dir", data, "--out", str(tmp_path / "x.pt"), "--merge", str(parts[1])]) == 1
    assert "need each of 1-2 exactly once" in capsys.readouterr().err
    other = tmp_path / "other" / "emotion.pt"
    assert train(common[:-2] + ["--out", str(other), "--only-folds", "1"]) == 0  # --select best
    assert train(["--data-dir", data, "--out", str(tmp_path / "x.pt"), "--merge", str(parts[0]), str(other)]) == 1
    assert "another recipe" in capsys.readouterr().err and not (tmp_path / "x.pt").exists()
    assert train(["--data-dir", data, "--out", str(tmp_path / "x.pt"), "--merge", str(tmp_path / "none.pt")]) == 1
    assert "is not a checkpoint written by emotion.training.train" in capsys.readouterr().err
    # parts are read as checkpoints are (emotion.model.checkpoint.load): an altered part is refused
    (parts[0].parent / "SHA256SUMS").write_text(f"{'0' * 64}  emotion.pt\n")
    assert train(["--data-dir", data, "--out", str(tmp_path / "x.pt"), "--merge", str(parts[0]), str(parts[1])]) == 1
    assert "does not match its SHA-256" in capsys.readouterr().err and not (tmp_path / "x.pt").exists()


def test_evaluate_writes_its_table_into_a_new_folder(tmp_path):
    """--oof runs/new/oof.csv: the folder is made (it was a traceback after the whole scoring)."""
    from types import SimpleNamespace

    from emotion.training.evaluate import write_oof

    predictor = SimpleNamespace(temperature=2.0, labels=("a", "b"))
    frame = pd.DataFrame(dict(id=["x2", "x1"], actor=[1, 2], emotion=["a", "b"]))
    path = tmp_path / "new" / "deeper" / "oof.csv"
    write_oof(predictor, frame, torch.tensor([[2.0, 0.0], [0.0, 4.0]]), np.array([0, 1]), path)
    table = pd.read_csv(path)
    assert list(table["id"]) == ["x1", "x2"] and list(table.columns) == ["id", "actor", "fold", "emotion", "a", "b"]
    np.testing.assert_allclose(table[["a", "b"]].sum(axis=1), 1.0, atol=1e-3)
    assert table.loc[0, "b"] == pytest.approx(float(torch.softmax(torch.tensor([0.0, 2.0]), 0)[1]), abs=1e-4)


def test_the_blind_test_command_runs_on_the_shipped_joint_checkpoint(shipped_predictor, asset_flacs, tmp_path):
    """README's blind test (evaluate --data-dir on actors the checkpoint never heard) with the shipped
    checkpoint, whose speakers mix RAVDESS ints and "emodb-08": it sorted them together and
    raised TypeError (issue 32). Asset clips renamed as actors 21-24 stand in for the download."""
    import shutil

    from emotion.training.evaluate import main as evaluate

    folder = tmp_path / "blind"
    for k, path in enumerate(asset_flacs[:8]):
        parts = path.stem.split("-")
        parts[-1] = str(21 + k % 4)
        (folder / f"Actor_{parts[-1]}").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / f"Actor_{parts[-1]}" / ("-".join(parts) + path.suffix))
    out = tmp_path / "blind.json"
    assert evaluate(["--data-dir", str(folder), "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["split"]["test_actors"] == [21, 22, 23, 24] and report["n"] == 8
    assert "emodb-08" in report["split"]["train_actors"] and 1 in report["split"]["train_actors"]
    assert 0.0 <= report["accuracy"] <= 1.0

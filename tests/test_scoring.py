"""emotion.evaluation.scoring without Gradio: the one out-of-fold rule (which model may score which clip),
the scorer that applies it, and the metrics recompute built on it. Uses the tiny two-fold
predictor of conftest (fold 0 held out actors 11-20, fold 1 actors 1-10)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from conftest import ASSETS

from emotion import audio
from emotion.audio import speech
from emotion.data.ravdess import index_dataset
from emotion.evaluation.scoring import ENSEMBLE, out_of_fold_logits, recompute_metrics, scoring_models
from emotion.predictor import Predictor


@pytest.fixture(scope="module")
def frame():
    f = index_dataset(ASSETS / "ravdess", channels=("speech",))
    assert len(f) >= 10 and f["actor"].nunique() >= 4
    return f


def test_each_actor_gets_the_model_that_never_heard_it(tiny_predictor):
    assert scoring_models(tiny_predictor, 3) == (1,)  # actors 1-10: held out by fold 1
    assert scoring_models(tiny_predictor, 15) == (0,)  # actors 11-20: held out by fold 0
    assert scoring_models(tiny_predictor, 22) == ENSEMBLE  # no model trained on actor 22


def test_an_actor_every_model_heard_cannot_be_scored(tiny_checkpoint, frame):
    ckpt = copy.deepcopy(tiny_checkpoint)
    for f in ckpt["folds"]:  # both models trained on actor 1; neither held it out
        f["val_actors"] = [a for a in f["val_actors"] if a != 1]
        f["train_actors"] = sorted(set(f["train_actors"]) | {1})
    predictor = Predictor(ckpt)
    assert scoring_models(predictor, 1) is None
    with_actor1 = frame.copy()
    with_actor1.loc[with_actor1.index[0], "actor"] = 1
    logits, kept, folds, excluded = out_of_fold_logits(predictor, with_actor1)
    assert excluded == [1] and 1 not in set(kept["actor"])
    assert len(kept) == len(with_actor1) - 1 == len(logits) == len(folds)


def test_scorer_equals_the_held_out_model_clip_by_clip(tiny_predictor, frame):
    logits, kept, folds, excluded = out_of_fold_logits(tiny_predictor, frame, batch_size=4)
    assert excluded == [] and len(kept) == len(frame)
    for i, row in kept.iterrows():
        k = 1 if row["actor"] <= 10 else 0
        assert folds[i] == k
        wave = torch.from_numpy(speech.prepare(row["path"]))[None]
        expected = tiny_predictor.logits(wave, models=[k])[0]
        assert torch.allclose(logits[i], expected, atol=1e-5), row["id"]
        # and it is not what the other fold model says: the choice of model matters
        other = tiny_predictor.logits(wave, models=[1 - k])[0]
        assert not torch.allclose(expected, other, atol=1e-4)


def test_unseen_actors_are_scored_by_the_whole_ensemble(tiny_predictor, frame):
    unseen = frame.head(3).assign(actor=22)
    logits, kept, folds, _ = out_of_fold_logits(tiny_predictor, unseen)
    assert (folds == -1).all()
    waves = audio.clip_batch([speech.trim_silence(audio.load_audio(p)) for p in kept["path"]])
    assert torch.allclose(logits, tiny_predictor.logits(waves), atol=1e-5)


def test_recompute_reports_what_the_scorer_says(tiny_predictor, frame):
    seen = []
    metrics = recompute_metrics(tiny_predictor, ASSETS / "ravdess", progress=lambda f, d: seen.append(f))
    logits, kept, folds, _ = out_of_fold_logits(tiny_predictor, frame)
    pred = logits.argmax(1).numpy()
    assert metrics["n"] == len(kept)
    assert metrics["accuracy"] == pytest.approx(float(np.mean(pred == kept["label"].to_numpy())))
    assert np.asarray(metrics["confusion_matrix"]).sum() == len(kept)
    assert metrics["labels"] == list(tiny_predictor.labels)
    assert seen[0] == 0.0 and seen[-1] == pytest.approx(1.0)
    split = metrics["split"]
    assert sorted(a for f in split["folds"] for a in f["val_actors"]) == sorted(kept["actor"].unique())

"""The clip library (emotion.evaluation.clips on emotion.data.clip_catalogue) as error analysis, without Gradio:
every clip of the out-of-fold table is in the catalogue with its prediction, filters (predicted emotion, mistakes
only, audio here) select exactly what pandas selects from the table, every confusion-matrix cell
lists as many clips as metrics.json counts, and the bundled set (assets/ravdess160) is the
documented balanced sample whose predictions equal the out-of-fold table's.

    python -m pytest -q tests/test_clips.py
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from support import require_checkpoint

from emotion import EMOTIONS, Predictor
from emotion.data.clip_catalogue import NO_AUDIO, SCORED, TABLE_COLUMNS
from emotion.data.ravdess import parse_name
from emotion.evaluation.clips import DEFAULT_EXAMPLES_DIR, OOF, ExampleLibrary
from emotion.evaluation.report import confusion_frame, per_actor_table
from emotion.evaluation.scoring import out_of_fold_logits

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT = require_checkpoint()
OOF_PATH = CHECKPOINT.resolve().with_name("oof_predictions.csv")
METRICS_PATH = CHECKPOINT.resolve().with_name("metrics.json")
BUNDLE = ROOT / "assets" / "ravdess160"


@pytest.fixture(scope="module")
def predictor():
    return Predictor.from_checkpoint(CHECKPOINT)


@pytest.fixture(scope="module")
def oof() -> pd.DataFrame:
    if not OOF_PATH.is_file():
        pytest.skip(f"no out-of-fold table beside {CHECKPOINT}")
    table = pd.read_csv(OOF_PATH, dtype={"id": str}).set_index("id")
    table["predicted"] = np.asarray(EMOTIONS)[table[list(EMOTIONS)].to_numpy().argmax(axis=1)]
    return table


@pytest.fixture(scope="module")
def lib(predictor, oof) -> ExampleLibrary:
    return ExampleLibrary(predictor, None, OOF_PATH)  # the bundled folders, as the app without --data-dir


def test_every_out_of_fold_clip_is_listed_with_its_prediction(lib, oof):
    f = lib.frame.set_index("id")
    assert set(oof.index) <= set(f.index)
    assert (f.loc[oof.index, "predicted"] == oof["predicted"]).all()
    assert (f.loc[oof.index, "correct"] == (oof["predicted"] == oof["emotion"])).all()
    top = oof[list(EMOTIONS)].max(axis=1) / oof[list(EMOTIONS)].sum(axis=1)
    np.testing.assert_allclose(f.loc[oof.index, "probability"], top, atol=1e-9)
    # clips with audio here are exactly the bundled files; the others are marked and have no path
    here = {p.stem for d in lib.data_dirs for p in d.glob("*.flac")}
    assert set(f.index[f["audio"]]) == here
    assert f.loc[~f["audio"], "path"].isna().all()
    assert lib.path(f.index[~f["audio"]][0]) is None
    # rows with audio come first, so that the first clip of any selection plays when it can
    assert not (np.diff(lib.frame["audio"].to_numpy().astype(int)) > 0).any()


def test_table_shows_truth_prediction_and_audio(lib):
    table = lib.table(lib.filter())
    assert list(table.columns) == TABLE_COLUMNS and "path" not in table.columns
    has = table["predicted"] != ""
    assert ((table["result"] == "✓ right") == (has & (table["predicted"] == table["true emotion"]))).all()
    assert ((table["audio"] == NO_AUDIO) == ~lib.filter()["audio"].to_numpy()).all()
    assert (table.loc[has, "probability"].between(1 / len(EMOTIONS), 1)).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(emotion="sad", mistakes=True),
        dict(predicted="fearful"),
        dict(emotion="happy", predicted="surprised", sex="female"),
        dict(actor=7, intensity="strong", statement=2),
        dict(mistakes=True, audio=True),
        dict(emotion="angry", actor="12"),  # dropdowns may send text
    ],
)
def test_filters_select_what_the_table_says(lib, oof, kwargs):
    rows = lib.filter(**kwargs)
    expected = pd.Series(True, index=lib.frame.index)
    names = {i: parse_name(i) for i in lib.frame["id"]}
    ids = lib.frame["id"]
    for key, value in kwargs.items():
        if key == "emotion":
            expected &= lib.frame["emotion"] == value
        elif key == "predicted":
            expected &= ids.map(lambda i: i in oof.index and oof.at[i, "predicted"] == value)
        elif key == "mistakes":
            expected &= ids.map(lambda i: i in oof.index and oof.at[i, "predicted"] != oof.at[i, "emotion"])
        elif key == "audio":
            expected &= ids.map(lambda i: any((d / f"{i}.flac").exists() for d in lib.data_dirs))
        elif key == "sex":
            expected &= ids.map(lambda i: names[i].sex == value)
        elif key == "actor":
            expected &= ids.map(lambda i: names[i].actor == int(value))
        elif key == "intensity":
            expected &= ids.map(lambda i: names[i].intensity == value)
        elif key == "statement":
            expected &= ids.map(lambda i: names[i].statement_code == value)
    assert sorted(rows["id"]) == sorted(lib.frame.loc[expected, "id"])
    assert len(rows) > 0


def test_every_confusion_cell_lists_as_many_clips_as_it_counts(lib):
    if not METRICS_PATH.is_file():
        pytest.skip("no metrics.json")
    metrics = json.loads(METRICS_PATH.read_text())
    counts = [[len(lib.filter(emotion=t, predicted=p)) for p in metrics["labels"]] for t in metrics["labels"]]
    assert counts == metrics["confusion_matrix"]
    table = confusion_frame(metrics["confusion_matrix"], metrics["labels"])
    assert list(table.columns) == ["true ↓ / predicted →", *metrics["labels"], "total"]
    assert table["total"].tolist() == [len(lib.filter(emotion=t, predicted=SCORED)) for t in metrics["labels"]]
    # the per-actor view adds up to the same accuracy
    actors = per_actor_table(
        dict(zip(lib.frame["id"][lib.frame["predicted"] != ""], lib.frame["predicted"][lib.frame["predicted"] != ""]))
    )
    assert actors["n"].sum() == metrics["n"] and list(actors["actor"]) == sorted(actors["actor"])
    assert actors["correct"].sum() / actors["n"].sum() == pytest.approx(metrics["accuracy"])


def test_clip_without_audio_is_judged_from_the_table(lib, oof):
    clip_id = lib.frame.loc[~lib.frame["audio"], "id"].iloc[0]
    r = lib.evaluate(clip_id)
    assert r.path is None and r.source == OOF and r.predicted == oof.at[clip_id, "predicted"]


# ----- the bundle --------------------------------------------------------------------------------


def _make_bundle():
    spec = importlib.util.spec_from_file_location("make_bundle", ROOT / "assets" / "make_bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundle_is_the_documented_balanced_sample():
    assert DEFAULT_EXAMPLES_DIR == BUNDLE
    files = sorted(p.stem for p in BUNDLE.glob("*.flac"))
    assert files == sorted(_make_bundle().selection())
    names = [parse_name(i) for i in files]
    assert len(files) == 160 and all(n.channel == "speech" for n in names)
    assert Counter((n.actor, n.emotion) for n in names) == {(a, e): 1 for a in range(1, 21) for e in EMOTIONS}
    for emotion in EMOTIONS[1:]:  # neutral has one intensity only
        assert {n.intensity for n in names if n.emotion == emotion} == {"normal", "strong"}
    assert {n.statement_code for n in names} == {1, 2}
    # the 16 speech clips of assets/ravdess are in it
    assert {p.stem for p in (ROOT / "assets" / "ravdess").glob("03-01-*.flac")} <= set(files)
    size = sum(p.stat().st_size for p in BUNDLE.glob("*.flac"))
    assert size <= 10_000_000, f"the bundle is {size / 1e6:.1f} MB"


def test_bundled_copies_predict_like_the_out_of_fold_table(predictor, oof):
    """The bundled FLACs (lossless) give, through the fold model that never heard the actor,
    the out-of-fold table's probabilities within 0.01 (one clip per emotion here; all 160:
    python assets/make_bundle.py --verify)."""
    torch.set_num_threads(1)
    frame = pd.DataFrame(
        [dict(id=p.stem, path=str(p), actor=parse_name(p.name).actor) for p in sorted(BUNDLE.glob("*.flac"))[::21]]
    )
    logits, frame, _, _ = out_of_fold_logits(predictor, frame)
    probs = torch.softmax(logits / predictor.temperature, dim=-1).numpy()
    np.testing.assert_allclose(probs, oof.loc[frame["id"], list(EMOTIONS)].to_numpy(dtype=float), atol=0.01)

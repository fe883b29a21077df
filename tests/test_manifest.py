"""Training on any labelled corpus: manifests (format, checks, writers for known layouts),
speaker-grouped folds, and a 3-label model trained end to end that the rest of the product reads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from emotion.training import manifest as M

SR = 16000


def _voice(f0: float, seed: int, seconds: float = 1.2) -> np.ndarray:
    """A synthetic voiced sound: harmonics of f0 with vibrato and a 4-Hz syllable envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = f0 * (1 + 0.03 * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * 0.5 * (1 - np.cos(2 * np.pi * 4 * t))
    x = 0.2 * x + rng.normal(0, 0.002, len(t))
    pad = np.zeros(SR // 4)
    return np.concatenate([pad, x, pad]).astype(np.float32)


LABELS = dict(low=120.0, mid=240.0, high=480.0)
SPEAKERS = dict(ann=1.15, bob=0.9, cy=1.0, dee=1.25)  # each speaker's pitch factor


def _corpus(folder, per_label: int = 3) -> pd.DataFrame:
    """3 labels x 4 speakers x per_label clips under folder/audio; the manifest rows (relative paths)."""
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    rows, seed = [], 0
    for speaker, factor in SPEAKERS.items():
        for label, f0 in LABELS.items():
            for i in range(per_label):
                seed += 1
                name = f"audio/{speaker}_{label}_{i}.wav"
                sf.write(folder / name, _voice(f0 * factor * (1 + 0.04 * i), seed), SR)
                rows.append(dict(path=name, label=label, speaker=speaker))
    return pd.DataFrame(rows)


# ----- layouts ----------------------------------------------------------------------------

LAYOUT_FILES = {
    "ravdess": {
        "Actor_03/03-01-05-02-01-01-03.wav": ("angry", "03"),
        "Actor_12/03-01-01-01-02-02-12.flac": ("neutral", "12"),
        "Actor_03/03-02-03-01-01-01-03.wav": None,
    },  # song: left out without --song
    "emodb": {
        "wav/03a01Fa.wav": ("happiness", "03"),
        "wav/16b10Lb.wav": ("boredom", "16"),
        "wav/11a02Wc.wav": ("anger", "11"),
        "wav/08a05Tb.wav": ("sadness", "08"),
        "wav/notes.wav": None,
    },
    "cremad": {
        "AudioWAV/1001_DFA_ANG_XX.wav": ("anger", "1001"),
        "AudioWAV/1091_TSI_NEU_XX.wav": ("neutral", "1091"),
        "AudioWAV/1045_IEO_HAP_HI.wav": ("happiness", "1045"),
    },
    "tess": {
        "OAF_angry/OAF_back_angry.wav": ("anger", "OAF"),
        "YAF_pleasant_surprised/YAF_bite_ps.wav": ("pleasant_surprise", "YAF"),
        "OAF_Sad/OAF_base_sad.wav": ("sadness", "OAF"),
    },
}


@pytest.mark.parametrize("layout", sorted(LAYOUT_FILES))
def test_each_layout_is_parsed_from_its_names(tmp_path, layout):
    for name in LAYOUT_FILES[layout]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")  # names only: no audio is read
    table = M.layout_manifest(tmp_path, layout, relative_to=tmp_path)
    got = {row.path: (row.label, row.speaker) for row in table.itertuples()}
    assert got == {k: v for k, v in LAYOUT_FILES[layout].items() if v is not None}
    assert set(table["split"]) == {"cv"}


def test_relabel_and_song_and_relative_paths(tmp_path, capsys):
    data = tmp_path / "data"
    for name in LAYOUT_FILES["ravdess"]:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(b"")
    out = tmp_path / "runs" / "m.csv"
    assert (
        M.main([str(data), "--layout", "ravdess", "--song", "--relabel", "angry=negative,neutral=", "--out", str(out)])
        == 0
    )
    table = pd.read_csv(out, dtype=str)
    assert list(table.columns) == ["path", "label", "speaker", "split"]
    assert table["label"].tolist() == ["negative", "happy"]  # neutral dropped, angry renamed
    assert table["split"].tolist() == ["cv", "train"]  # the song clip: training only
    assert all((out.parent / p).resolve() == (data / "Actor_03" / p.split("/")[-1]).resolve() for p in table["path"])
    with pytest.raises(M.ManifestError, match="old=new"):
        M.parse_relabel("angry")


# ----- folds -------------------------------------------------------------------------------


def test_no_speaker_can_be_in_two_folds():
    from emotion.training.folds import default_folds, speaker_folds

    speakers = ["dee", "ann", "10", "2", "bob", "cy", "ann"]
    for k in range(2, 7):
        folds = speaker_folds(speakers, k)
        flat = [s for f in folds for s in f]
        assert sorted(flat) == sorted(set(flat)) == sorted({"dee", "ann", "10", "2", "bob", "cy"})
        assert len(folds) == k and all(folds)
    assert speaker_folds(speakers, 6)[0] == ["2"] and speaker_folds(speakers, 6)[1] == ["10"]  # natural order
    # RAVDESS actors: the folds of the shipped recipe (the splitter actor_folds was before it)
    actors = np.arange(1, 21)
    assert speaker_folds(actors, 5) == [list(range(i, i + 4)) for i in range(1, 21, 4)]
    with pytest.raises(M.ManifestError, match="2 <= k"):
        speaker_folds(["a", "b"], 3)
    assert default_folds(3) == 3 and default_folds(40) == 5


def test_label_order_is_stable():
    from emotion.labels import EMOTIONS

    assert M.label_order(["pos", "neg", "neutral", "neg"]) == ["neg", "neutral", "pos"]
    assert M.label_order(reversed(EMOTIONS)) == list(EMOTIONS)


# ----- bad manifests -----------------------------------------------------------------------


def _write(folder, rows) -> str:
    path = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_bad_manifests_get_their_messages(tmp_path):
    table = _corpus(tmp_path, per_label=2)
    frame, labels, waves = M.read_manifest(_write(tmp_path, table))
    assert labels == ["high", "low", "mid"] and len(waves) == len(frame) == 24
    assert set(frame["channel"]) == {"speech"} and frame["label"].max() == 2
    # missing files, listed; a label with fewer than 5 clips
    bad = pd.concat(
        [
            table,
            pd.DataFrame(
                [
                    dict(path="audio/gone.wav", label="rare", speaker="ann"),
                    dict(path="lost/x.flac", label="low", speaker="bob"),
                ]
            ),
        ]
    )
    with pytest.raises(M.ManifestError) as exc:
        M.read_manifest(_write(tmp_path, bad))
    assert "2 file(s) not found" in str(exc.value) and "audio/gone.wav" in str(exc.value)
    assert "lost/x.flac" in str(exc.value) and "rare (1)" in str(exc.value)
    # a single speaker
    with pytest.raises(M.ManifestError, match="speaker-independent folds need at least 2"):
        M.read_manifest(_write(tmp_path, table.assign(speaker="ann")))
    # unreadable audio
    (tmp_path / "audio" / "broken.wav").write_bytes(b"RIFF not really audio")
    broken = pd.concat([table, pd.DataFrame([dict(path="audio/broken.wav", label="low", speaker="cy")])])
    with pytest.raises(M.ManifestError, match=r"1 file\(s\) could not be read as audio:\n  audio/broken.wav"):
        M.read_manifest(_write(tmp_path, broken))
    # columns, split values, one label, a file twice
    with pytest.raises(M.ManifestError, match="lacks speaker"):
        M.read_manifest(_write(tmp_path, table.drop(columns="speaker")))
    with pytest.raises(M.ManifestError, match="split must be"):
        M.read_manifest(_write(tmp_path, table.assign(split="dev")))
    with pytest.raises(M.ManifestError, match="2 to 30 labels"):
        M.read_manifest(_write(tmp_path, table.assign(label="x")))
    with pytest.raises(M.ManifestError, match="more than once"):
        M.read_manifest(_write(tmp_path, pd.concat([table, table.head(1)])))
    with pytest.raises(M.ManifestError, match="must name exactly"):
        M.read_manifest(_write(tmp_path, table), labels=["low", "mid"])
    # split=test rows are left out, split=train rows are training-only
    frame, _, _ = M.read_manifest(_write(tmp_path, table.assign(split=["test"] * 3 + ["train"] * 3 + [""] * 18)))
    assert len(frame) == 21 and (frame["channel"] == "extra").sum() == 3


def test_train_refuses_a_bad_manifest_with_its_message(tmp_path, capsys):
    from emotion.training import train

    path = _write(tmp_path, [dict(path="a.wav", label="x", speaker="s")])
    assert train.main(["--manifest", str(path), "--out", str(tmp_path / "m.pt")]) == 1
    err = capsys.readouterr().err
    assert "Cannot train on" in err and "1 file(s) not found" in err and "single" not in err


# ----- a 3-label model, end to end -----------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """python -m emotion.training.train --manifest on 36 synthetic clips (3 labels, 4 speakers)."""
    from emotion.training import encoder_cache, train

    folder = tmp_path_factory.mktemp("corpus")
    _write(folder, _corpus(folder))
    out = folder / "run" / "emotion.pt"
    mp = pytest.MonkeyPatch()
    mp.setattr(encoder_cache, "CACHE_DIR", folder / "cache")
    try:
        rc = train.main(
            [
                "--manifest",
                str(folder / "manifest.csv"),
                "--out",
                str(out),
                "--epochs",
                "20",
                "--variants",
                "1",
                "--no-corrupt",
                "--batch-size",
                "8",
                "--lr",
                "3e-3",
                "--proj-dim",
                "32",
                "--lstm-hidden",
                "16",
                "--select",
                "last",
                "--threads",
                "1",
            ]
        )
    finally:
        mp.undo()
    assert rc == 0
    return out


def test_a_tiny_manifest_model_learns_more_than_chance(trained):
    metrics = json.loads(trained.with_name("metrics.json").read_text())
    assert metrics["labels"] == ["high", "low", "mid"] and metrics["n"] == 36
    assert metrics["accuracy"] > 0.6, metrics["accuracy"]  # chance is 1/3, on speakers never heard
    assert metrics["split"]["corpus"] == "manifest.csv" and len(metrics["split"]["folds"]) == 4
    for fold in metrics["split"]["folds"]:  # speaker-independent: held-out speakers never trained on
        assert not set(fold["train_actors"]) & set(fold["val_actors"])
    oof = pd.read_csv(trained.with_name("oof_predictions.csv"))
    assert {"high", "low", "mid"} <= set(oof.columns) and len(oof) == 36


def test_the_product_follows_the_checkpoints_labels(trained, tmp_path):
    from emotion.charts import plot_base, timeline_plots
    from emotion.evaluation.report import split_text, summary_text
    from emotion.evaluation.scoring import out_of_fold_logits, recompute_metrics, scoring_models
    from emotion.predictor import Predictor

    p = Predictor.from_checkpoint(trained)
    assert p.labels == ("high", "low", "mid") and sorted(p.train_actors) == ["ann", "bob", "cy", "dee"]
    ravdess_like = Predictor.__new__(Predictor)  # a RAVDESS manifest's speakers "01".. are the actors 1..
    ravdess_like.folds, ravdess_like.models = [dict(val_actors=["01", "02"])], [None]
    ravdess_like.train_actors = [3, 4]
    assert scoring_models(ravdess_like, 1) == (0,) and scoring_models(ravdess_like, "04") is None
    assert scoring_models(ravdess_like, 9) == ()
    clip = _voice(130.0, 999)
    probs = p.predict(clip, sample_rate=SR)
    assert list(probs) == ["high", "low", "mid"] and max(probs, key=probs.get) == "low"
    assert scoring_models(p, "ann") == (0,) and scoring_models(p, "zed") == ()
    frame = pd.DataFrame(dict(path=[str(trained.parent.parent / "audio" / "bob_low_0.wav")], actor=["bob"]))
    logits, _, folds, _ = out_of_fold_logits(p, frame)
    assert logits.shape == (1, 3) and folds.tolist() == [1]
    long = np.concatenate([clip, np.zeros(SR), _voice(470.0, 5), np.zeros(SR // 2)])
    table = p.timeline(long, sample_rate=SR)
    assert list(table.columns) == ["start", "end", "high", "low", "mid", "emotion", "verdict", "clear", "unfamiliar"]
    chart = timeline_plots.timeline(table)  # the timeline chart in the checkpoint's labels and their colours
    assert chart["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["mid", "low", "high"]
    colors = plot_base.label_colors(["high", "low", "angry"])
    assert len(set(colors.values())) == 3 and colors["angry"] == plot_base.EMOTION_COLORS["angry"]
    metrics = json.loads(trained.with_name("metrics.json").read_text())
    assert "manifest.csv" in summary_text(metrics) and "RAVDESS" not in summary_text(metrics)
    assert "ann" in split_text(metrics)
    with pytest.raises(ValueError, match="not RAVDESS's eight"):
        recompute_metrics(p, tmp_path)


def test_batch_columns_come_from_the_checkpoint(trained, tmp_path):
    pytest.importorskip("pyarrow")
    from emotion import batch
    from emotion.batch import batch_io

    assert batch_io.schema(False, ("high", "low", "mid")).names == [
        "path",
        "duration",
        "high",
        "low",
        "mid",
        "emotion",
        "error",
        "verdict",
        "clear",
        "unfamiliar",
    ]
    audio = trained.parent.parent / "audio"
    stats = batch.run(
        [str(audio / "ann_low_0.wav"), str(audio / "dee_high_1.wav")],
        tmp_path / "out.parquet",
        checkpoint=trained,
        threads=1,
        progress=False,
    )
    assert stats["scored"] == 2
    table = pd.read_parquet(tmp_path / "out.parquet")
    assert {"high", "low", "mid"} <= set(table.columns) and set(table["emotion"]) <= {"high", "low", "mid"}
    assert np.allclose(table[["high", "low", "mid"]].sum(axis=1), 1.0)
    torch.set_num_threads(1)  # batch.run's worker set the threads of this process


def test_the_app_serves_a_three_label_checkpoint(trained):
    """app.py with the checkpoint: every tab but the RAVDESS Examples browser, the labels named."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = (
        "import json, app\n"
        "config = app.demo.get_config_file()\n"
        "tabs = [c['props'].get('label') for c in config['components'] if c['type'] == 'tabitem']\n"
        "print(json.dumps(dict(tabs=tabs, intro=app.INTRO)))\n"
    )
    env = dict(os.environ, EMOTION_CHECKPOINT=str(trained), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    shown = json.loads(out.stdout.strip().splitlines()[-1])
    assert any("Analyze" in t for t in shown["tabs"]) and any("Metrics" in t for t in shown["tabs"])
    assert any("Live" in t for t in shown["tabs"]) and not any("Examples" in t for t in shown["tabs"])
    assert "3 labels (high, low, mid)" in shown["intro"] and "manifest.csv" in shown["intro"]


def test_the_app_with_a_three_label_checkpoint_renders_every_tab_in_chromium(trained, tmp_path):
    """The served app in headless Chromium: Analyze answers with the checkpoint's labels, Live and
    Metrics (the run's confusion matrix) render, no Examples tab, no error toast."""
    import os

    from support import CHROMIUM, app_process, chromium

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from emotion.predictor import Predictor

    clip = tmp_path / "low.wav"
    sf.write(clip, _voice(125.0, 77), SR)
    expected = Predictor.from_checkpoint(trained).predict(str(clip))
    metrics = json.loads(trained.with_name("metrics.json").read_text())
    with app_process(dict(EMOTION_CHECKPOINT=str(trained), OMP_NUM_THREADS="1"), tries=240) as url:
        expect = sync_api.expect
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(url)
            for name in ("Analyze", "Live", "Metrics"):
                expect(page.get_by_role("tab", name=name)).to_be_visible()
            expect(page.get_by_role("tab", name="Examples")).to_have_count(0)
            page.get_by_label("Upload file").click()
            page.locator("input[type=file]").first.set_input_files(str(clip))
            expect(page.locator("#speech-input audio[src]")).to_have_count(1)
            page.get_by_role("button", name="Analyze", exact=True).click()
            value = page.get_by_test_id("label-output-value").first
            expect(value).to_have_text(max(expected, key=expected.get))
            page.get_by_role("tab", name="Live").click()
            page.get_by_role("tab", name="Metrics").click()
            counts = metrics["confusion_matrix"]
            expect(page.locator("#confusion-counts [data-testid=cell-0-1]")).to_have_text(str(counts[0][0]))
            expect(page.get_by_text(f"Accuracy {metrics['accuracy']:.1%}")).to_be_visible()
            assert page.locator(".toast-body").count() == 0
            browser.close()


def test_evaluate_scores_a_manifests_blind_test_split(trained, tmp_path, capsys):
    """evaluate --manifest: split=test rows of new speakers are scored by the whole ensemble (as
    Predictor.predict does), cv rows by the fold head that held their speaker out (as training's
    out-of-fold table says); labels the checkpoint does not know are refused."""
    from emotion.predictor import Predictor
    from emotion.training.evaluate import main as evaluate

    corpus = trained.parent.parent
    predictor = Predictor.from_checkpoint(trained)
    rows = pd.read_csv(corpus / "manifest.csv")
    blind = tmp_path / "audio"
    blind.mkdir()
    test_rows = []
    for i, (label, f0) in enumerate(LABELS.items()):
        for j in range(2):
            name = f"audio/eve_{label}_{j}.wav"
            sf.write(tmp_path / name, _voice(f0 * 1.05 * (1 + 0.03 * j), 1000 + 10 * i + j), SR)
            test_rows.append(dict(path=name, label=label, speaker="eve", split="test"))
    cv_rows = rows.assign(path=[str(corpus / p) for p in rows["path"]], split="")
    pd.DataFrame(test_rows + cv_rows.to_dict("records")).to_csv(tmp_path / "m.csv", index=False)

    assert (
        evaluate(
            ["--manifest", str(tmp_path / "m.csv"), "--checkpoint", str(trained), "--out", str(tmp_path / "blind.json")]
        )
        == 0
    )
    blind_metrics = json.loads((tmp_path / "blind.json").read_text())
    assert blind_metrics["n"] == 6 and blind_metrics["labels"] == list(predictor.labels)
    assert blind_metrics["split"]["unseen_actors"] == ["eve"]
    for row in test_rows:
        probs = predictor.predict(str(tmp_path / row["path"]))
        assert blind_metrics["predictions"][row["path"]] == max(probs, key=probs.get)

    assert (
        evaluate(
            [
                "--manifest",
                str(tmp_path / "m.csv"),
                "--split",
                "cv",
                "--checkpoint",
                str(trained),
                "--out",
                str(tmp_path / "cv.json"),
            ]
        )
        == 0
    )
    cv_metrics = json.loads((tmp_path / "cv.json").read_text())
    oof = pd.read_csv(trained.with_name("oof_predictions.csv")).set_index("id")
    agree = np.mean(
        [
            cv_metrics["predictions"][str(corpus / i)] == oof.loc[i, list(predictor.labels)].astype(float).idxmax()
            for i in oof.index
        ]
    )
    assert cv_metrics["n"] == 36 and agree >= 34 / 36  # the same fold heads (training scored float16 states)

    pd.DataFrame([dict(path=test_rows[0]["path"], label="shouting", speaker="eve", split="test")]).to_csv(
        tmp_path / "bad.csv", index=False
    )
    assert evaluate(["--manifest", str(tmp_path / "bad.csv"), "--checkpoint", str(trained)]) == 1
    assert "labels the checkpoint does not know: shouting" in capsys.readouterr().err


def test_compare_and_combine_take_the_runs_own_labels(trained, tmp_path):
    from emotion.training.evaluate import main as evaluate

    oof = str(trained.with_name("oof_predictions.csv"))
    assert evaluate(["--combine", oof, oof, "--out", str(tmp_path / "combined.json")]) == 0
    combined = json.loads((tmp_path / "combined.json").read_text())
    single = json.loads(trained.with_name("metrics.json").read_text())
    assert combined["labels"] == ["high", "low", "mid"] and combined["n"] == 36
    assert combined["confusion_matrix"] == single["confusion_matrix"]  # a run with itself: the same answers
    assert evaluate(["--compare", oof, oof, "--out", str(tmp_path / "compared.json")]) == 0
    compared = json.loads((tmp_path / "compared.json").read_text())
    assert compared["diff"] == dict(macro_f1=0.0, accuracy=0.0) and compared["n_actors"] == 4

"""Tests of the Gradio app: its handlers called directly, and the served app through gradio_client.

The checkpoint is $EMOTION_CHECKPOINT (default checkpoints/emotion.pt); metrics.json and
oof_predictions.csv are read from beside it. Nothing asserts a particular emotion: every
check compares the app with what Predictor (or the metrics file) says.

    EMOTION_CHECKPOINT=/tmp/devckpt/emotion.pt python -m pytest -q tests/test_app.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from support import free_port, require_checkpoint

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT = require_checkpoint()

from gradio.components.label import LabelData  # noqa: E402

import app  # noqa: E402
from emotion import EMOTIONS, Predictor
from emotion.charts import metric_plots, plots, timeline_plots  # noqa: E402
from emotion.data.clip_catalogue import ANY, ClipError  # noqa: E402
from emotion.evaluation.clips import FOLD_LIVE, OOF, SEEN, UNSEEN, ExampleLibrary  # noqa: E402
from emotion.evaluation.scoring import recompute_metrics  # noqa: E402
from emotion.predictor import PREDICT_MAX_SECONDS  # noqa: E402
from ui import analyze as analyze_tab  # noqa: E402,F401
from ui import (
    caveats,
    settings,
    timeline_panel,  # noqa: E402
)
from ui import examples as examples_tab
from ui import live as live_tab
from ui import metrics as metrics_tab

# gradio's queue uses pandas options that pandas 3 deprecates: not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")
ASSET_CLIPS = sorted((ROOT / "assets" / "ravdess").glob("*.flac"))
EXAMPLE_WAVS = sorted((ROOT / "assets" / "examples").glob("*.wav"))


@pytest.fixture(scope="module")
def predictor():
    """An independent Predictor for the same checkpoint (not the app's instance)."""
    return Predictor.from_checkpoint(CHECKPOINT)


def top(probs) -> str:
    """The headline of a label value: the top class, or the verdict a near-tie shows instead
    ("no clear emotion", ui.caveats.verdict_label)."""
    if isinstance(probs, LabelData):
        return probs.label
    return max(probs, key=probs.get)


def headline(probs: dict) -> str:
    """What the page must head a Predictor's probabilities with."""
    from emotion.clarity import verdict

    return top(caveats.verdict_label(probs, verdict(probs, None, caveats.margin())))


# ----- configuration -----------------------------------------------------------------------


def test_app_uses_the_configured_checkpoint():
    assert app.RESOURCES.checkpoint == CHECKPOINT.resolve()
    assert app.RESOURCES.metrics_path == CHECKPOINT.resolve().with_name("metrics.json")
    assert app.RESOURCES.oof_path == CHECKPOINT.resolve().with_name("oof_predictions.csv")


def test_the_audio_box_opens_for_an_upload():
    """Most first visits bring a file: the Analyze tab's audio box opens in upload mode, the
    microphone one click away (issue 33, item 14); Live records from the microphone only."""
    boxes = {c["props"].get("elem_id"): c["props"] for c in app.demo.config["components"] if c["type"] == "audio"}
    assert boxes["speech-input"]["sources"] == ["upload", "microphone"]
    assert boxes["live-input"]["sources"] == ["microphone"]


def test_deliberate_server_settings():
    assert isinstance(settings.DEFAULT_CONCURRENCY_LIMIT, int) and 1 <= settings.DEFAULT_CONCURRENCY_LIMIT <= 4
    assert app.demo._queue.default_concurrency_limit == settings.DEFAULT_CONCURRENCY_LIMIT
    assert app.demo._queue.max_size == settings.QUEUE_MAX_SIZE
    assert app.LAUNCH_KWARGS["max_file_size"] == settings.MAX_FILE_SIZE
    assert app.LAUNCH_KWARGS.get("share") is False
    # only the bundled assets, the model card (one file) and a configured dataset may be served
    allowed = [Path(p) for p in app.LAUNCH_KWARGS["allowed_paths"]]
    assert allowed[:2] == [ROOT / "assets", ROOT / "MODEL_CARD.md"]
    assert all(p in allowed[:2] or (app.RESOURCES.data_dir and p == app.RESOURCES.data_dir) for p in allowed)


def test_tab_titles_and_intro_report_measured_accuracy():
    config = app.demo.get_config_file()
    tabs = [c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"]
    assert any("Analyze" in t for t in tabs)
    assert any("Examples" in t for t in tabs)
    assert any("Metrics" in t for t in tabs)
    if app.RESOURCES.metrics:
        assert f"{app.RESOURCES.metrics['accuracy']:.0%}" in app.INTRO
        assert f"{app.RESOURCES.metrics['macro_f1']:.2f}" in app.INTRO


# ----- Analyze -------------------------------------------------------------------------------


@pytest.mark.parametrize("clip", [ASSET_CLIPS[0], EXAMPLE_WAVS[0]], ids=lambda p: p.name)
def test_analyze_agrees_with_predictor(clip, predictor):
    label, wave_fig, spec_fig, bars_fig, note = analyze_tab.analyze(str(clip))
    expected = predictor.predict(str(clip))
    assert set(label) == set(EMOTIONS)
    assert top(label) == top(expected)
    np.testing.assert_allclose([label[e] for e in EMOTIONS], [expected[e] for e in EMOTIONS], atol=1e-6)
    for chart in (wave_fig, spec_fig, bars_fig):  # Vega-Lite specs (emotion.charts.plots), drawn by the browser
        assert chart["$schema"] == plots.SCHEMA and json.loads(json.dumps(chart)) == chart
    bars = bars_fig["data"]["values"]  # the bar chart shows the label's probabilities, in the labels' order
    assert [b["emotion"] for b in bars] == list(EMOTIONS) and sum(b["top"] for b in bars) == 1
    np.testing.assert_allclose([b["p"] for b in bars], [label[e] for e in EMOTIONS], atol=5e-5)
    assert next(b for b in bars if b["top"])["emotion"] == top(label)
    assert "model heard" in note


def test_analyze_output_matches_label_component(predictor):
    """The Label shows the top 3, the first of which is the predictor's top label."""
    label = analyze_tab.analyze(str(ASSET_CLIPS[1]))[0]
    shown = gr.Label(num_top_classes=3).postprocess(label)
    assert shown.label == top(predictor.predict(str(ASSET_CLIPS[1])))
    assert len(shown.confidences) == 3


def test_silence_raises_clear_error(tmp_path):
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(32000, dtype=np.int16), 16000)
    with pytest.raises(gr.Error) as info:
        analyze_tab.analyze(str(silent))
    message = info.value.message
    assert "silent" in message and "Traceback" not in message


@pytest.mark.parametrize("content", [b"", b"this is not audio at all" * 20])
def test_bad_file_raises_clear_error(tmp_path, content):
    bad = tmp_path / "upload.wav"
    bad.write_bytes(content)
    with pytest.raises(gr.Error) as info:
        analyze_tab.analyze(str(bad))
    assert "Traceback" not in info.value.message
    assert "file" in info.value.message.lower()


def test_no_audio_raises_clear_error():
    with pytest.raises(gr.Error, match="No audio"):
        analyze_tab.analyze(None)


def test_long_silent_audio_says_why_not_too_long(tmp_path):
    # over a minute is a normal length now (the timeline judges it): silence is refused as silence
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(int(16000 * (PREDICT_MAX_SECONDS + 1)), dtype=np.int16), 16000)
    with pytest.raises(gr.Error, match="silent"):
        analyze_tab.analyze(str(long))


def test_clear_resets_every_output():
    shown = gr.update(value=None, visible=True)  # the label and charts, emptied and in their places
    assert analyze_tab.clear_analysis() == (shown, shown, shown, shown, "", "", "")  # ... the message, the caveats


def test_page_writes_a_problem_in_the_result_area(tmp_path):
    """The Analyze button never raises: the reason goes to the message panel, the plots are emptied."""
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(32000, dtype=np.int16), 16000)
    steps = list(analyze_tab.analyze_page(str(silent)))
    assert len(steps) == 1  # no saliency step after a problem
    out = steps[0]
    assert out[:4] == (gr.update(value=None, visible=False),) * 4  # emptied and hidden: no empty frames
    assert "silent" in out[5] and out[5].startswith("###")


# ----- Examples ------------------------------------------------------------------------------


def test_filter_returns_only_matching_rows():
    lib = app.RESOURCES.library
    rows = lib.filter(emotion="angry", sex="female", channel="speech")
    assert len(rows) > 0
    assert set(rows["emotion"]) == {"angry"} and set(rows["sex"]) == {"female"}
    assert set(rows["channel"]) == {"speech"}
    expected = lib.frame[(lib.frame.emotion == "angry") & (lib.frame.sex == "female") & (lib.frame.channel == "speech")]
    assert sorted(rows["id"]) == sorted(expected["id"])
    actor = int(lib.frame["actor"].iloc[0])
    assert set(lib.filter(actor=actor)["actor"]) == {actor}
    assert set(lib.filter(actor=str(actor))["actor"]) == {actor}  # dropdowns may send text
    assert set(lib.filter(statement=1)["statement"]) <= {1}
    assert len(lib.filter()) == len(lib.frame)
    assert lib.filter(emotion="no-such-emotion").empty
    with pytest.raises(ClipError):
        lib.filter(actor="../../etc")


def test_filter_handler_updates_dropdown_and_table():
    update, count, table = examples_tab.filter_examples("angry", ANY, ANY, ANY, ANY, ANY, "speech")
    ids = [value for _, value in update["choices"]]
    assert list(table["id"]) == ids
    assert set(table["true emotion"]) == {"angry"}
    assert "path" not in table.columns  # no file paths are sent to the browser
    assert update["value"] == ids[0]
    assert str(len(ids)) in count
    # the model's out-of-fold prediction is in the table, with right/wrong
    assert {"predicted", "probability", "result", "audio"} <= set(table.columns)
    assert ((table["predicted"] == "angry") == (table["result"] == "✓ right")).all()
    update, count, table = examples_tab.filter_examples("angry", ANY, ANY, ANY, ANY, ANY, "song")
    assert all(app.RESOURCES.library.get(i)["channel"] == "song" for i in table["id"])
    # mistakes only, and a predicted emotion
    _, _, wrong = examples_tab.filter_examples("sad", ANY, mistakes=True)
    assert len(wrong) and (wrong["result"] == "✗ wrong").all() and (wrong["predicted"] != "sad").all()
    _, count, cell = examples_tab.filter_examples("sad", "fearful")
    assert set(cell["predicted"]) == {"fearful"} and f"{len(cell)} matching clips" in count


@pytest.mark.parametrize(
    "bad",
    [
        "03-01-01-01-01-01-99",
        "99-99-99-99-99-99-99",
        "../../etc/passwd",
        "../ravdess/03-01-05-02-01-01-12",
        "/etc/passwd",
        "",
        "x" * 500,
        None,
        12,
    ],
)
def test_unknown_or_path_like_ids_are_rejected(bad):
    with pytest.raises(ClipError):
        app.RESOURCES.library.get(bad)
    if bad:
        with pytest.raises(gr.Error):
            examples_tab.show_example(bad)


def test_example_result_for_every_asset_clip(predictor):
    lib = app.RESOURCES.library
    oof = (
        pd.read_csv(app.RESOURCES.oof_path, dtype={"id": str}).set_index("id")
        if app.RESOURCES.oof_path.exists()
        else None
    )
    sources = set()
    for clip_id in lib.filter(audio=True)["id"]:
        path, text, probs = examples_tab.show_example(clip_id)
        r = lib.evaluate(clip_id)
        sources.add(r.source)
        assert Path(path) == Path(lib.get(clip_id)["path"])
        assert r.emotion == lib.get(clip_id)["emotion"] and f"True emotion: {r.emotion}" in text
        assert abs(sum(probs.values()) - 1) < 1e-6
        assert ("✓" in text) == r.correct and ("✗" in text) == (not r.correct)
        assert r.note in text
        seen = int(r.actor) in predictor.train_actors
        assert r.seen == seen
        if not seen:
            assert r.source == UNSEEN
            assert top(probs) == top(predictor.predict(path))
        elif oof is not None and clip_id in oof.index:
            assert r.source == OOF and r.note.startswith("out-of-fold prediction (model that never heard this actor)")
            np.testing.assert_allclose(
                [probs[e] for e in EMOTIONS], oof.loc[clip_id, list(EMOTIONS)].astype(float), atol=1e-3
            )
        else:
            assert r.source in (FOLD_LIVE, SEEN)
            if r.source == SEEN:
                assert "speaker seen in training — not a fair test" in text
                assert top(probs) == top(predictor.predict(path))
    assert sources  # at least one kind of judgement happened
    # a clip of the out-of-fold table whose audio is not here: its prediction, no audio
    silent = lib.filter()[~lib.filter()["audio"]]
    if len(silent):
        path, text, probs = examples_tab.show_example(silent["id"].iloc[0])
        assert path is None and "No audio for this clip" in text and "True emotion" in text


def test_fold_model_judges_seen_song_clip(predictor):
    """A seen actor's clip outside the out-of-fold table is scored by the fold model without that actor."""
    lib = ExampleLibrary(predictor, ROOT / "assets" / "ravdess", oof_path=None)
    for clip_id in lib.filter(channel="song")["id"]:
        r = lib.evaluate(clip_id)
        held_out = any(r.actor in f["val_actors"] for f in predictor.folds)
        if r.seen and held_out:
            assert r.source == FOLD_LIVE and r.fair
        elif r.seen:
            assert r.source == SEEN and not r.fair
        else:
            assert r.source == UNSEEN and r.fair


# ----- Metrics -------------------------------------------------------------------------------


def test_metrics_tab_shows_metrics_json():
    if not app.RESOURCES.metrics_path.exists():
        pytest.skip(f"no metrics.json beside {CHECKPOINT}")
    metrics = json.loads(app.RESOURCES.metrics_path.read_text())
    summary, counts, norm, table, split, rel, actors, status, audio_only = metrics_tab.metrics_outputs(metrics)
    assert summary.startswith("**Shipped figures**") and f"n = {metrics['n']}" in summary
    assert audio_only is False
    assert f"Accuracy {metrics['accuracy']:.1%}" in summary
    assert f"macro-F1 {metrics['macro_f1']:.3f}" in summary
    assert f"ECE {metrics['ece']:.3f} before, {metrics['ece_calibrated']:.3f} after" in summary
    assert list(table["emotion"]) == metrics["labels"]
    for _, row in table.iterrows():
        c = metrics["per_class"][row["emotion"]]
        for key in ("precision", "recall", "f1"):  # shown to 3 decimals
            assert row[key] == round(c[key], 3)
        assert row["support"] == c["support"]
    assert metrics["split"]["kind"] in split
    for fold in metrics["split"].get("folds", []):
        assert f"{fold['val_actors'][0]}-{fold['val_actors'][-1]}" in split
    # the confusion table is the one in the file: its numbers are the cells
    assert counts.data[list(metrics["labels"])].to_numpy().tolist() == metrics["confusion_matrix"]
    assert actors is not None  # accuracy per held-out actor
    # and the tab shows it at start, without a request
    assert app.RESOURCES.metrics == metrics
    config = app.demo.get_config_file()
    by_id = {c.get("props", {}).get("elem_id"): c for c in config["components"]}
    assert by_id["confusion-counts"]["props"]["value"] is not None


def test_every_confusion_cell_opens_exactly_its_clips():
    """A click on cell (true T, predicted P) of the Metrics tab's table opens the Examples tab on
    as many rows as the cell counts, all of them true T and predicted P; the true emotion's
    name and the total open all its clips with a prediction."""
    if not app.RESOURCES.metrics:
        pytest.skip("no metrics.json")
    heat = metrics_tab.metrics_outputs(app.RESOURCES.metrics)[1].data
    labels = app.RESOURCES.metrics["labels"]
    for r, true in enumerate(labels):
        for c in range(len(heat.columns)):
            evt = gr.SelectData(None, dict(index=[r, c], value=heat.iat[r, c]))
            out = examples_tab.open_cell(False, evt)
            tabs, filters, (dropdown, count, table) = out[0], out[1:-3], out[-3:]
            assert tabs.selected == "examples"
            assert set(table["true emotion"]) <= {true} and len(table) == len(dropdown["choices"])
            if 1 <= c <= len(labels):
                assert len(table) == heat.iat[r, c] and set(table["predicted"]) <= {labels[c - 1]}
                assert filters[1]["value"] == labels[c - 1] and f"{true} heard as {labels[c - 1]}" in count
            else:
                assert len(table) == heat.at[r, "total"]
            assert filters[0]["value"] == true and filters[7]["value"] is False  # mistakes only: off


def test_recompute_on_bundled_clips(predictor):
    calls = []
    metrics = recompute_metrics(predictor, ROOT / "assets" / "ravdess", progress=lambda f, d: calls.append(f))
    covered = {a for f in predictor.folds[: len(predictor.models)] for a in f["val_actors"]}
    lib = ExampleLibrary(predictor, ROOT / "assets" / "ravdess")
    speech = lib.filter(channel="speech")
    fair = speech[speech["actor"].isin(covered) | ~speech["actor"].isin(predictor.train_actors)]
    assert metrics["n"] == len(fair)
    assert sorted(metrics["predictions"]) == sorted(fair["id"])
    assert sum(map(sum, metrics["confusion_matrix"])) == len(fair)
    assert calls[0] == 0.0 and calls[-1] == pytest.approx(1.0)
    assert set(metrics["split"]["excluded_actors"]) == set(speech["actor"]) - set(fair["actor"])


def test_recompute_handler_refreshes_tab():
    out = metrics_tab.recompute(progress=lambda *a, **k: None)
    assert len(out) == 9 and "Recomputed on" in out[-2]
    # the headline itself says what was recomputed, on how many clips, and that it is not the shipped figures
    assert "Accuracy" in out[0] and "not the shipped figures" in out[0].split("\n")[0]
    n = int(out[1].data[list(EMOTIONS)].to_numpy().sum())
    assert f"n = {n} clips" in out[0].split("\n")[0] and app.RESOURCES.examples_dir.name in out[0]
    assert out[-1] is True  # cells now list only the clips with audio here
    back = metrics_tab.show_shipped()
    if app.RESOURCES.metrics:
        assert back[0].startswith("**Shipped figures**") and back[-1] is False


def test_metric_charts_carry_the_metrics():
    """The Metrics tab's charts (Vega-Lite, issue 33 item 12) hold the numbers of metrics.json: every
    cell of the row-normalised matrix (rows summing to 1), every reliability bin, every actor."""
    from emotion.evaluation.report import per_actor_table

    m = json.loads(app.RESOURCES.metrics_path.read_text()) if app.RESOURCES.metrics_path.exists() else None
    if m is None:
        pytest.skip("no metrics.json: no Metrics charts to draw")
    labels, counts = m["labels"], np.asarray(m["confusion_matrix"], float)
    norm = metric_plots.confusion(counts, labels, normalize=True)
    cells = {(c["true"], c["predicted"]): c["value"] for c in norm["data"]["values"]}
    assert len(cells) == len(labels) ** 2 and norm["width"] == "container"
    for i, t in enumerate(labels):
        np.testing.assert_allclose([cells[t, p] for p in labels], counts[i] / counts[i].sum(), atol=1e-4)
    raw = metric_plots.confusion(counts, labels)
    assert sorted(float(c["text"]) for c in raw["data"]["values"]) == sorted(counts.ravel().tolist())
    rel = metric_plots.reliability(m["reliability"], m.get("reliability_uncalibrated"), ece=m["ece_calibrated"])
    after = rel["layer"][0]["data"]["values"]
    kept = [a for a in m["reliability"]["accuracy"] if a is not None]
    np.testing.assert_allclose([b["accuracy"] for b in after], kept, atol=1e-4)
    assert any(f"ECE {m['ece_calibrated']:.3f}" in line for line in rel["title"]["subtitle"])
    table = per_actor_table(app.RESOURCES.metrics.get("predictions") or metrics_tab.shipped_predictions())
    bars = metric_plots.per_actor(table, overall=m["accuracy"])
    np.testing.assert_allclose([r["accuracy"] for r in bars["data"]["values"]], table["accuracy"], atol=1e-4)


# ----- served app ----------------------------------------------------------------------------


def test_end_to_end_predict_via_gradio_client(served_app, predictor):
    from gradio_client import Client, handle_file

    client = Client(served_app, verbose=False)
    clip = str(EXAMPLE_WAVS[0])
    result = client.predict(handle_file(clip), api_name="/predict")
    assert result[0]["label"] == top(predictor.predict(clip))
    assert [c["label"] for c in result[0]["confidences"]][0] == result[0]["label"]
    charts = [json.loads(r["plot"]) for r in result[1:4]]  # Vega-Lite specs (emotion.charts.plots) the browser draws
    assert all(r["type"] == "altair" for r in result[1:4]) and charts[0]["title"]["text"] == "Waveform"
    assert [b["emotion"] for b in charts[2]["data"]["values"]] == list(EMOTIONS)
    explained = client.predict(handle_file(clip), api_name="/explain")
    assert "saliency" in json.loads(explained["plot"])["title"]["subtitle"]
    with pytest.raises(Exception, match="silent|No speech|empty|Could not read"):
        client.predict(handle_file(str(ROOT / "assets" / "README.md")), api_name="/predict")
    _, text, _ = client.predict(app.RESOURCES.library.filter()["id"].iloc[0], api_name="/example")
    assert "True emotion" in text
    with pytest.raises(Exception, match="Not a clip id"):
        client.predict("../../etc/passwd", api_name="/example")


def test_run_as_program_honours_gradio_env(tmp_path):
    """`python app.py` serves on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (read by Gradio itself)."""
    port = free_port()
    env = dict(
        os.environ,
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        EMOTION_CHECKPOINT=str(CHECKPOINT),
        GRADIO_ANALYTICS_ENABLED="False",
    )
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2) as r:
                    config = json.loads(r.read())
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(
                        f"app.py did not serve on port {port}:\n" + proc.stdout.read().decode(errors="replace")[-2000:]
                    )
                time.sleep(0.5)
        assert config["title"] == "Speech emotion recognition"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# ----- Timeline, saliency, live (the "Beyond one clip" features) ----------------------------


def _write_speech_with_pauses(path: Path, seconds: float, gap: float = 1.5) -> Path:
    """Asset speech clips with `gap` s of silence between them, repeated up to `seconds`."""
    from emotion import audio as audio_io

    clips = [audio_io.load_audio(p) for p in ASSET_CLIPS if p.name.startswith("03-01-")][:4]
    pause = np.zeros(int(gap * 16000), np.float32)
    parts, total, i = [pause], len(pause), 0
    while total < seconds * 16000:
        parts += [clips[i % len(clips)], pause]
        total += len(clips[i % len(clips)]) + len(pause)
        i += 1
    sf.write(path, np.concatenate(parts)[: int(seconds * 16000)], 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory) -> Path:
    """~17 s: longer than one sentence, within PREDICT_MAX_SECONDS."""
    return _write_speech_with_pauses(tmp_path_factory.mktemp("long") / "three sentences.wav", 17.0)


def _assert_csv_is_the_timeline(csv_path, expected: pd.DataFrame):
    parsed = pd.read_csv(csv_path)
    assert list(parsed.columns) == list(expected.columns)
    assert list(expected.columns) == ["start", "end", *EMOTIONS, "emotion", "verdict", "clear", "unfamiliar"]
    assert len(parsed) == len(expected)
    np.testing.assert_allclose(
        parsed[["start", "end", *EMOTIONS]].to_numpy(float),
        expected[["start", "end", *EMOTIONS]].to_numpy(float),
        atol=1e-4,
    )
    assert list(parsed["emotion"]) == list(expected["emotion"])


def test_timeline_handler_matches_predictor(long_recording, predictor):
    fig, table, csv_path = timeline_panel.timeline(str(long_recording))
    expected = predictor.timeline(str(long_recording))
    assert len(expected) >= 2
    pd.testing.assert_frame_equal(table.reset_index(drop=True)[list(expected.columns)], expected.round(3))
    assert list(table.columns[:3]) == ["start", "end", "emotion"]  # visible on a phone
    _assert_csv_is_the_timeline(csv_path, expected)
    # the CSV is written where Gradio serves and cleans files from (DELETE_CACHE)
    assert Path(csv_path).resolve().is_relative_to(Path(gr.utils.get_upload_folder()).resolve())
    assert Path(csv_path).name == "three_sentences_emotion_timeline.csv"
    assert [layer["mark"]["type"] for layer in fig["layer"]] == ["rect", "area"]  # probabilities, the waveform
    assert len(fig["layer"][0]["data"]["values"]) == len(expected) * len(EMOTIONS)  # every window's stack
    shutil.rmtree(Path(csv_path).parent)  # served, Gradio would delete it (DELETE_CACHE); here we do


def test_analyze_shows_the_timeline_only_for_recordings_longer_than_a_sentence(long_recording, tmp_path, predictor):
    out = first_step(analyze_tab.analyze_page(str(ASSET_CLIPS[0])))  # one sentence: the accordion is left alone
    # out[6]: the caveats; a short recording hides the timeline's results, empty (issue 24)
    assert out[5] == "" and out[7].visible is False and out[8:] == (None,) * 3
    out = first_step(analyze_tab.analyze_page(str(long_recording)))
    assert out[7].visible is True and len(out[9]) >= 2 and Path(out[10]).is_file()
    assert top(out[0]) == headline(predictor.predict(str(long_recording)))  # the speech-weighted headline
    shutil.rmtree(Path(out[10]).parent)
    # over a minute: a normal case (was: "too long"); the headline and the timeline both come
    very_long = _write_speech_with_pauses(tmp_path / "long.wav", PREDICT_MAX_SECONDS + 5)
    out = first_step(analyze_tab.analyze_page(str(very_long)))
    assert out[5] == "" and out[7].visible is True and out[9]["end"].max() > PREDICT_MAX_SECONDS - 10
    shown = [c.label for c in out[0].confidences] if isinstance(out[0], LabelData) else [top(out[0])]
    assert shown[0] in set(out[9]["emotion"]) and "windows of speech" in out[4]  # the leading candidate
    shutil.rmtree(Path(out[10]).parent)


def test_timeline_errors_are_clear(tmp_path):
    with pytest.raises(gr.Error, match="No audio"):
        timeline_panel.timeline(None)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio" * 50)
    with pytest.raises(gr.Error) as info:
        timeline_panel.timeline(str(bad))
    assert "Traceback" not in info.value.message and "audio" in info.value.message.lower()
    assert settings.TIMELINE_MAX_SECONDS >= 30 * 60


def first_step(steps):
    """What the Analyze button shows first (analyze_page is a generator: the answer, then the saliency)."""
    return next(iter(steps))


def chart_pixels(chart) -> np.ndarray:
    """The spectrogram chart's image (a PNG data URL) as floats in [0, 1], row 0 the lowest mel band."""
    import base64
    import io

    from PIL import Image

    url = chart["data"]["values"][0]["url"]
    assert url.startswith("data:image/png;base64,")
    png = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    return np.asarray(png.convert("RGB"), dtype=float)[::-1] / 255.0


def test_analyze_draws_saliency_over_the_spectrogram(predictor):
    """The page's second step replaces only the spectrogram: the same one, with the saliency of
    the top emotion composited over it; /explain answers the same chart."""
    from emotion.explain import saliency

    clip = str(ASSET_CLIPS[2])
    first, second = analyze_tab.analyze_page(clip)
    label, _, plain, _, note = first[:5]
    spec = second[analyze_tab.PAGE_OUTPUTS.index("spec_plot")]
    panel = analyze_tab.PAGE_OUTPUTS.index("timeline_box")  # the timeline's outputs are sent again, not skipped
    assert all(v == gr.skip() for i, v in enumerate(second[:panel]) if i != analyze_tab.PAGE_OUTPUTS.index("spec_plot"))
    assert second[panel].visible is first[panel].visible is False and second[panel + 1 :] == first[panel + 1 :]
    analysis = predictor.analyze(clip)
    mel, sal = analysis.mel, saliency(predictor, analysis.clip)
    alpha = 0.9 * sal[..., None] ** 0.75
    grey = ((mel - mel.min()) / (mel.max() - mel.min()))[..., None]
    expected = grey * (1 - alpha) + np.asarray(plots.SALIENT) * alpha  # "over": saliency on the spectrogram
    np.testing.assert_allclose(chart_pixels(spec), expected, atol=0.5 / 255 + 1e-6)  # 8-bit pixels
    assert alpha.max() > 0.5  # something is highlighted
    assert top(first[0]) in spec["title"]["text"] and "saliency" in note
    assert spec == analyze_tab.explain(clip)  # the API's /explain
    # the first step's spectrogram is the same mel in its own colours, on the same axes
    assert chart_pixels(plain).shape == expected.shape and plain["encoding"] == spec["encoding"]
    bright = mel.max(axis=1).argmax()  # the loudest mel band is the brightest row of the magma image
    assert chart_pixels(plain).sum(axis=2).max(axis=1).argmax() == bright


def test_waveform_chart_keeps_the_signal_and_what_was_judged():
    wave = np.sin(np.arange(16000 * 5) / 7).astype(np.float32) * np.linspace(0, 0.8, 16000 * 5, dtype=np.float32)
    chart = plots.waveform(wave, 16000, judged=[(1.0, 4.0)], highlight=(1.5, 3.5), xlim=(0, 6))
    area = next(layer for layer in chart["layer"] if layer["mark"]["type"] == "area")["data"]["values"]
    assert len(area) <= plots.COLUMNS and area[-1]["hi"] == pytest.approx(0.8, abs=0.01)
    assert area[0]["lo"] == pytest.approx(0.0, abs=0.01) and all(p["lo"] <= p["hi"] for p in area)
    rects = [layer["data"]["values"] for layer in chart["layer"] if layer["mark"]["type"] == "rect"]
    assert rects == [[{"start": 1.0, "end": 4.0}], [{"start": 1.5, "end": 3.5}]]
    assert chart["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0.0, 6.0]
    # a long input's envelope (times, low, high) is folded to at most COLUMNS columns, its extremes kept
    t = np.arange(5000) / 100
    folded = plots.waveform((t, -np.abs(np.sin(t)), np.abs(np.sin(t))), 16000)
    area = next(layer for layer in folded["layer"] if layer["mark"]["type"] == "area")["data"]["values"]
    assert len(area) <= plots.COLUMNS and max(p["hi"] for p in area) == pytest.approx(1.0, abs=1e-3)


def _is_skip(value) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def test_live_handler_buffers_chunks_and_updates_once_a_second():
    """The browser streams 0.1-s chunks; every one is buffered, an update (label and plot) comes
    once per LIVE_UPDATE_SECONDS of audio, computed in a worker and delivered by the next call."""
    from emotion.live import LISTENING

    data, sr = sf.read(EXAMPLE_WAVS[0], dtype="int16")
    chunks = [data[i : i + sr // 10] for i in range(0, len(data), sr // 10)]
    state, shown = None, []
    for chunk in chunks + [None]:  # None: a call with no new audio delivers the last update
        label, fig, state = live_tab.live_update(None if chunk is None else (sr, chunk), state)
        assert _is_skip(label) == _is_skip(fig)
        if not _is_skip(label):
            shown.append((label, fig))
        if state.pending is not None:
            state.pending.result(timeout=30)  # as if the next chunk came after the update finished
    assert state.session.received == pytest.approx(len(data) / sr, abs=0.05)  # no chunk lost
    seconds = len(data) / sr
    assert int(seconds / settings.LIVE_UPDATE_SECONDS) <= len(shown) <= int(seconds / settings.LIVE_UPDATE_SECONDS) + 1
    assert isinstance(shown[0][0], str) and shown[0][0].startswith(LISTENING)
    label, fig = shown[-1]
    assert isinstance(label, dict) and set(label) == set(EMOTIONS)
    assert fig["$schema"] == plots.SCHEMA and len(fig["layer"]) == 2  # the Vega-Lite rolling timeline, waveform on top
    bars = fig["layer"][0]["data"]["values"]
    last = state.session.history_frame().dropna().iloc[-1]  # the last window's stacked bars are its probabilities
    mine = [b for b in bars if b["right"] == pytest.approx(max(b["right"] for b in bars))]
    np.testing.assert_allclose([b["high"] - b["low"] for b in mine], [last[e] for e in EMOTIONS], atol=2e-4)
    other = live_tab.live_update((sr, chunks[0]), None)[2]  # another browser session: its own state
    assert other.session is not state.session and other.session.received < state.session.received
    assert live_tab.live_reset() == (LISTENING, None, None)


def test_timeline_chart_stacks_each_window_s_probabilities_and_leaves_gaps_blank():
    rows = pd.DataFrame(
        [
            dict(start=0.5, end=3.5, **{e: 1 / 8 for e in EMOTIONS}, emotion="neutral"),
            dict(start=2.0, end=5.0, **{e: np.nan for e in EMOTIONS}, emotion=None),  # no speech
            dict(start=3.5, end=6.5, **{e: float(e == "angry") for e in EMOTIONS}, emotion="angry"),
        ]
    )
    t = np.arange(700) / 100
    chart = timeline_plots.timeline(rows, (t, -t / 7, t / 7), xlim=(0, 30))
    bars, wave = (layer["data"]["values"] for layer in chart["layer"])
    assert len(bars) == 2 * len(EMOTIONS)  # the window without speech draws nothing
    first = [b for b in bars if b["left"] == 0.5]
    assert [b["emotion"] for b in first] == list(EMOTIONS) and first[-1]["high"] == pytest.approx(1.0)
    assert all(b["high"] - b["low"] == pytest.approx(1 / 8, abs=1e-4) for b in first)
    angry = next(b for b in bars if b["left"] > 0.5 and b["emotion"] == "angry")
    assert angry["high"] - angry["low"] == pytest.approx(1.0) and angry["right"] == 6.5
    assert max(p["hi"] for p in wave) == pytest.approx(1.0, abs=0.01)  # the envelope's peak is kept
    assert chart["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0.0, 30.0]
    colours = chart["layer"][0]["encoding"]["color"]["scale"]
    assert colours["domain"] == list(EMOTIONS)[::-1]  # the legend in stacking order, top to bottom
    assert dict(zip(colours["domain"], colours["range"]))["angry"] == "#d62728"
    assert len(timeline_plots.timeline(rows.iloc[:0])["layer"][0]["data"]["values"]) == 0  # no rows yet: an empty chart


def test_timeline_charts_take_every_case_and_overlapping_windows_share_their_overlap():
    rows = pd.DataFrame(
        [
            dict(start=0.5, end=3.5, **{e: 1 / 8 for e in EMOTIONS}, emotion="neutral"),
            dict(start=2.0, end=5.0, **{e: np.nan for e in EMOTIONS}, emotion=None),  # no speech
            dict(start=3.5, end=6.5, **{e: float(e == "angry") for e in EMOTIONS}, emotion="angry"),
        ]
    )
    wave = np.sin(np.arange(16000 * 7) / 10).astype(np.float32)
    t = np.arange(700) / 100
    for chart in (
        timeline_plots.timeline(rows),
        timeline_plots.timeline(rows, wave),
        timeline_plots.timeline(rows, (t, -t / 7, t / 7), xlim=(0, 30)),
        timeline_plots.timeline(rows.iloc[:0]),
    ):
        assert json.loads(json.dumps(chart)) == chart  # plain JSON: what gr.Plot sends

    def shown(chart):
        return chart["layer"][0]["encoding"]["x"]["scale"]["domain"]

    assert shown(timeline_plots.timeline(rows)) == [0.5, 6.5]  # default: the rows' span ...
    assert shown(timeline_plots.timeline(rows, wave)) == pytest.approx([0.0, 7.0])  # ... or the whole recording
    # overlapping windows share their overlap at the midpoint between their centres
    from emotion.longform.long_input import window_spans

    left, right = window_spans(np.array([0.0, 1.5, 10.0]), np.array([3.0, 4.5, 12.0]))
    np.testing.assert_allclose(left, [0.0, 2.25, 10.0])
    np.testing.assert_allclose(right, [2.25, 4.5, 12.0])
    with pytest.raises(ValueError, match="shape"):
        plots.overlay(np.zeros((64, 301)), np.zeros((64, 300)))
    assert plots.overlay(np.full((64, 301), -35.0), np.zeros((64, 301))).max() == 0.0  # flat and not salient: black


def test_live_timeline_and_cache_settings_in_the_app():
    config = app.demo.get_config_file()
    tabs = [c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"]
    assert any("Live" in t for t in tabs)
    deps = config["dependencies"]
    stream = [d for d in deps if d["connection"] == "stream"]
    assert len(stream) == 1
    assert stream[0]["stream_every"] == settings.LIVE_CHUNK_SECONDS and settings.LIVE_UPDATE_SECONDS <= 1.0
    assert stream[0]["time_limit"] == settings.LIVE_TIME_LIMIT
    assert [d["api_name"] for d in deps if d["api_name"] == "timeline" and d["api_visibility"] == "public"]
    assert app.demo.delete_cache == settings.DELETE_CACHE


def test_end_to_end_timeline_via_gradio_client(served_app, long_recording, predictor):
    from gradio_client import Client, handle_file

    client = Client(served_app, verbose=False)
    plot, table, csv_path = client.predict(handle_file(str(long_recording)), api_name="/timeline")
    expected = predictor.timeline(str(long_recording))
    assert plot is not None
    # the table shows the emotion third (visible on a phone); the CSV keeps the library's order
    assert sorted(table["headers"]) == sorted(expected.columns) and table["headers"][:3] == ["start", "end", "emotion"]
    assert len(table["data"]) == len(expected)
    _assert_csv_is_the_timeline(csv_path, expected)
    with pytest.raises(Exception, match="silent|No speech|empty|Could not read"):
        client.predict(handle_file(str(ROOT / "assets" / "README.md")), api_name="/timeline")


def test_every_endpoint_names_its_inputs_and_outputs():
    """view_api() reads well: no endpoint returns an unnamed `value_N` (issue 17)."""
    api = app.demo.get_api_info()["named_endpoints"]
    assert {"/predict", "/probabilities", "/timeline", "/example", "/recompute_metrics"} <= set(api)
    for name, endpoint in api.items():
        for item in endpoint["parameters"] + endpoint["returns"]:
            assert item["label"] and not item["label"].startswith("value_"), (name, item)


def test_calibration_that_reads_worse_says_why():
    """ECE 0.043 before and 0.051 after temperature scaling needs a sentence (issue 33, item 13);
    a fit that lowers ECE needs none."""
    from ui.metrics import calibration_text

    worse = dict(ece=0.043, ece_calibrated=0.051, temperature=0.92)
    better = dict(ece=0.051, ece_calibrated=0.043, temperature=0.92)
    assert "fitted by log-likelihood" in calibration_text(worse, "other") and "0.008 worse" in calibration_text(
        worse, "other"
    )
    assert "fitted by log-likelihood" not in calibration_text(better, "other")


def test_a_click_on_a_window_shows_what_the_model_heard_there(long_recording, predictor):
    """Long recordings: a row of the timeline's table picks the window whose spectrogram and
    saliency the page shows (issue 33, item 15), read from the file's own seconds."""
    import torch

    from emotion import audio
    from emotion.explain import saliency
    from emotion.longform import long_input

    _, table, csv = timeline_panel.timeline(str(long_recording))
    assert len(table) >= 2
    wave = audio.load_audio(long_recording)  # the whole file, decoded apart from the handler's seek
    for row in (len(table) - 1,):  # not the first: the page's own window is the best one, often the first
        start, end = float(table["start"].iloc[row]), float(table["end"].iloc[row])
        evt = gr.SelectData(None, {"index": [row, 0], "value": start})
        chart = timeline_panel.show_window(str(long_recording), table, evt)
        clip = audio.pad_or_trim(wave[int(round(start * audio.SAMPLE_RATE)) : int(round(end * audio.SAMPLE_RATE))])
        mel = predictor.features(torch.from_numpy(clip)[None])[0].numpy()
        sal = saliency(predictor, clip, target=table["emotion"].iloc[row])
        t0 = long_input.clip_start(int(round(start * audio.SAMPLE_RATE)), int(round(end * audio.SAMPLE_RATE)))
        assert f"Window {start:.1f}-{end:.1f} s" in chart["title"]["text"]
        assert chart["data"]["values"][0]["x"] == pytest.approx(t0)
        expected = chart_pixels(plots.spectrogram(mel, sal, t0=t0, title=chart["title"]["text"]))
        shown = chart_pixels(chart)  # the handler seeks the file: its seconds can start a sample apart
        assert shown.shape == expected.shape and np.abs(shown - expected).mean() < 0.01
    shutil.rmtree(Path(csv).parent)


def test_chart_subtitles_fit_a_phone():
    """Every subtitle line of the Analyze and Metrics charts fits a 390-px screen at 12 px (about 48
    characters): the waveform's two notes ran past the chart's edge as one line (issue 33, item 12)."""
    wave = np.zeros(48000, np.float32)
    spec = plots.waveform(wave, 16000, judged=[(0.5, 2.5)], highlight=(0.5, 2.5))
    m = json.loads(app.RESOURCES.metrics_path.read_text()) if app.RESOURCES.metrics_path.exists() else None
    specs = [spec] + (
        [metric_plots.reliability(m["reliability"], m.get("reliability_uncalibrated"), 0.05, 0.04)] if m else []
    )
    for s in specs:
        lines = s["title"]["subtitle"]
        assert isinstance(lines, list) and all(len(line) <= 48 for line in lines), lines

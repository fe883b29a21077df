"""Who said it, in the app (issue 36): the Speakers switch's handlers called directly, the timeline
chart's lanes, the transcript's speaker names, and /timeline and /transcript through gradio_client
with and without the new speakers input (old clients send only the file).

    python -m pytest -q -n 0 tests/test_speakers_app.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest
from support import require_checkpoint, two_voice_conversation

CHECKPOINT = require_checkpoint()

import app  # noqa: E402,F401  (builds the Blocks: the API's signature)
from emotion import EMOTIONS
from emotion.charts import timeline_plots  # noqa: E402
from emotion.longform import speakers
from emotion.longform.speakers import Turn  # noqa: E402
from ui import analyze as analyze_tab  # noqa: E402
from ui import speakers as switch  # noqa: E402
from ui import timeline_panel  # noqa: E402
from ui import transcript as transcript_box  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")
needs_encoder = pytest.mark.skipif(not speakers.available(), reason="pip install --no-deps resemblyzer==0.1.4")


@pytest.fixture(scope="module")
def two_voices(tmp_path_factory) -> Path:
    return two_voice_conversation(tmp_path_factory.mktemp("speakers") / "two voices.wav")


def rows(n_speakers: int = 2) -> pd.DataFrame:
    """A timeline frame as Predictor.timeline(..., speakers=N) gives it: speakers taking turns."""
    probs = np.random.default_rng(0).dirichlet(np.ones(len(EMOTIONS)), size=6)
    frame = pd.DataFrame(probs, columns=list(EMOTIONS))
    frame.insert(0, "speaker", [1 + i % n_speakers for i in range(6)])
    frame.insert(0, "end", np.arange(6) * 4.0 + 3.0)
    frame.insert(0, "start", np.arange(6) * 4.0)
    frame["emotion"] = [EMOTIONS[k] for k in probs.argmax(axis=1)]
    frame.attrs["turns"] = [Turn(4.0 * i, 4.0 * i + 3.0, 1 + i % n_speakers) for i in range(6)]
    return frame


def test_the_switch_reads_off_auto_and_a_number():
    assert switch.count("off") is None and switch.count(None) is None and switch.count("") is None
    if speakers.available():
        assert switch.count("auto") == "auto" and switch.count("2") == 2 and switch.count("4") == 4
    with pytest.raises(gr.Error, match="speakers must be"):
        switch.count("twelve")


def test_without_the_encoder_the_switch_says_how_to_install_it(monkeypatch):
    """Where the voice encoder is not installed the switch is off and greyed out with the pip
    command, and a request for speakers says the same instead of failing deep inside."""
    monkeypatch.setattr(speakers, "available", lambda: False)
    radio = switch.control()
    assert radio.interactive is False and radio.value == "off"
    assert "pip install --no-deps resemblyzer==0.1.4" in radio.info
    with pytest.raises(gr.Error, match="resemblyzer"):
        switch.count("2")
    assert switch.count("off") is None  # off works as before


def test_the_chart_draws_a_lane_per_speaker():
    for n in (2, 3):
        chart = timeline_plots.timeline(rows(n), (np.arange(24.0), -np.ones(24), np.ones(24)))
        y = chart["layer"][0]["encoding"]["y"]
        assert len(y["axis"]["values"]) == n and y["axis"]["labelExpr"].count("Speaker") == n
        lows = {}  # each speaker's bars lie inside its own lane, speaker 1 on top
        for bar in chart["layer"][0]["data"]["values"]:
            lows.setdefault(int(bar["left"] // 4) % n + 1, []).append(bar["low"])
        lanes = [(min(v), max(v)) for _, v in sorted(lows.items())]
        assert all(a[0] > b[1] for a, b in zip(lanes, lanes[1:])), lanes
        strips = chart["layer"][1]["data"]["values"]  # where each speaks, under its lane
        assert {s["speaker"] for s in strips} == {f"Speaker {k}" for k in range(1, n + 1)}
        assert chart["height"] > 190 and chart["description"].endswith(
            "(" + ", ".join(f"Speaker {k}" for k in range(1, n + 1)) + ")"
        )
    # a speaker heard only in turns too short for a window still gets its (empty) lane
    frame = rows(2)
    frame.attrs["turns"] = frame.attrs["turns"] + [Turn(24.0, 24.8, 3)]
    assert timeline_plots.speaker_lanes(frame) == [1, 2, 3]
    # without speakers: as before, one stack with a percent axis, the probabilities then the waveform
    plain = timeline_plots.timeline(rows(2).drop(columns="speaker"), (np.arange(24.0), -np.ones(24), np.ones(24)))
    assert [layer["mark"]["type"] for layer in plain["layer"]] == ["rect", "area"]
    assert plain["layer"][0]["encoding"]["y"]["axis"]["format"] == ".0%" and plain["height"] == 190


def test_the_summary_follows_the_windows_table():
    frame = rows(3)
    update = switch.summary(frame.round(3))
    assert update["visible"] is True and list(update["value"].columns) == switch.SUMMARY_COLUMNS
    assert list(update["value"]["speaker"]) == ["Speaker 1", "Speaker 2", "Speaker 3"]
    assert switch.summary(frame.drop(columns="speaker"))["visible"] is False  # speakers off: hidden
    assert switch.summary(None)["visible"] is False  # cleared


@needs_encoder
def test_timeline_handler_with_speakers(two_voices):
    """The /timeline handler with speakers "2": a speaker column after start and end (in the table
    and the CSV), a lane per speaker, and a summary row per speaker."""
    fig, table, csv = timeline_panel.timeline(str(two_voices), "2")
    assert list(table.columns[:4]) == ["start", "end", "speaker", "emotion"]
    found = sorted(table["speaker"].unique())
    assert found == [1, 2]
    assert "speaker" in pd.read_csv(csv).columns
    assert fig["layer"][0]["encoding"]["y"]["axis"]["labelExpr"].count("Speaker") == 2
    assert "2 speakers" in fig["title"]["text"]
    summary = switch.summary(table)["value"]
    assert len(summary) == len(found) and list(summary["speaker"]) == ["Speaker 1", "Speaker 2"]
    assert (summary["seconds"] > 5).all() and summary["moments"].str.contains(r"\d s ").all()
    shutil.rmtree(Path(csv).parent)
    fig, table, csv = timeline_panel.timeline(str(two_voices))  # the default: as before
    assert "speaker" not in table.columns and switch.summary(table)["visible"] is False
    shutil.rmtree(Path(csv).parent)


@needs_encoder
def test_analyze_with_speakers_shows_the_answer_then_the_lanes(two_voices):
    steps = list(analyze_tab.analyze_page(str(two_voices), "2"))
    first, lanes = steps[0], steps[1]
    at = analyze_tab.PAGE_OUTPUTS.index
    assert first[at("timeline_box")].visible is True and first[at("timeline_table")] is None  # the answer first
    table = lanes[at("timeline_table")]
    assert sorted(table["speaker"].unique()) == [1, 2] and Path(lanes[at("timeline_csv")]).is_file()
    shutil.rmtree(Path(lanes[at("timeline_csv")]).parent)


def transcript_frame(with_speakers: bool) -> pd.DataFrame:
    probs = np.full((3, len(EMOTIONS)), 0.02)
    probs[0, 4], probs[1, 3] = 0.86, 0.86
    frame = pd.DataFrame(probs, columns=list(EMOTIONS))
    frame.insert(0, "text", ["Get out.", "I'm so sorry.", "Mm."])
    frame.insert(0, "end", [2.0, 5.0, 5.4])
    frame.insert(0, "start", [0.0, 3.0, 5.0])
    frame["emotion"] = ["angry", "sad", None]
    frame.loc[2, list(EMOTIONS)] = np.nan
    frame["note"] = ["", "", "too short"]
    frame["verdict"] = ["angry 0.86", "sad 0.86", None]
    frame["clear"], frame["unfamiliar"] = [True, True, None], [False, False, None]
    if with_speakers:
        frame.insert(2, "speaker", [1, 2, 2])
    frame.attrs.update(language="en", labels=list(EMOTIONS), words=[[], [], []])
    return frame


def test_the_transcript_names_each_speaker_and_colours_by_emotion(monkeypatch):
    from emotion.charts.plot_base import label_colors

    colors = label_colors(list(EMOTIONS))
    html = transcript_box.render(transcript_frame(True))
    segments = html.split("class='transcript-segment'")[1:]
    assert [("Speaker 1" in s, "Speaker 2" in s) for s in segments] == [(True, False), (False, True), (False, True)]
    assert colors["angry"] in segments[0] and colors["sad"] in segments[1] and "#999999" in segments[2]
    assert "[angry 0.86]" in segments[0] and "[too short]" in segments[2]  # the verdict text as before
    assert "transcript-speaker" not in transcript_box.render(transcript_frame(False))  # speakers off: as before
    # /transcript: each segment's speaker when asked, none otherwise
    monkeypatch.setattr(transcript_box, "_frame", lambda path, speakers=None: transcript_frame(speakers is not None))
    monkeypatch.setattr(switch.speakers_, "available", lambda: True)
    assert [s["speaker"] for s in transcript_box.transcript("x.wav", "2")["segments"]] == [1, 2, 2]
    assert all("speaker" not in s for s in transcript_box.transcript("x.wav")["segments"])
    view, _ = transcript_box.show("x.wav", True, "auto")
    assert view.count("Speaker 2") == 2


def test_the_api_takes_speakers_with_a_default():
    """/timeline and /transcript take speakers second, defaulting to "off": an old client that sends
    only the file is answered as before."""
    api = app.demo.get_api_info()["named_endpoints"]
    for name in ("/timeline", "/transcript"):
        params = api[name]["parameters"]
        assert [p["parameter_name"] for p in params] == ["audio_path", "speakers"], name
        assert params[1]["parameter_has_default"] and params[1]["parameter_default"] == "off"
        assert not params[0]["parameter_has_default"]


@needs_encoder
def test_timeline_endpoint_with_and_without_speakers(served_app, two_voices):
    from gradio_client import Client, handle_file

    client = Client(served_app, verbose=False)
    _, table, csv = client.predict(handle_file(str(two_voices)), "2", api_name="/timeline")
    assert table["headers"][:4] == ["start", "end", "speaker", "emotion"]
    assert {row[2] for row in table["data"]} == {1, 2} and "speaker" in pd.read_csv(csv).columns
    _, table, _ = client.predict(handle_file(str(two_voices)), api_name="/timeline")  # an old client
    assert "speaker" not in table["headers"]
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict(handle_file(str(two_voices)), "9", api_name="/timeline")

"""The transcript (emotion.longform.transcript, emotion.longform.subtitles, `python -m emotion.predict --transcript`):
the model folder laid out from the packages and re-checked, the words of RAVDESS sentences, each
utterance's emotion equal to Predictor.predict on exactly its span, SRT/WebVTT/JSON that parse,
clear errors, and emotions that work without faster-whisper."""

from __future__ import annotations

import json
import math
import re
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from benchmarks.bench_transcript import EMODB_TEXT, RAVDESS_TEXT, edit_distance, words
from emotion import audio
from emotion.audio import SAMPLE_RATE
from emotion.longform import subtitles
from emotion.longform import transcript as T
from emotion.model import whisper_weights as W
from emotion.predict import main as cli_main

fw = pytest.importorskip("faster_whisper", reason=f"the transcript needs faster-whisper ({T.PIP_FIX})")
SRT_TIME = r"(\d\d):(\d\d):(\d\d),(\d{3})"


def seconds(h, m, s, ms) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_srt(text: str) -> list:
    """A strict SubRip reader: numbered cues from 1, 'HH:MM:SS,mmm --> HH:MM:SS,mmm', text, blank line."""
    cues = []
    for i, block in enumerate(text.strip("\n").split("\n\n"), 1):
        lines = block.split("\n")
        assert lines[0] == str(i), block
        m = re.fullmatch(f"{SRT_TIME} --> {SRT_TIME}", lines[1])
        assert m, lines[1]
        start, end = seconds(*m.groups()[:4]), seconds(*m.groups()[4:])
        assert 0 <= start < end and len(lines) >= 3 and all(lines[2:]), block
        cues.append((start, end, "\n".join(lines[2:])))
    return cues


@pytest.fixture(scope="module")
def sentences(tmp_path_factory, asset_flacs):
    """Five asset RAVDESS sentences joined by 1-s pauses (16 kHz WAV), and their known words."""
    clips = asset_flacs[::4][:5]
    pause = np.zeros(SAMPLE_RATE, np.float32)
    parts = [pause] + [x for f in clips for x in (audio.load_audio(f), pause)]
    path = tmp_path_factory.mktemp("transcript") / "five_sentences.wav"
    sf.write(path, np.concatenate(parts), SAMPLE_RATE, subtype="PCM_16")
    return path, " ".join(RAVDESS_TEXT[f.name.split("-")[4]] for f in clips)


@pytest.fixture(scope="module")
def table(shipped_predictor, sentences):
    return shipped_predictor.transcript(sentences[0])


def test_model_folder_is_laid_out_once_and_rechecked(tmp_path):
    folder = T.model_dir(str(tmp_path))
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert T._sha256(folder / "model.bin") == W.MODEL_SHA256
    stamp = (folder / "model.bin").stat().st_mtime_ns
    T.model_dir.cache_clear()
    assert T.model_dir(str(tmp_path)) == folder and (folder / "model.bin").stat().st_mtime_ns == stamp  # not rewritten
    with open(folder / "model.bin", "r+b") as f:  # altered in the cache: replaced from the packages
        f.seek(5000)
        f.write(b"\0\0\0\0")
    (folder / "tokenizer.json").write_text("{}")
    T.model_dir.cache_clear()
    T.model_dir(str(tmp_path))
    assert T._sha256(folder / "model.bin") == W.MODEL_SHA256
    assert (folder / "tokenizer.json").read_bytes() == (W.package_files()[0].parent / "tokenizer.json").read_bytes()
    T.model_dir.cache_clear()


def test_utterances_split_at_sentence_ends_and_pauses():
    w = [
        dict(word=t, start=s, end=e)
        for t, s, e in [
            (" Kids", 0.0, 0.3),
            (" door.", 0.3, 0.6),
            (" Dogs", 0.7, 1.0),
            (" sit", 1.0, 1.2),
            (" here", 2.3, 2.5),
        ]
    ]
    assert [[x["word"] for x in g] for g in T.utterances(w)] == [[" Kids", " door."], [" Dogs", " sit"], [" here"]]


def test_words_and_language_of_ravdess_sentences(table, sentences):
    assert table.attrs["language"] == "en"
    hyp = " ".join(table["text"])
    assert edit_distance(words(sentences[1]), words(hyp)) / len(words(sentences[1])) <= 0.15, hyp
    assert list(table.columns[:4]) == ["start", "end", "text", "emotion"]
    assert list(table.columns[-4:]) == ["note", "verdict", "clear", "unfamiliar"]
    starts, ends = table["start"].to_numpy(), table["end"].to_numpy()
    assert (starts < ends).all() and (np.diff(starts) > 0).all() and ends.max() <= sf.info(sentences[0]).duration
    # word timestamps lie inside their utterance
    for (s, e), ws in zip(zip(starts, ends), table.attrs["words"]):
        assert ws and all(s - 1e-6 <= w["start"] <= w["end"] <= e + 1e-6 for w in ws)


def test_each_utterance_emotion_is_predict_on_its_share(table, sentences, shipped_predictor):
    """Each utterance is judged on its share of the recording (pause middle to pause middle), which
    holds its words; its probabilities are predict() of that share, its verdict analyze()'s."""
    wave = T.decode(sentences[0])
    labels = list(shipped_predictor.labels)
    judged = table[table["emotion"].notna()]
    assert len(judged) >= 3
    shares = table.attrs["judged"]
    assert shares[0][0] == 0.0 and shares[-1][1] == pytest.approx(len(wave) / SAMPLE_RATE, abs=1e-3)
    for (lo, hi), (s, e), nxt in zip(shares, zip(table["start"], table["end"]), shares[1:] + [None]):
        assert lo <= s < e <= hi and (nxt is None or nxt[0] == pytest.approx(hi))  # a partition
    for i, row in judged.iterrows():
        part = wave[int(round(shares[i][0] * SAMPLE_RATE)) : int(round(shares[i][1] * SAMPLE_RATE))]
        expected = shipped_predictor.analyze(part, SAMPLE_RATE, display=False)
        np.testing.assert_allclose([row[k] for k in labels], [expected.probabilities[k] for k in labels], atol=1e-6)
        assert math.isclose(sum(row[k] for k in labels), 1.0, abs_tol=1e-6)
        assert row["emotion"] == max(labels, key=lambda k: row[k]) and row["note"] == ""
        assert row["verdict"] == expected.verdict.text and row["clear"] == expected.verdict.clear
    # the decoded signal is the file's own samples (a 16 kHz file: no resampling)
    np.testing.assert_allclose(wave, audio.load_audio(sentences[0]), atol=1e-3)


def test_short_spans_are_marked_not_judged(shipped_predictor, sentences):
    wave = T.decode(sentences[0])
    assert T.judge(shipped_predictor, wave, 1.2, 1.2 + T.MIN_SEGMENT_SECONDS - 0.01) == (None, T.TOO_SHORT, None)
    probs, note, said = T.judge(shipped_predictor, wave, 0.0, 0.5 + T.MIN_SEGMENT_SECONDS)
    assert (probs is None and said is None) or (note == "" and said.top == max(probs, key=probs.get))
    row = dict(start=1.0, end=1.5, text="Yes.", emotion=None, note=T.TOO_SHORT)
    assert subtitles.cue_text(row) == "[too short] Yes."


def test_srt_vtt_and_json(table):
    labels = subtitles.labels_of(table)
    cues = parse_srt(subtitles.srt(table))
    assert len(cues) == len(table)
    for (start, end, text), row in zip(cues, table.to_dict("records")):
        assert abs(start - row["start"]) < 2e-3 and abs(end - row["end"]) < 2e-3
        assert text == f"[{row['verdict']}] {row['text']}"  # the verdict (emotion.clarity)
        clear = f"{row['emotion']} {row[row['emotion']]:.2f}"
        assert row["verdict"].startswith(clear if row["clear"] else "no clear emotion: " + clear)
    vtt = subtitles.vtt(table)
    assert vtt.startswith("WEBVTT\n\n") and len(
        re.findall(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", vtt)
    ) == len(table)
    data = json.loads(json.dumps(subtitles.as_json(table)))
    assert data["language"] == "en" and len(data["segments"]) == len(table)
    for seg in data["segments"]:
        assert {"start", "end", "text", "emotion", "probabilities"} <= set(seg) and list(seg["probabilities"]) == labels
        assert abs(sum(seg["probabilities"].values()) - 1) < 1e-3
        assert seg["emotion"] == max(seg["probabilities"], key=seg["probabilities"].get)
        assert seg["verdict"].split(" ")[0] in (seg["emotion"], "no") and isinstance(seg["clear"], bool)
    assert subtitles.timestamp(3725.5) == "01:02:05,500" and subtitles.timestamp(0.0004, ".") == "00:00:00.000"


def test_cli_json_srt_and_errors(sentences, capsys, tmp_path):
    assert cli_main([str(sentences[0]), "--transcript", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["language"] == "en" and data["segments"] and all(s["text"] and s["emotion"] for s in data["segments"])
    assert cli_main([str(sentences[0]), "--transcript", "--format", "srt"]) == 0
    assert len(parse_srt(capsys.readouterr().out)) == len(data["segments"])
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave")
    assert cli_main([str(bad), "--transcript"]) == 1
    out = capsys.readouterr()
    assert "error:" in out.out and "Traceback" not in out.out + out.err
    assert cli_main([str(bad), str(sentences[0]), "--transcript", "--format", "srt"]) == 2  # subtitles: one file
    assert "one file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main([str(sentences[0]), "--format", "vtt"])  # subtitles need --transcript
    assert "add --transcript" in capsys.readouterr().err


def test_german_speech_is_transcribed_in_german(shared_ravdess):
    emodb = shared_ravdess.parent / "emodb"
    clip = next(iter(sorted(emodb.glob("03a01*.flac"))), None)
    if clip is None:
        pytest.skip("no shared EmoDB copy")
    info, segments = T.transcribe(T.decode(clip))
    assert info["language"] == "de"
    ref = words(EMODB_TEXT["a01"])
    assert edit_distance(ref, words(" ".join(s["text"] for s in segments))) / len(ref) <= 0.34


def test_without_faster_whisper_emotion_works_and_the_transcript_names_the_pip_fix(
    monkeypatch, shipped_predictor, asset_flacs
):
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import fails as if not installed
    T.load_model.cache_clear()
    try:
        assert not T.available()
        with pytest.raises(T.TranscriptError, match=re.escape(T.PIP_FIX)):
            shipped_predictor.transcript(asset_flacs[0])
        probs = shipped_predictor.predict(asset_flacs[0])
        assert abs(sum(probs.values()) - 1) < 1e-6
        assert cli_main([str(asset_flacs[0]), "--transcript"]) == 2
    finally:
        T.load_model.cache_clear()


def test_bad_input_is_a_clear_error(shipped_predictor, tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(1000, np.float32), SAMPLE_RATE)
    with pytest.raises(audio.AudioError, match="too short"):
        shipped_predictor.transcript(short)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    frame = shipped_predictor.transcript(silent)  # nothing said: an empty table, not an error
    assert isinstance(frame, pd.DataFrame) and len(frame) == 0 and frame.attrs["language"]


def test_batch_transcript_rows(sentences, table, tmp_path):
    pytest.importorskip("pyarrow", reason="batch scoring needs pyarrow: pip install -r requirements-batch.txt")
    from emotion import batch

    out = tmp_path / "out"
    assert batch.main([str(sentences[0]), "--out", str(out), "--transcript", "--no-progress"]) == 0
    rows = pd.read_parquet(out)
    assert list(rows["text"]) == list(table["text"]) and set(rows["language"]) == {"en"}
    np.testing.assert_allclose(rows["start"], table["start"])
    labels = subtitles.labels_of(table)
    np.testing.assert_allclose(
        rows[labels].to_numpy(float), table[labels].to_numpy(float), atol=1e-5
    )  # thread counts differ
    assert rows["error"].isna().all()
    # the same folder with another kind of rows is refused in words, not a traceback
    assert batch.main([str(sentences[0]), "--out", str(out), "--timeline", "--no-progress"]) == 2


def test_an_unsure_language_is_said_before_the_words(table):
    """Whisper-base detects the language of a sure transcript quietly; under LANGUAGE_SURE the
    transcript says its words may be wrong (issue 33, item 10), in JSON, the CLI and the page."""
    from ui.transcript import render

    sure = table.attrs["language_probability"]
    assert sure >= subtitles.LANGUAGE_SURE and subtitles.language_note(table.attrs) == ""
    assert "language_note" not in subtitles.as_json(table) and "transcript-language-note" not in render(table)
    unsure = table.copy()
    unsure.attrs = {**table.attrs, "language": "ko", "language_probability": 0.31}
    note = subtitles.language_note(unsure.attrs)
    assert "unsure" in note and "'ko', 31%" in note
    assert subtitles.as_json(unsure)["language_note"] == note and "transcript-language-note" in render(unsure)

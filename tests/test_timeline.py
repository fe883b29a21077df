"""Timeline for long recordings: segments follow the speech, rows carry the clip's prediction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from emotion import EMOTIONS, AudioError
from emotion.audio import io as audio  # the module itself: the test patches its block size
from emotion.audio import speech
from emotion.data.ravdess import parse_name
from emotion.predict import main as predict_main


def _concatenate(paths, gap_seconds, sr=48000):
    """Clips at 48 kHz with silences between them; returns (signal, speech spans in seconds)."""
    parts, spans, pos = [], [], 0
    gap = np.zeros(int(gap_seconds * sr), np.float32)
    for p in paths:
        wave16 = audio.load_audio(p)
        s, e = speech.speech_bounds(wave16)
        wave = audio.resample(wave16, audio.SAMPLE_RATE, sr)
        parts += [gap, wave]
        pos += len(gap)
        spans.append(((pos + s * sr / audio.SAMPLE_RATE) / sr, (pos + e * sr / audio.SAMPLE_RATE) / sr))
        pos += len(wave)
    parts.append(gap)
    return np.concatenate(parts), spans


@pytest.fixture(scope="module")
def long_recording(asset_flacs, tmp_path_factory):
    # one speech clip of each emotion, alternating sexes, with 1.5 s pauses between them
    paths = [p for p in asset_flacs if parse_name(p.name).channel == "speech"][::2]
    signal, spans = _concatenate(paths, 1.5)
    path = tmp_path_factory.mktemp("timeline") / "long.wav"
    sf.write(path, signal, 48000, subtype="PCM_16")
    return path, paths, spans


def test_segments_line_up_with_the_clips(tiny_predictor, long_recording):
    path, paths, spans = long_recording
    table = tiny_predictor.timeline(path)
    assert list(table.columns) == ["start", "end", *EMOTIONS, "emotion", "verdict", "clear", "unfamiliar"]
    assert len(table) == len(paths)  # every clip is one segment; the pauses are skipped
    for (start, end), row in zip(spans, table.itertuples()):
        assert abs(row.start - start) < 0.5 and abs(row.end - end) < 0.5, (row, start, end)
    np.testing.assert_allclose(table[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-6)
    assert (table["emotion"] == table[list(EMOTIONS)].idxmax(axis=1)).all()


def test_segments_carry_the_clips_prediction(tiny_predictor, long_recording):
    """Each segment is analysed as its clip alone would be: same top emotion for most."""
    path, paths, _ = long_recording
    table = tiny_predictor.timeline(path)
    alone = [max(tiny_predictor.predict(p).items(), key=lambda kv: kv[1])[0] for p in paths]
    agree = np.mean(table["emotion"].to_numpy() == np.array(alone))
    assert agree >= 0.75, (list(table["emotion"]), alone)


def test_segments_mostly_carry_the_true_emotion(shipped_predictor, long_recording):
    # The asset clips are from actors 01-20, whom fold models heard; this checks the pipeline
    # (segmentation + windows), not the model's honest accuracy.
    path, paths, _ = long_recording
    table = shipped_predictor.timeline(path)
    truth = [parse_name(p.name).emotion for p in paths]
    assert np.mean(table["emotion"].to_numpy() == np.array(truth)) > 0.5


def test_timeline_agrees_with_predict_on_each_sentence(shared_ravdess, shipped_predictor):
    """24 sentences (actors 01-20), each cut to its speech with 50 ms kept around it, joined by
    seeded 2-3.5 s pauses: the timeline's majority label over each sentence's rows equals
    predict on the sentence alone for at least 23 of them (the shared front end must not break it)."""
    paths = sorted(p for p in (shared_ravdess / "speech").glob("Actor_*/*.flac") if int(p.stem[-2:]) <= 20)[::50]
    assert len(paths) == 24
    rng = np.random.default_rng(24)
    keep = int(0.05 * audio.SAMPLE_RATE)
    parts, spans, pos = [], [], 0
    sentences = []
    for p in paths:
        wave = audio.load_audio(p)
        db = speech.frame_db(wave)
        idx = np.flatnonzero(db > db.max() - 30.0)  # the sentence, without the silence around it
        sentence = wave[max(0, idx[0] * speech.HOP - keep) : idx[-1] * speech.HOP + speech.FRAME + keep]
        pause = np.zeros(int(rng.uniform(2.0, 3.5) * audio.SAMPLE_RATE), np.float32)
        parts += [pause, sentence]
        spans.append(((pos + len(pause)) / audio.SAMPLE_RATE, (pos + len(pause) + len(sentence)) / audio.SAMPLE_RATE))
        pos += len(pause) + len(sentence)
        sentences.append(sentence)
    parts.append(np.zeros(audio.SAMPLE_RATE, np.float32))
    table = shipped_predictor.timeline(np.concatenate(parts), audio.SAMPLE_RATE)
    agree = 0
    for (start, end), sentence in zip(spans, sentences):
        rows = table[(table["start"] < end) & (table["end"] > start)]
        alone = shipped_predictor.predict(sentence, audio.SAMPLE_RATE)
        assert len(rows), (start, end)
        majority = rows["emotion"].value_counts().idxmax()
        agree += majority == max(alone, key=alone.get)
    assert agree >= 23, agree


def test_long_speech_is_cut_into_overlapping_windows(tiny_predictor, asset_flacs, tmp_path):
    # the speech of 5 clips back to back, 0.1 s apart: one stretch longer than a window
    parts = [speech.trim_silence(audio.load_audio(p)) for p in asset_flacs[:5]]
    gap = np.zeros(1600, np.float32)
    signal = np.concatenate([gap] + [np.concatenate([w, gap]) for w in parts])
    path = tmp_path / "continuous.flac"
    sf.write(path, signal, 16000)
    table = tiny_predictor.timeline(path)
    assert len(table) > 3
    lengths = (table["end"] - table["start"]).to_numpy()
    assert np.allclose(lengths, audio.CLIP_SECONDS, atol=1e-3)  # full model windows
    assert (np.diff(table["start"].to_numpy()) > 0).all()
    assert (table["start"].to_numpy()[1:] < table["end"].to_numpy()[:-1]).all()  # overlap
    assert table["start"].iloc[0] == pytest.approx(0.1, abs=0.5)
    assert table["end"].iloc[-1] == pytest.approx(len(signal) / 16000 - 0.1, abs=0.5)


def test_array_and_file_give_the_same_timeline(tiny_predictor, long_recording):
    path, _, _ = long_recording
    data, sr = sf.read(path, dtype="float32")
    a, b = tiny_predictor.timeline(path), tiny_predictor.timeline(data, sample_rate=sr)
    pd.testing.assert_frame_equal(a, b, atol=2e-3)


def test_blocks_are_resampled_without_seams(tmp_path):
    """Block-wise decoding gives load_audio's signal: same resampler, carried across blocks."""
    x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(3 * 44100) / 44100)).astype(np.float32)
    sf.write(tmp_path / "tone.wav", x, 44100, subtype="FLOAT")
    blocks = np.concatenate(list(audio.iter_blocks(tmp_path / "tone.wav", block_seconds=0.7)))
    whole = audio.load_audio(tmp_path / "tone.wav")
    assert len(blocks) == len(whole)
    np.testing.assert_allclose(blocks, whole, atol=2e-3)  # each block's own DC offset is removed
    with pytest.raises(AudioError, match="4 kHz to 384 kHz"):
        sf.write(tmp_path / "low.wav", x[:8000], 2000)
        list(audio.iter_blocks(tmp_path / "low.wav"))


def test_blocks_do_not_change_the_result(tiny_predictor, long_recording, monkeypatch):
    """Reading in small blocks gives what one big block gives (block edges are harmless)."""
    path, _, _ = long_recording
    big = tiny_predictor.timeline(path)
    blocks = []
    monkeypatch.setattr(audio, "BLOCK_SECONDS", 2.0)
    monkeypatch.setattr(
        audio,
        "remove_dc",
        lambda w, dc=None: blocks.append(len(w)) or np.clip(w - (w.mean() if dc is None else dc), -1, 1),
    )
    small = tiny_predictor.timeline(path)
    assert len(blocks) > 10 and max(blocks) <= 2.0 * audio.SAMPLE_RATE + 1  # it did read 2-s blocks
    assert list(small["emotion"]) == list(big["emotion"])
    np.testing.assert_allclose(small[["start", "end"]], big[["start", "end"]], atol=0.05)
    np.testing.assert_allclose(small[list(EMOTIONS)], big[list(EMOTIONS)], atol=0.02)


@pytest.mark.parametrize("signal", ["silence", "noise"])
def test_no_speech_is_an_error_not_an_emotion(tiny_predictor, tmp_path, signal):
    rng = np.random.default_rng(0)
    x = np.zeros(16000 * 20, np.float32) if signal == "silence" else rng.normal(0, 0.05, 16000 * 20).astype(np.float32)
    path = tmp_path / f"{signal}.wav"
    sf.write(path, x, 16000)
    with pytest.raises(AudioError, match="No speech"):
        tiny_predictor.timeline(path)


def test_batch_cli_timeline_and_errors(tiny_checkpoint_path, long_recording, tmp_path, capsys):
    path, paths, _ = long_recording
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt nonsense")
    code = predict_main(
        [str(path), str(bad), "--timeline", "--format", "csv", "--checkpoint", str(tiny_checkpoint_path)]
    )
    out = capsys.readouterr().out
    assert code == 0
    from io import StringIO

    table = pd.read_csv(StringIO(out))
    assert (table["file"] == str(path)).sum() == len(paths)
    assert table.loc[table["file"] == str(bad), "error"].str.contains("Could not read").all()


def test_batch_cli_walks_folders(tiny_checkpoint_path, asset_flacs, capsys):
    code = predict_main([str(asset_flacs[0].parent), "--format", "json", "--checkpoint", str(tiny_checkpoint_path)])
    rows = pd.read_json(__import__("io").StringIO(capsys.readouterr().out))
    assert code == 0 and len(rows) == len(asset_flacs)
    np.testing.assert_allclose(rows[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-3)

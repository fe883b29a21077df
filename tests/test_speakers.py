"""Who spoke when (emotion.longform.speakers, emotion.longform.voice_encoder): the turns' rules on values, the voice
encoder on real voices (RAVDESS actors from assets/ravdess160, in CI too), and the timeline and
transcript carrying the speaker. Attribution across corpora is measured by emotion.training.speakers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from support import require_checkpoint

from emotion.errors import InputError
from emotion.longform import speakers, subtitles, voice_encoder
from emotion.longform.speakers import Turn
from emotion.training.conversations import conversation, score

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "assets" / "ravdess160"

pytestmark = pytest.mark.skipif(not speakers.available(), reason=f"no voice encoder: {voice_encoder.PIP_FIX}")


def actors() -> dict:
    """{actor: [clips]} of the bundled RAVDESS clips (8 per actor, one per emotion)."""
    out: dict = {}
    for p in sorted(BUNDLE.glob("*.flac")):
        out.setdefault(p.stem[-2:], []).append(p)
    return out


@pytest.fixture(scope="module")
def two_voices(tmp_path_factory):
    """A conversation of actors 03 (male) and 08 (female), one emotional clip a turn, short pauses."""
    voices = {k: v for k, v in actors().items() if k in ("03", "08")}
    conv = conversation(voices, 2, np.random.default_rng(3))
    path = tmp_path_factory.mktemp("conv") / "two.wav"
    sf.write(path, conv.wave, 16000)
    return conv, path


def test_parse_count_takes_auto_or_a_whole_number():
    assert speakers.parse_count("auto") == "auto" and speakers.parse_count(None) is None
    assert speakers.parse_count("3") == 3 and speakers.parse_count(2) == 2
    for bad in ("0", "9", "two", "2.5", 2.5, ""):
        with pytest.raises(InputError, match="auto"):
            speakers.parse_count(bad)


def test_smooth_joins_flickers_to_the_longer_neighbour():
    runs = [[0.0, 2.0, 0], [2.0, 2.3, 1], [2.3, 3.0, 0], [3.0, 6.0, 1]]
    assert speakers.smooth(runs) == [[0.0, 3.0, 0], [3.0, 6.0, 1]]
    assert speakers.smooth([[0.0, 1.0, 0], [1.0, 1.5, 0]]) == [[0.0, 1.5, 0]]  # one speaker: one run


def test_split_segments_cuts_at_every_change_of_speaker():
    segments = [(0, 32000), (40000, 80000)]
    turns = [Turn(0.0, 1.0, 1), Turn(1.0, 2.0, 2), Turn(2.5, 4.0, 2), Turn(4.0, 5.0, 1)]
    assert speakers.split_segments(segments, turns) == [
        ((0, 16000), 1),
        ((16000, 32000), 2),
        ((40000, 64000), 2),
        ((64000, 80000), 1),
    ]


def test_speaker_of_is_the_one_with_most_time():
    turns = [Turn(0.0, 1.0, 1), Turn(1.0, 3.0, 2)]
    assert speakers.speaker_of(turns, 0.5, 1.2) == 1
    assert speakers.speaker_of(turns, 0.8, 2.0) == 2
    assert speakers.speaker_of(turns, 5.0, 6.0) == 2  # no overlap: the nearest turn's
    assert speakers.speaker_of([], 0, 1) is None


def test_split_utterances_cuts_where_the_words_speaker_changes():
    words = [
        dict(word=w, start=s, end=s + 0.4) for w, s in (("Hi", 0.0), ("there.", 0.5), ("Hello", 1.2), ("you", 1.7))
    ]
    turns = [Turn(0.0, 1.0, 1), Turn(1.0, 2.5, 2)]
    out = speakers.split_utterances([dict(start=0.0, end=2.1, text="Hi there. Hello you", words=words)], turns)
    assert [(u["speaker"], u["text"], u["start"], u["end"]) for u in out] == [
        (1, "Hi there.", 0.0, 0.9),
        (2, "Hello you", 1.2, 2.1),
    ]


def test_score_maps_found_speakers_to_true_ones():
    truth = [(0.0, 2.0, "a"), (2.5, 4.5, "b")]
    assert score(truth, [Turn(0.0, 2.0, 2), Turn(2.5, 4.5, 1)]) == pytest.approx(1.0)  # names do not matter
    assert score(truth, [Turn(0.0, 4.5, 1)]) == pytest.approx(0.5)  # one speaker found: half the time right
    assert score(truth, [Turn(0.0, 1.0, 1)]) == pytest.approx(0.25)  # unfound speech is wrong


def test_subtitle_cue_names_the_speaker():
    row = dict(speaker=2, text="I told you twice.", emotion="angry", angry=0.81, verdict="angry 0.81", clear=True)
    assert subtitles.cue_text(row) == "[Speaker 2 · angry 0.81] I told you twice."
    assert subtitles.cue_text({**row, "speaker": None}) == "[angry 0.81] I told you twice."


def test_missing_or_altered_encoder_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(voice_encoder.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(speakers.SpeakerError, match="pip install --no-deps resemblyzer==0.1.4"):
        voice_encoder.weights_path()
    assert not speakers.available()
    monkeypatch.undo()
    fake = tmp_path / "pretrained.pt"
    fake.write_bytes(b"not the weights")
    monkeypatch.setattr(voice_encoder, "weights_path", lambda: fake)
    voice_encoder.load_encoder.cache_clear()
    try:
        with pytest.raises(speakers.SpeakerError, match="reinstall"):
            voice_encoder.load_encoder()
    finally:
        voice_encoder.load_encoder.cache_clear()


def test_encoder_hears_one_actor_closer_to_himself_than_to_another():
    """Embeddings of whole clips: each actor's clips are nearer each other than the other actor's."""
    clips = actors()
    means = {}
    for who in ("03", "08", "11"):
        emb = []
        for p in clips[who][:6]:
            wave = sf.read(p, dtype="float32")[0]
            _, e = voice_encoder.embed([(0, len(wave))], lambda s, e, w=wave: w[s:e], lambda w: [(0, len(w))])
            emb.append(e[0])
        means[who] = np.array(emb)
    for who, e in means.items():
        own = (e @ e.T)[~np.eye(len(e), dtype=bool)].mean()
        other = max((e @ means[o].T).mean() for o in means if o != who)
        assert own > other, (who, own, other)
    assert np.allclose(np.linalg.norm(means["03"], axis=1), 1.0, atol=1e-5)


def test_two_voices_are_told_apart(two_voices):
    conv, _ = two_voices
    turns = speakers_of(conv.wave, 2)
    assert len({t.speaker for t in turns}) == 2
    assert score(conv.truth, turns) >= 0.85


def speakers_of(wave, n):
    from emotion.longform.timeline import speaker_turns

    return speaker_turns(wave, n)


def test_timeline_windows_lie_inside_their_speakers_turns(two_voices):
    from emotion import Predictor

    require_checkpoint()
    predictor = Predictor.from_checkpoint()
    conv, path = two_voices
    frame = predictor.timeline(path, speakers=2)
    turns = frame.attrs["turns"]
    assert list(frame.columns[:3]) == ["start", "end", "speaker"]
    for row in frame.itertuples():
        assert any(t.start - 1e-3 <= row.start and row.end <= t.end + 1e-3 and t.speaker == row.speaker for t in turns)
    np.testing.assert_allclose(frame[list(predictor.labels)].sum(axis=1), 1.0, atol=1e-6)
    # one speaker cuts nothing: the same windows and probabilities as without attribution
    plain, one = predictor.timeline(path), predictor.timeline(path, speakers=1)
    assert "speaker" not in plain and set(one["speaker"]) == {1}
    np.testing.assert_allclose(one[list(predictor.labels)], plain[list(predictor.labels)], atol=1e-6)
    assert list(one["start"]) == list(plain["start"])


def test_summary_per_speaker_weighs_its_windows(two_voices):
    from emotion import Predictor
    from emotion.longform import long_input

    require_checkpoint()
    predictor = Predictor.from_checkpoint()
    frame = predictor.timeline(two_voices[1], speakers=2)
    summary = long_input.speaker_summary(frame, predictor.labels)
    assert list(summary["speaker"]) == [1, 2]
    assert summary["seconds"].sum() == pytest.approx(
        long_input.speech_weights(frame["start"], frame["end"]).sum(), abs=0.2
    )
    np.testing.assert_allclose(summary[list(predictor.labels)].sum(axis=1), 1.0, atol=1e-3)
    mine = frame[frame["speaker"] == 1]
    if len(mine) == 1:  # one window: its own probabilities
        np.testing.assert_allclose(
            summary.iloc[0][list(predictor.labels)].astype(float),
            mine.iloc[0][list(predictor.labels)].astype(float),
            atol=1e-4,
        )


def test_cli_names_speakers(two_voices):
    require_checkpoint()
    run = [sys.executable, "-m", "emotion.predict", str(two_voices[1])]
    out = subprocess.run(run + ["--timeline", "--speakers", "2"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "Speaker 1:" in out.stdout and "Speaker 2:" in out.stdout and "s of speech" in out.stdout
    bad = subprocess.run(run + ["--speakers", "2"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "--timeline or --transcript" in bad.stderr


def test_batch_rows_carry_the_speaker(two_voices, tmp_path):
    import pandas as pd

    from emotion import batch
    from emotion.batch.batch_io import BatchError

    require_checkpoint()
    batch.run([str(two_voices[1])], tmp_path / "out", timeline=True, speakers=2, progress=False)
    rows = pd.read_parquet(tmp_path / "out")
    assert set(rows["speaker"]) == {1, 2} and rows["error"].isna().all()
    with pytest.raises(BatchError, match="another kind"):  # the same OUT without speakers: refused, not mixed
        batch.run([str(two_voices[1])], tmp_path / "out", timeline=True, progress=False)
    with pytest.raises(BatchError, match="--timeline or --transcript"):
        batch.run([str(two_voices[1])], tmp_path / "other", speakers=2, progress=False)


def test_packed_windows_embed_as_each_alone():
    """Windows of different lengths go through the LSTM together (packed): the same embeddings as one by one."""
    import torch

    encoder = voice_encoder.load_encoder()
    torch.manual_seed(0)
    short, full = torch.rand(100, 40), torch.rand(160, 40)
    with torch.inference_mode():
        alone = torch.cat([encoder(short[None]), encoder(full[None])])
        packed = encoder(torch.nn.utils.rnn.pad_sequence([short, full], batch_first=True), torch.tensor([100, 160]))
    torch.testing.assert_close(packed, alone, atol=1e-5, rtol=0)


def test_threshold_program_leaves_each_corpus_out(tmp_path):
    """python -m emotion.training.speakers --quick: every corpus is checked at a threshold chosen on the
    other three, through the library's own path (the cached embeddings give the library's turns)."""
    import json

    from emotion.training import speakers as program

    data = ROOT.parent / "shared" / "data"
    if not (data / "nemo").is_dir():
        pytest.skip(f"the shared corpora are not at {data}")
    assert program.main(["--data-dir", str(data), "--out", str(tmp_path), "--quick"]) == 0
    report = json.loads((tmp_path / "attribution.json").read_text())
    assert [f["checked_on"] for f in report["folds"]] == [[c] for c in program.CORPORA]
    for fold in report["folds"]:
        assert fold["checked_on"][0] not in fold["chosen"]["corpora"]
        assert all(r["same_as_library"] for r in fold["checked"])
        assert all(0.0 <= r["share_auto"] <= 1.0 for r in fold["checked"])
    assert "## Leave one corpus out" in (tmp_path / "attribution.md").read_text()

"""emotion.data.ravdess and emotion.training.data: RAVDESS names, the dataset index, actor folds
(emotion.training.folds), the Dataset and SpecAugment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import torchaudio

from emotion.audio import N_SAMPLES, load_audio, pad_or_trim
from emotion.audio.speech import trim_silence
from emotion.data.ravdess import index_dataset, parse_name
from emotion.labels import EMOTIONS
from emotion.training.data import Augment, ClipDataset, spec_augment
from emotion.training.folds import speaker_folds

# --------------------------------------------------------------------------- parse_name


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "03-01-01-01-01-01-01.wav",
            dict(
                modality=3,
                channel="speech",
                emotion="neutral",
                label=0,
                intensity="normal",
                statement="Kids are talking by the door",
                repetition=1,
                actor=1,
                sex="male",
            ),
        ),
        (
            "speech/Actor_24/03-01-08-02-02-02-24.flac",
            dict(
                modality=3,
                channel="speech",
                emotion="surprised",
                label=7,
                intensity="strong",
                statement="Dogs are sitting by the door",
                repetition=2,
                actor=24,
                sex="female",
            ),
        ),
        (
            "03-02-06-02-01-02-17",
            dict(
                modality=3,
                channel="song",
                emotion="fearful",
                label=5,
                intensity="strong",
                statement="Kids are talking by the door",
                repetition=2,
                actor=17,
                sex="male",
            ),
        ),
        (
            "Actor_12/03-02-03-01-02-01-12.wav",
            dict(
                modality=3,
                channel="song",
                emotion="happy",
                label=2,
                intensity="normal",
                statement="Dogs are sitting by the door",
                repetition=1,
                actor=12,
                sex="female",
            ),
        ),
        (
            "01-01-07-02-01-01-07.mp4",  # full-AV modality: parsed too (the index skips non-audio files)
            dict(
                modality=1,
                channel="speech",
                emotion="disgust",
                label=6,
                intensity="strong",
                statement="Kids are talking by the door",
                repetition=1,
                actor=7,
                sex="male",
            ),
        ),
    ],
)
def test_parse_name_fields(name, expected):
    p = parse_name(name)
    got = dict(
        modality=p.modality,
        channel=p.channel,
        emotion=p.emotion,
        label=p.label,
        intensity=p.intensity,
        statement=p.statement,
        repetition=p.repetition,
        actor=p.actor,
        sex=p.sex,
    )
    assert got == expected
    assert EMOTIONS[p.label] == p.emotion and p.emotion_code == p.label + 1


@pytest.mark.parametrize(
    "name",
    [
        "hello.wav",
        "",
        "03-01-01-01-01-01.wav",
        "03-01-01-01-01-01-01-01.wav",
        "3-01-01-01-01-01-01.wav",
        "03-01-01-01-01-01-1.wav",
        "03_01_01_01_01_01_01.wav",
        "aa-01-01-01-01-01-01.wav",
        "03-03-01-01-01-01-01.wav",  # vocal channel 3
        "03-00-01-01-01-01-01.wav",
        "03-01-00-01-01-01-01.wav",  # emotion 0
        "03-01-09-01-01-01-01.wav",  # emotion 9
        "03-01-01-03-01-01-01.wav",  # intensity 3
        "03-01-01-01-03-01-01.wav",  # statement 3
        "03-01-01-01-01-03-01.wav",  # repetition 3
        "03-01-01-01-01-01-00.wav",  # actor 0
        "03-01-01-01-01-01-25.wav",  # actor 25
    ],
)
def test_parse_name_rejects(name):
    with pytest.raises(ValueError):
        parse_name(name)


@pytest.mark.parametrize("name", ["00-01-01-01-01-01-01.wav", "99-01-01-01-01-01-01.wav"])
def test_parse_name_rejects_bad_modality(name):
    with pytest.raises(ValueError):
        parse_name(name)


# --------------------------------------------------------------------------- index_dataset


def _touch_audio(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(160, np.float32), 16000)
    return path


def test_index_dataset_both_layouts_and_duplicates(tmp_path):
    zen = tmp_path / "zenodo"
    _touch_audio(zen / "Actor_01" / "03-01-01-01-01-01-01.wav")
    _touch_audio(zen / "Actor_02" / "03-01-05-02-01-02-02.WAV")  # upper-case suffix
    _touch_audio(zen / "Actor_02" / "03-02-03-01-02-01-02.wav")  # song
    ours = tmp_path / "ours"
    _touch_audio(ours / "speech" / "Actor_03" / "03-01-02-01-01-01-03.flac")
    _touch_audio(ours / "song" / "Actor_04" / "03-02-06-02-02-02-04.flac")
    # duplicates: a WAV outside any Actor_ folder beside its FLAC copy inside one; the loose
    # copy sorts before ("aaa") or after ("zzz") the Actor_ one, and loses either way
    _touch_audio(ours / "aaa" / "03-01-02-01-01-01-03.wav")
    _touch_audio(ours / "song" / "Actor_04" / "zzz" / "03-02-06-02-02-02-04.wav")
    # ignored: not RAVDESS names, other formats, out-of-range fields
    _touch_audio(ours / "speech" / "Actor_03" / "notes.wav")
    _touch_audio(ours / "speech" / "Actor_03" / "03-01-01-01-01-01-25.wav")
    (ours / "speech" / "Actor_03" / "03-01-04-01-01-01-03.mp3").write_bytes(b"\0" * 10)
    (ours / "README.md").write_text("not audio")

    df = index_dataset(tmp_path)
    assert list(df.columns) == [
        "id",
        "path",
        "channel",
        "emotion",
        "label",
        "intensity",
        "statement",
        "repetition",
        "actor",
        "sex",
    ]
    assert sorted(df["id"]) == [
        "03-01-01-01-01-01-01",
        "03-01-02-01-01-01-03",
        "03-01-05-02-01-02-02",
        "03-02-03-01-02-01-02",
        "03-02-06-02-02-02-04",
    ]
    assert df["id"].is_unique
    row = df.set_index("id").loc["03-01-02-01-01-01-03"]
    assert Path(row["path"]) == ours / "speech" / "Actor_03" / "03-01-02-01-01-01-03.flac"
    assert (
        row["channel"],
        row["emotion"],
        row["label"],
        row["intensity"],
        row["statement"],
        row["repetition"],
        row["actor"],
        row["sex"],
    ) == ("speech", "calm", 1, "normal", 1, 1, 3, "male")
    row = df.set_index("id").loc["03-02-06-02-02-02-04"]
    assert Path(row["path"]) == ours / "song" / "Actor_04" / "03-02-06-02-02-02-04.flac"
    assert (row["channel"], row["emotion"], row["actor"], row["sex"]) == ("song", "fearful", 4, "female")
    for p in df["path"]:
        assert Path(p).parent.name.startswith("Actor_")

    speech = index_dataset(tmp_path, channels=("speech",))
    assert sorted(speech["id"]) == ["03-01-01-01-01-01-01", "03-01-02-01-01-01-03", "03-01-05-02-01-02-02"]
    assert index_dataset(tmp_path / "ours" / "song").shape[0] == 1
    empty = index_dataset(tmp_path / "nothing-here")
    assert empty.empty and "actor" in empty.columns


def test_index_dataset_on_shared_ravdess(shared_ravdess):
    df = index_dataset(shared_ravdess, channels=("speech",))
    assert len(df) == 1200
    assert df["id"].is_unique
    assert sorted(df["actor"].unique()) == list(range(1, 21))
    assert (df.groupby("actor").size() == 60).all()
    counts = df["emotion"].value_counts()
    assert set(counts.index) == set(EMOTIONS)
    assert counts["neutral"] == 80 and all(counts[e] == 160 for e in EMOTIONS[1:])  # neutral: 1 intensity
    # the 48 kHz originals beside the FLACs are not counted twice: the Actor_ copies win
    assert all(p.endswith(".flac") and "/Actor_" in p for p in df["path"])
    assert (df["sex"] == np.where(df["actor"] % 2, "male", "female")).all()
    assert (df["label"].map(lambda i: EMOTIONS[i]) == df["emotion"]).all()


# --------------------------------------------------------------------------- speaker folds of RAVDESS actors


def test_actor_folds_20_actors_5_folds():
    folds = speaker_folds(range(1, 21), 5)
    assert len(folds) == 5
    flat = [a for f in folds for a in f]
    assert sorted(flat) == list(range(1, 21)) and len(set(flat)) == 20  # disjoint, complete
    for f in folds:
        assert len(f) == 4
        assert {a % 2 for a in f} == {0, 1}  # both sexes in every fold
    assert speaker_folds(range(1, 21), 5) == folds  # deterministic
    # the shipped checkpoints' folds: consecutive actors, as plain ints (JSON and weights_only)
    assert folds == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20]]
    assert all(type(a) is int for f in speaker_folds(np.arange(20, 0, -1), 5) for a in f)
    assert speaker_folds(np.arange(20, 0, -1), 5) == folds  # numpy actors, any order


def test_actor_folds_uneven_duplicated_unsorted():
    folds = speaker_folds([5, 3, 3, 1, 2, 4, 6, 9, 8, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 18], 4)
    assert [len(f) for f in folds] == [5, 5, 4, 4]
    assert folds[0] == [1, 2, 3, 4, 5] and folds[3] == [15, 16, 17, 18]
    assert sorted(a for f in folds for a in f) == list(range(1, 19))
    assert all(int(a) == a for f in folds for a in f)


@pytest.mark.parametrize("k", [1, 0, 21])
def test_actor_folds_rejects_bad_k(k):
    with pytest.raises(ValueError):
        speaker_folds(range(1, 21), k)


# --------------------------------------------------------------------------- Dataset


@pytest.fixture(scope="module")
def small_frame(asset_flacs):
    from emotion.data.ravdess import parse_name

    rows = []
    for p in asset_flacs[:4]:
        n = parse_name(p.name)
        rows.append(dict(id=p.stem, path=str(p), channel=n.channel, emotion=n.emotion, label=n.label, actor=n.actor))
    return pd.DataFrame(rows)


def test_dataset_without_augment_is_the_inference_clip(small_frame):
    ds = ClipDataset(small_frame)
    assert len(ds) == 4
    for i, path in enumerate(small_frame["path"]):
        wave, label = ds[i]
        expected = pad_or_trim(trim_silence(load_audio(path)))
        assert wave.dtype == torch.float32 and wave.shape == (N_SAMPLES,)
        np.testing.assert_array_equal(wave.numpy(), expected)
        assert int(label) == small_frame["label"][i]
        np.testing.assert_array_equal(ds[i][0].numpy(), expected)  # and again: deterministic


def _augmented(frame, seed, n=6):
    ds = ClipDataset(frame, augment=Augment(), seed=seed)
    return [ds[i % len(ds)][0].numpy() for i in range(n)]


def test_dataset_with_augment(small_frame):
    a = _augmented(small_frame, seed=5)
    for w in a:
        assert w.dtype == np.float32 and w.shape == (N_SAMPLES,)
        assert np.abs(w).max() <= 1.0 and w.std() > 0
    assert not np.array_equal(a[0], a[4])  # same clip, different draw
    b = _augmented(small_frame, seed=5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)  # same seed: same sequence
    c = _augmented(small_frame, seed=6)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c))


def test_augment_without_speed_gain_noise_only_shifts(small_frame):
    """With speed, gain and noise off, an item is the trimmed clip at a random offset."""
    ds = ClipDataset(small_frame, augment=Augment(speed_prob=0.0, gain_db=0.0, noise_prob=0.0), seed=1)
    offsets = set()
    for i in range(len(ds)):
        trimmed = ds.waves[i]
        item = ds[i][0].numpy()
        slack = abs(N_SAMPLES - len(trimmed))
        hits = [k for k in range(slack + 1) if np.array_equal(item, np.clip(pad_or_trim(trimmed, offset=k), -1, 1))]
        assert hits, f"item {i} is not a shifted copy of its clip"
        offsets.add(hits[0])
    assert len(offsets) > 1


def test_augment_gain_stays_within_range(small_frame):
    ds = ClipDataset(small_frame, augment=Augment(speed_prob=0.0, gain_db=6.0, noise_prob=0.0), seed=2)
    for i in range(len(ds)):
        ref = pad_or_trim(ds.waves[i])
        item = ds[i][0].numpy()
        gain_db = 20 * np.log10(np.abs(item).max() / np.abs(ref).max())
        assert -6.01 <= gain_db <= 6.01


def test_speed_perturbation_changes_tempo_and_pitch_by_the_factor():
    """The cached speed resampler matches torchaudio.functional.resample and plays a 200 Hz tone
    `speed` times faster: length / speed, pitch * speed."""
    from emotion.training.data import _speed_resampler

    sr = 16000
    t = np.arange(sr) / sr
    tone = torch.from_numpy(np.sin(2 * np.pi * 200 * t).astype(np.float32))
    for rate in (90, 104, 110):
        fast = _speed_resampler(rate)(tone)
        ref = torchaudio.functional.resample(tone, rate, 100)
        torch.testing.assert_close(fast, ref, atol=1e-4, rtol=0)
        speed = rate / 100
        assert abs(len(fast) - sr / speed) <= 1
        spectrum = np.abs(np.fft.rfft(fast.numpy() * np.hanning(len(fast))))
        peak_hz = np.argmax(spectrum) * sr / len(fast)
        assert abs(peak_hz - 200 * speed) < 3


# --------------------------------------------------------------------------- SpecAugment


def test_spec_augment_masks_rows_and_columns(asset_batch):
    _, _, mel, _ = asset_batch
    mel = mel[:4]
    before = mel.clone()
    aug = Augment()
    out = spec_augment(mel, aug, torch.Generator().manual_seed(0))
    assert out.shape == mel.shape
    assert torch.equal(mel, before)  # input untouched
    changed_any = False
    for b in range(4):
        fill = float(before[b].mean())
        changed = out[b] != before[b]
        assert torch.allclose(out[b][changed], torch.tensor(fill))  # masks hold the mean
        filled = out[b] == fill
        rows = filled.all(dim=1)  # whole mel bins masked
        cols = filled.all(dim=0)  # whole frames masked
        assert torch.equal(changed, changed & (rows[:, None] | cols[None, :]))  # only whole rows/cols
        assert int(rows.sum()) <= 2 * aug.freq_mask and int(cols.sum()) <= 2 * aug.time_mask
        changed_any |= bool(changed.any())
    assert changed_any
    again = spec_augment(mel, aug, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)  # reproducible for a seeded generator


def test_pitch_and_tempo_perturbed_apart():
    """pitch_tempo(wave, p, t) moves a 200 Hz tone to 200 * p Hz and its length to length / t, with
    its energy (so its level within 1 dB); without a tempo it is the speed resampler itself (pitch and
    tempo together)."""
    from emotion.training.data import _speed_resampler, pitch_tempo

    sr = 16000
    tone = (0.5 * np.sin(2 * np.pi * 200 * np.arange(sr) / sr)).astype(np.float32)
    np.testing.assert_array_equal(pitch_tempo(tone, 1.07), _speed_resampler(107)(torch.from_numpy(tone)).numpy())

    def rms(x):
        return float(np.sqrt(np.mean(x[1000:-1000] ** 2)))

    for pitch, tempo in ((1.1, 1.0), (0.9, 1.0), (1.0, 1.1), (1.1, 0.9), (0.9, 1.1)):  # --warp 0.1 spans
        out = pitch_tempo(tone, pitch, tempo)
        assert out.dtype == np.float32 and abs(len(out) - sr / tempo) <= 2, (pitch, tempo, len(out))
        spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
        assert abs(np.argmax(spectrum) * sr / len(out) - 200 * pitch) < 4, (pitch, tempo)
        assert abs(20 * np.log10(rms(out) / rms(tone))) < 1.0, (pitch, tempo)
        assert abs(np.sum(out**2) / np.sum(pitch_tempo(tone, pitch) ** 2) - 1) < 1e-3, (pitch, tempo)


def test_augment_warp_draws_pitch_and_tempo_apart(small_frame):
    """warp > 0 replaces the speed perturbation (seeded like every draw); warp 0 leaves it as it was."""
    from emotion.training.data import _speed_resampler

    def items(warp, seed):
        ds = ClipDataset(small_frame, Augment(speed_prob=1.0, gain_db=0.0, noise_prob=0.0, warp=warp), seed=seed)
        return [ds[i][0].numpy() for i in range(len(ds))]

    warped = items(0.1, 3)
    for a, b in zip(warped, items(0.1, 3)):
        np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(a, b) for a, b in zip(warped, items(0.0, 3)))
    # warp 0: the first item is the speed resampler's output at the drawn factor and offset
    ds = ClipDataset(small_frame, Augment(speed_prob=1.0, gain_db=0.0, noise_prob=0.0), seed=3)
    r = np.random.default_rng(3)
    r.random()
    fast = _speed_resampler(int(round(r.uniform(*Augment.speed) * 100)))(torch.from_numpy(ds.waves[0])).numpy()
    expected = pad_or_trim(fast, offset=int(r.integers(0, abs(N_SAMPLES - len(fast)) + 1)))
    np.testing.assert_array_equal(ds[0][0].numpy(), np.clip(expected, -1, 1))

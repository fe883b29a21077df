"""python -m emotion.batch: values equal Predictor's, error rows, resume, interruption, manifests,
timeline, and the Ray engine (on a local Ray this test starts and stops itself)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

pytest.importorskip("pyarrow", reason="batch scoring needs pyarrow: pip install -r requirements-batch.txt")

from emotion import batch  # noqa: E402
from emotion.audio import AudioError, resample  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def clips(tmp_path_factory, asset_flacs):
    """A folder of 4 asset FLACs, a 48 kHz WAV, and an unreadable, a silent and a long silent file."""
    d = tmp_path_factory.mktemp("clips")
    for f in asset_flacs[:4]:
        shutil.copy(f, d / f.name)
    wave, sr = sf.read(asset_flacs[8], dtype="float32")
    sf.write(d / "take_48k.wav", resample(wave, sr, 48000), 48000, subtype="PCM_16")
    (d / "broken.wav").write_bytes(b"RIFF not really a wave file")
    sf.write(d / "silent.flac", np.zeros(2 * 16000, np.float32), 16000)
    sf.write(d / "long_silence.wav", np.zeros(61 * 8000, np.int16), 8000)  # over 60 s: judged block by block
    return d


def read(out) -> pd.DataFrame:
    return pd.read_parquet(out)


def check_against_predictor(frame: pd.DataFrame, files, predictor) -> None:
    """One row per file, whose values are Predictor.predict's (or its AudioError message): a column
    per label of the checkpoint."""
    labels = list(predictor.labels)
    assert [c for c in frame.columns if c in labels] == labels
    assert sorted(frame["path"]) == sorted(os.path.abspath(f) for f in files)
    for row in frame.to_dict("records"):
        try:
            expected = predictor.predict(row["path"])
        except AudioError as exc:
            assert row["error"] == str(exc)
            assert all(np.isnan(row[e]) for e in labels) and pd.isna(row["emotion"])
            continue
        assert pd.isna(row["error"])
        np.testing.assert_allclose([row[e] for e in labels], [expected[e] for e in labels], atol=1e-5)
        assert row["emotion"] == max(expected, key=expected.get)
        assert row["duration"] == pytest.approx(sf.info(row["path"]).duration)


@pytest.mark.parametrize("workers", [1, 2])
def test_local_rows_equal_predictor(clips, tmp_path, tiny_checkpoint_path, tiny_predictor, workers):
    out = tmp_path / "results.parquet"
    rc = batch.main(
        [
            str(clips),
            "--out",
            str(out),
            "--checkpoint",
            str(tiny_checkpoint_path),
            "--workers",
            str(workers),
            "--threads",
            "1",
            "--part-size",
            "3",
            "--no-progress",
        ]
    )
    assert rc == 0
    frame = read(out)
    check_against_predictor(frame, list(clips.iterdir()), tiny_predictor)
    assert len(list(out.glob("part-*.parquet"))) == 3  # 8 files, 3 a part
    errors = frame.set_index(frame["path"].map(lambda p: Path(p).name))["error"]
    assert errors["broken.wav"].startswith("Could not read broken.wav as audio.")
    assert errors["silent.flac"].startswith("No speech found")
    assert errors["long_silence.wav"].startswith("No speech found")
    assert frame["error"].notna().sum() == 3


def test_rerun_scores_only_new_files(clips, tmp_path, tiny_checkpoint_path, tiny_predictor):
    src = tmp_path / "src"
    shutil.copytree(clips, src)
    out = tmp_path / "out"
    kw = dict(checkpoint=tiny_checkpoint_path, threads=1, progress=False)
    first = batch.run([str(src)], out, **kw)
    assert (first["scored"], first["failed"], first["skipped"]) == (8, 3, 0)
    again = batch.run([str(src)], out, **kw)
    assert (again["scored"], again["skipped"]) == (0, 8)
    shutil.copy(src / "take_48k.wav", src / "take_48k_copy.wav")
    third = batch.run([str(src)], out, **kw)
    assert (third["scored"], third["skipped"]) == (1, 8)
    frame = read(out)
    assert frame["path"].is_unique and len(frame) == 9
    check_against_predictor(frame, list(src.iterdir()), tiny_predictor)


def test_interrupted_run_loses_nothing(asset_flacs, tmp_path, tiny_checkpoint_path, tiny_predictor):
    src = tmp_path / "src"
    src.mkdir()
    for k in range(8):  # 144 files
        for f in asset_flacs:
            os.link(f, src / f"{k}_{f.name}")
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "emotion.batch",
        str(src),
        "--out",
        str(out),
        "--checkpoint",
        str(tiny_checkpoint_path),
        "--threads",
        "1",
        "--part-size",
        "2",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("part-*.parquet")):
            assert proc.poll() is None and time.monotonic() < deadline, "no part appeared"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)  # no chance to clean up
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    parts = list(out.glob("part-*.parquet"))
    assert 1 <= len(parts) < 72, "the run was not interrupted halfway"
    for part in parts:  # every finished part is whole
        assert len(pd.read_parquet(part)) == 2
    before = len(read(out))
    stats = batch.run([str(src)], out, checkpoint=tiny_checkpoint_path, threads=1, progress=False)
    assert stats["skipped"] == before and stats["scored"] == 144 - before
    assert not list(out.glob(".tmp-*"))
    frame = read(out)
    assert frame["path"].is_unique and len(frame) == 144
    for part in out.glob("part-*.parquet"):
        pd.read_parquet(part)
    sample = frame.iloc[::29]
    check_against_predictor(sample, list(sample["path"]), tiny_predictor)


def test_csv_manifest_resolves_relative_paths(clips, tmp_path, tiny_checkpoint_path, tiny_predictor):
    lists = tmp_path / "lists"
    lists.mkdir()
    flacs = sorted(clips.glob("03-*.flac"))
    relative = os.path.relpath(flacs[0], lists)
    pd.DataFrame({"path": [relative, str(flacs[1]), "missing.wav"], "speaker": ["a", "b", "c"]}).to_csv(
        lists / "manifest.csv", index=False
    )
    out = tmp_path / "out"
    assert (
        batch.main(
            [
                str(lists / "manifest.csv"),
                "--out",
                str(out),
                "--checkpoint",
                str(tiny_checkpoint_path),
                "--threads",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    frame = read(out)
    missing = str(lists / "missing.wav")  # resolved against the CSV's folder, not the cwd
    check_against_predictor(frame, [flacs[0], flacs[1], missing], tiny_predictor)
    assert frame.set_index("path").loc[missing, "error"] == f"No such audio file: {missing}"


def test_timeline_rows(clips, tmp_path, tiny_checkpoint_path, tiny_predictor):
    files = [clips / "take_48k.wav", sorted(clips.glob("03-*.flac"))[0], clips / "broken.wav"]
    out = tmp_path / "out"
    assert (
        batch.main(
            [
                *map(str, files),
                "--out",
                str(out),
                "--timeline",
                "--checkpoint",
                str(tiny_checkpoint_path),
                "--threads",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    frame = read(out)
    ok = frame[frame["error"].isna()]
    assert (ok["start"] < ok["end"]).all()
    for f in files[:2]:
        got = ok[ok["path"] == str(f)].sort_values("start")
        expected = tiny_predictor.timeline(f)
        assert len(got) == len(expected) >= 1
        columns = ["start", "end", *tiny_predictor.labels]
        np.testing.assert_allclose(got[columns].to_numpy(), expected[columns].to_numpy(), atol=1e-5)
        assert list(got["emotion"]) == list(expected["emotion"])
    bad = frame[frame["path"] == str(files[2])]
    assert len(bad) == 1 and bad["error"].iloc[0].startswith("Could not read broken.wav")
    assert np.isnan(bad["start"].iloc[0])


def test_ray_engine_equals_predictor(clips, tmp_path, tiny_checkpoint_path, tiny_predictor):
    ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-batch.txt to test it")
    pytest.importorskip("ray.data", reason="Ray Data missing: pip install -r requirements-batch.txt")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        out = tmp_path / "out"
        stats = batch.run(
            [str(clips)],
            out,
            engine="ray",
            checkpoint=tiny_checkpoint_path,
            workers=2,
            threads=1,
            part_size=4,
            progress=False,
        )
        assert (stats["scored"], stats["failed"]) == (8, 3)
        assert ray.is_initialized()  # the engine leaves a Ray it did not start running
    finally:
        ray.shutdown()
    check_against_predictor(read(out), list(clips.iterdir()), tiny_predictor)


def test_ray_engine_without_ray_names_the_pip_command(clips, tmp_path, tiny_checkpoint_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    rc = batch.main(
        [str(clips), "--out", str(tmp_path / "out"), "--engine", "ray", "--checkpoint", str(tiny_checkpoint_path)]
    )
    assert rc == 2
    assert "pip install -r requirements-batch.txt" in capsys.readouterr().err

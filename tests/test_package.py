"""pip install it (issue 35): the wheel holds the library and the shipped checkpoints, not the data;
installed elsewhere, `emotion predict` answers and Predictor.from_checkpoint() finds its model;
requirements.txt and the package's dependencies agree; the model card's numbers are the JSON's."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
IGNORED = shutil.ignore_patterns(".venv", ".git", "runs", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


def pins(path: Path) -> set:
    """The requirement lines of a requirements file (comments, -r includes and blanks dropped)."""
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("-")}


def test_requirements_and_the_package_agree():
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    assert pins(ROOT / "requirements.txt") == set(project["dependencies"]) | set(extras["app"]) | set(
        extras["transcript"]
    )
    assert pins(ROOT / "requirements-batch.txt") == set(extras["batch"])
    assert project["scripts"]["emotion"] == "emotion.__main__:main"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (so no stale build/ folder can leak into it)."""
    src = tmp_path_factory.mktemp("src") / "repo"
    shutil.copytree(ROOT, src, ignore=IGNORED)
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    (whl,) = out.glob("emotion_ser-*.whl")
    return whl


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_wheel_holds_the_checkpoints_and_not_the_data(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        for shipped in ("emotion.pt", "cnn/emotion.pt", "SHA256SUMS", "metrics.json"):
            packed = z.read(f"emotion/checkpoints/{shipped}")
            assert sha256(packed) == sha256((ROOT / "checkpoints" / shipped).read_bytes()), shipped
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        assert "emotion = emotion.__main__:main" in z.read(entry).decode()
    assert "emotion/__init__.py" in names and "emotion/training/train.py" in names
    audio = [n for n in names if n.lower().endswith((".flac", ".wav", ".mp3", ".ogg"))]
    assert audio == [], audio  # no corpus, no example clip
    assert not [n for n in names if n.startswith(("tests/", "assets/", "ui/", "runs/", "shared/"))]
    assert not [n for n in names if "ravdess-only" in n]  # only the shipped model and the CNN fallback


def test_installed_elsewhere_it_predicts_and_finds_its_model(wheel, tmp_path, asset_flacs):
    """pip install of the wheel (not editable) into a folder, then from another directory:
    `python -m emotion predict clip --format json` (what the `emotion` script runs) and
    Predictor.from_checkpoint() loading the packaged checkpoint."""
    site = tmp_path / "site"
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clip = shutil.copy(asset_flacs[0], elsewhere / "clip.flac")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = dict(cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    out = subprocess.run([sys.executable, "-m", "emotion", "predict", str(clip), "--format", "json"], **run)
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row["file"].endswith("clip.flac") and abs(sum(row[k] for k in _labels()) - 1) < 1e-6
    code = (
        "import emotion, emotion.model.checkpoint as c; from emotion import Predictor; "
        "p = Predictor.from_checkpoint(); "
        "print(emotion.__file__); print(c.SHIPPED); print(len(p.models), p.gate is not None)"
    )
    out = subprocess.run([sys.executable, "-c", code], **run)
    assert out.returncode == 0, out.stderr
    module, shipped, loaded = out.stdout.split("\n")[:3]
    assert module.startswith(str(site)) and shipped == str(site / "emotion" / "checkpoints" / "emotion.pt")
    assert loaded == "5 True"


def _labels():
    import torch

    return torch.load(ROOT / "checkpoints" / "emotion.pt", weights_only=True)["labels"]


def test_the_command_says_what_each_subcommand_does(capsys):
    from emotion.__main__ import COMMANDS, main

    assert {"predict", "batch", "app", "train", "evaluate"} <= set(COMMANDS)
    for name, command in COMMANDS.items():
        assert main([name, "--help"]) == 0
        text = capsys.readouterr().out
        assert text.startswith(f"emotion {name}: {command.summary}") and f"example: {command.example}" in text
        assert "usage:" in text  # and the program's own options follow
    assert main(["nonsense"]) == 2


def test_the_model_card_has_its_sections_and_the_shipped_numbers():
    card = (ROOT / "MODEL_CARD.md").read_text()
    header = card.split("---")[1]
    for key in ("language:", "license: cc-by-nc-sa-4.0", "tags:", "datasets:", "metrics:"):
        assert key in header, key
    for section in (
        "## Intended use",
        "## Out of scope",
        "## Training data",
        "## Results",
        "## Known limits",
        "## Citation",
    ):
        assert section in card, section
    for misuse in (
        "hiring",
        "Lie or deception detection",
        "Clinical diagnosis",
        "Surveillance",
        "Decisions about people",
    ):
        assert misuse in card, misuse
    metrics = json.loads((ROOT / "checkpoints" / "metrics.json").read_text())
    shown = [f"{100 * metrics['accuracy']:.1f}%", f"{100 * metrics['macro_f1']:.1f}%", f"{metrics['ece']:.3f}"]
    shown += [f"{metrics['ece_calibrated']:.3f}", f"T = {metrics['temperature']:.2f}"]
    cross = json.loads((ROOT / "checkpoints" / "crosscorpus.json").read_text())["results"]
    emodb = next(r for r in cross if r["checkpoint"] == "checkpoints/emotion.pt" and r["corpus"] == "emodb")
    shown += [f"{100 * emodb['accuracy']:.1f}%", f"{100 * emodb['macro_f1']:.1f}%"]
    for text in shown:
        assert text in card, text
    assert re.search(rf"value: {100 * metrics['accuracy']:.1f}\b", header)  # the model index holds the same figure
    loco = json.loads((ROOT / "checkpoints" / "loco.json").read_text())
    assert f"{100 * loco['mean_accuracy']:.1f}%" in card  # the headline: corpora never heard
    gate = json.loads((ROOT / "checkpoints" / "voice_gate.json").read_text())["leave_one_corpus_out"]
    refused = sum(row["clean refused"] for row in gate)
    clips = sum(row["clips"] for row in gate)
    assert f"{refused} of {clips:,}" in card


def test_the_app_links_the_model_card(served_app):
    import urllib.request

    from ui.common import footer
    from ui.settings import MODEL_CARD

    link = re.search(r"\[Model card\]\(([^)]+)\)", footer()).group(1)
    assert link == f"gradio_api/file={MODEL_CARD}"
    with urllib.request.urlopen(served_app.rstrip("/") + "/" + link, timeout=30) as reply:
        assert reply.status == 200 and "## Intended use" in reply.read().decode()
    with urllib.request.urlopen(served_app.rstrip("/") + "/config", timeout=30) as config:  # what the page renders
        assert f"[Model card]({link})" in config.read().decode()


def test_readme_ablation_rows_are_the_stored_runs():
    """Every row of the README's leave-one-corpus-out ablation table is what `loco --table` prints from
    the run's JSON in docs/loco/ (figures copied by hand drift), and every stored run has its row."""
    from emotion.training import loco

    def cells(line):
        return [c.strip() for c in line.strip().strip("|").split("|")]

    readme = (ROOT / "README.md").read_text().splitlines()
    start = readme.index(next(line for line in readme if line.startswith("| recipe | ravdess | emodb | nemo |")))
    header, rows = cells(readme[start]), {}
    for line in readme[start + 2 :]:
        if not line.startswith("|"):
            break
        row = cells(line)
        rows[re.sub(r"\*\*| \(.*\)", "", row[0])] = dict(zip(header[1:], row[1:]))
    runs = sorted(p for p in (ROOT / "docs" / "loco").glob("*.json") if "recipe" in json.loads(p.read_text()))
    assert sorted(rows) == sorted(p.stem for p in runs)
    for path in runs:  # by column name: a run's own table lists its corpora in the order it scored them
        printed = loco.table([str(path)]).splitlines()
        assert dict(zip(cells(printed[0])[1:], cells(printed[-1])[1:])) == rows[path.stem], path.stem

"""The three wings and their import rules (README, "How it works").

    emotion/            the inference library: imports neither the training programs nor the UI
    emotion/__main__.py the `emotion` command: the front door to all three; nothing imports it
    emotion/training/   training programs: import the library, never the UI
    ui/ + app.py        Gradio: import the library, never the training programs

Checked on the source (every import statement, relative ones resolved), and by importing every
library module in a fresh interpreter: gradio must not be loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ROOT / "emotion" / "__main__.py"
LIBRARY = sorted(p for p in (ROOT / "emotion").glob("*.py") if p != COMMAND)
TRAINING = sorted((ROOT / "emotion" / "training").glob("*.py"))
UI = sorted((ROOT / "ui").glob("*.py")) + [ROOT / "app.py"]
MAX_LINES = 300


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set:
    """Every module a file imports (relative imports resolved to absolute names)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)  # `from . import x`
    return found


def _forbidden(found: set, prefixes) -> list:
    return sorted(m for m in found if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_the_wings_exist_and_hold_their_modules():
    names = {p.stem for p in LIBRARY}
    assert {
        "audio",
        "features",
        "model",
        "checkpoint",
        "predict",
        "timeline",
        "live",
        "explain",
        "plots",
        "ravdess",
        "clips",
        "scoring",
    } <= names
    assert {"train", "evaluate", "data", "download"} <= {p.stem for p in TRAINING}
    assert {"settings", "analyze", "live", "examples", "metrics"} <= {p.stem for p in UI}


def test_import_rule_detector_sees_relative_imports():
    # the detector itself: a relative import of the training package from a library module is caught
    found = imports(ROOT / "emotion" / "training" / "train.py")
    assert "emotion.training.cnn" in found and "emotion.model" in found


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_library_imports_neither_training_nor_ui(path):
    assert _forbidden(imports(path), ["emotion.training", "ui", "app", "gradio"]) == []


def test_nothing_imports_the_command():
    """emotion/__main__.py may start the training programs and the app; no module may import it."""
    users = [p for p in LIBRARY + TRAINING + UI if "emotion.__main__" in imports(p)]
    assert users == []
    assert "emotion.training.train" in imports(COMMAND)  # the detector sees its function-level imports


@pytest.mark.parametrize("path", TRAINING, ids=lambda p: p.name)
def test_training_never_imports_the_ui(path):
    assert _forbidden(imports(path), ["ui", "app", "gradio"]) == []


@pytest.mark.parametrize("path", UI, ids=lambda p: p.name)
def test_ui_never_imports_training(path):
    assert _forbidden(imports(path), ["emotion.training"]) == []


def test_importing_the_whole_library_does_not_import_gradio():
    mods = [module_name(p) for p in LIBRARY]
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'gradio' or m.startswith(('gradio.', 'emotion.training', 'ui')))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("path", LIBRARY + TRAINING + UI, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_file_in_the_wings_is_over_300_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines; split it by job"

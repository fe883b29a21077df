"""The three wings, the library's rooms, and their import rules (README, "How it works").

    emotion/            the inference library: imports neither the training programs nor the UI
    emotion/__main__.py the `emotion` command: the front door to all three; nothing imports it
    emotion/training/   training programs: import the library, never the UI
    ui/ + app.py        Gradio: import the library, never the training programs

Inside the library, at most 12 modules sit directly in emotion/ (the Predictor and what it returns);
the rest live in sub-packages, one per job, each importing only the rooms below it (ROOMS).
Checked on the source (every import statement, function-level ones and relative ones included), and
by importing every library module in a fresh interpreter: gradio must not be loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "emotion"
COMMAND = PACKAGE / "__main__.py"
TRAINING = sorted((PACKAGE / "training").glob("*.py"))
LIBRARY = sorted(
    p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py" and "training" not in p.relative_to(PACKAGE).parts
)
UI = sorted((ROOT / "ui").glob("*.py")) + [ROOT / "app.py"]
MAX_LINES = 300
MAX_TOP_MODULES = 12

# Which room of the library may import which (a room: a sub-package of emotion/, or a module directly
# in it). Data flows one way: names -> front end -> model -> long recordings -> the answer -> what is
# built around it. A room not listed under another may not import it, not even inside a function.
ROOMS = {
    "labels": set(),  # EMOTIONS, speaker keys
    "errors": set(),  # InputError, SetupError
    "audio": {"errors", "labels"},  # the front end: open, resample, find speech; no model
    "model": {"audio", "errors", "labels"},  # features, encoder, heads, checkpoint, voice gate, familiarity
    "data": {"audio", "errors", "labels"},  # RAVDESS names and the clip catalogue
    "longform": {"audio", "model", "errors", "labels"},  # timeline, speakers, transcript, subtitles
    "clarity": {"model"},  # the near-tie rule (its margin is read from the shipped checkpoint)
    "analysis": {"clarity"},  # what one answer holds
    "explain": set(),  # the saliency map (handed the model)
    "live": {"audio", "clarity"},  # the microphone stream (handed the Predictor)
    "predictor": {"audio", "model", "longform", "clarity", "analysis", "explain", "labels"},
    "charts": {"longform"},  # Vega-Lite specs; how the timeline's windows share time
    "evaluation": {"audio", "data", "labels", "clarity", "predictor"},  # scoring, report, the Examples clips
    "batch": {"audio", "model", "longform", "errors", "predictor"},  # archives to Parquet
    "predict": {"audio", "longform", "batch", "clarity", "errors", "predictor"},  # the command line
    "__init__": {"audio", "errors", "labels", "predictor"},  # the package's face: Predictor, EMOTIONS, ...
}


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


def room(module: str) -> str | None:
    """The room of a library module: emotion.model.gate -> "model", emotion.live -> "live"."""
    parts = module.split(".")
    if parts[0] != "emotion" or (len(parts) > 1 and parts[1] in ("training", "__main__")):
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_wings_exist_and_hold_their_modules():
    rooms = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} - {"training"}
    assert rooms == {"audio", "model", "data", "longform", "charts", "evaluation", "batch"}
    assert {"predictor", "predict", "analysis", "live", "explain", "labels", "errors"} <= {
        p.stem for p in PACKAGE.glob("*.py")
    }
    assert set(ROOMS) == {room(module_name(p)) for p in LIBRARY}  # every room has its rule, and no rule is stale
    assert {"train", "evaluate", "data", "download"} <= {p.stem for p in TRAINING}
    assert {"settings", "analyze", "live", "examples", "metrics"} <= {p.stem for p in UI}


def test_at_most_twelve_modules_sit_directly_in_the_package():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, f"{len(top)} modules directly in emotion/: {top}; give the job a sub-package"


@pytest.mark.parametrize("package", sorted(p.parent for p in PACKAGE.glob("*/__init__.py")), ids=lambda p: p.name)
def test_every_sub_package_says_what_it_holds_and_who_it_may_import(package):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    missing = [p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__") and p.stem not in doc]
    assert not missing, f"emotion/{package.name}/__init__.py does not say what {missing} hold"
    if package.name != "training":
        assert "May import" in doc, f"emotion/{package.name}/__init__.py does not say what it may import"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_room_imports_only_the_rooms_below_it(path):
    from test_spine import package_imports

    mine = room(module_name(path))
    used = {room(m) for m in package_imports(path)} - {None, mine}
    assert used <= ROOMS[mine], f"{path.relative_to(ROOT)} ({mine}) imports {sorted(used - ROOMS[mine])}"


def test_the_room_rules_have_no_circle():
    from test_spine import find_cycles

    assert find_cycles(ROOMS) == []
    assert find_cycles({**ROOMS, "audio": {"model"}})  # the checker sees one when a rule makes it


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

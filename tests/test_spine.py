"""The spine of the package (issue "One spine"): no import cycle among its modules, one module that
opens audio, one place that chooses the backbone, one resolver of the default checkpoint."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "emotion"
SOURCES = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "ui").glob("*.py")) + [ROOT / "app.py"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def package_imports(path: Path, everywhere: bool = True) -> set:
    """The package's modules that `path` imports: every import statement, inside functions too
    (everywhere=False: only those run when it is imported). "from . import audio" names the module
    (or sub-package) audio; "from .audio import x" names emotion.audio."""
    name, tree = module_name(path), ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree) if everywhere else tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("emotion")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("emotion"):
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    found.add(sub if is_module(sub) else base)
    return found - {name}


def top_level_imports(path: Path) -> set:
    return package_imports(path, everywhere=False)


def find_cycles(graph: dict) -> list:
    """Every cycle a depth-first walk of {module: modules it imports} meets, as [a, b, ..., a]."""
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                cycles.append(stack[stack.index(d) :] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return cycles


@pytest.mark.parametrize("everywhere", [False, True], ids=["module level", "function level too"])
def test_no_import_cycle_among_the_package_modules(everywhere):
    """No circle, not even through an import inside a function (the old `python -m emotion.predict`
    imported the command line, which imported the Predictor back)."""
    graph = {module_name(p): package_imports(p, everywhere) for p in PACKAGE.rglob("*.py")}
    graph = {m: {d for d in deps if d in graph} for m, deps in graph.items()}
    assert "emotion.audio.io" in graph["emotion.audio.speech"]  # the graph is read (speech builds on io)
    assert "emotion.predictor" in graph["emotion"] or not everywhere  # `emotion.Predictor`, imported on first use
    cycles = find_cycles(graph)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_finds_a_cycle(tmp_path, monkeypatch):
    """The checker is not blind: the old audio <-> speech pair is read as imports both ways, an import
    inside a function counts where asked, sub-packages resolve, and a cycle through three modules is found."""
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    (tmp_path / "emotion").mkdir()
    a, b = tmp_path / "emotion" / "a.py", tmp_path / "emotion" / "b.py"
    a.write_text("from .b import x\n")
    b.write_text("from . import a\nx = 1\n")
    assert top_level_imports(a) == {"emotion.b"} and top_level_imports(b) == {"emotion.a"}
    b.write_text("x = 1\ndef main():\n    from .a import y\n")  # a circle through a function-level import
    assert top_level_imports(b) == set() and package_imports(b) == {"emotion.a"}
    (tmp_path / "emotion" / "c").mkdir()
    (tmp_path / "emotion" / "c" / "__init__.py").write_text("from .d import z\n")
    c, d = tmp_path / "emotion" / "c" / "__init__.py", tmp_path / "emotion" / "c" / "d.py"
    d.write_text("from .. import a\nfrom . import e\n")  # e is a name in the package, not a module
    assert package_imports(c) == {"emotion.c.d"} and package_imports(d) == {"emotion.a", "emotion.c"}
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def uses(path: Path, names: set) -> set:
    """The names of `names` that a file imports or calls as an attribute (soundfile, sf.read, ...)."""
    tree, seen = ast.parse(path.read_text()), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            seen |= {a.name for a in node.names} & names
        elif isinstance(node, ast.ImportFrom) and node.module in names:
            seen.add(node.module)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            seen |= {f"{node.value.id}.{node.attr}"} & names
    return seen


def test_one_module_opens_audio_files():
    opening = {p.relative_to(ROOT).as_posix() for p in SOURCES if uses(p, {"soundfile", "torchaudio.load"})}
    assert opening == {"emotion/audio/io.py"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_backbone_is_chosen_in_one_place(path):
    """No code outside emotion/model/backbone.py compares a backbone's name with a string."""
    if path.name == "backbone.py":
        return
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
            assert not any(c.value in ("cnn", "whisper-base") for c in consts), (
                f"{path.name}:{node.lineno} compares with a backbone name; use emotion.model.backbone"
            )


def test_the_default_checkpoint_is_resolved_in_one_place():
    mentions = [p.relative_to(ROOT).as_posix() for p in SOURCES if '"EMOTION_CHECKPOINT"' in p.read_text()]
    assert mentions == ["emotion/model/checkpoint.py"]

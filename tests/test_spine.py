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


def top_level_imports(path: Path) -> set:
    """The package's modules that `path` imports when it is imported (module level, not inside functions)."""
    name, tree = module_name(path), ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("emotion")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("emotion"):
                for a in node.names:  # "from . import audio" names a module; "from .audio import x" the module
                    sub = f"{base}.{a.name}"
                    found.add(sub if (ROOT / (sub.replace(".", "/") + ".py")).exists() else base)
    return found - {name}


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


def test_no_import_cycle_among_the_package_modules():
    graph = {module_name(p): top_level_imports(p) for p in PACKAGE.rglob("*.py")}
    graph = {m: {d for d in deps if d in graph and d != "emotion"} for m, deps in graph.items()}
    assert "emotion.audio" in graph["emotion.speech"]  # the graph is read (speech builds on audio)
    cycles = find_cycles(graph)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_finds_a_cycle(tmp_path, monkeypatch):
    """The checker is not blind: the old audio <-> speech pair is read as imports both ways, and a
    cycle through three modules is found."""
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    (tmp_path / "emotion").mkdir()
    a, b = tmp_path / "emotion" / "a.py", tmp_path / "emotion" / "b.py"
    a.write_text("from .b import x\n")
    b.write_text("from . import a\nx = 1\n")
    assert top_level_imports(a) == {"emotion.b"} and top_level_imports(b) == {"emotion.a"}
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
    assert opening == {"emotion/audio.py"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_backbone_is_chosen_in_one_place(path):
    """No code outside emotion/backbone.py compares a backbone's name with a string."""
    if path.name == "backbone.py":
        return
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
            assert not any(c.value in ("cnn", "whisper-base") for c in consts), (
                f"{path.name}:{node.lineno} compares with a backbone name; use emotion.backbone"
            )


def test_the_default_checkpoint_is_resolved_in_one_place():
    mentions = [p.relative_to(ROOT).as_posix() for p in SOURCES if '"EMOTION_CHECKPOINT"' in p.read_text()]
    assert mentions == ["emotion/checkpoint.py"]

"""The `emotion` command (also `python -m emotion`): one front door to the programs the README
documents as modules. Each subcommand hands its arguments to that module's own main(), so
`emotion predict ...` and `python -m emotion.predict ...` are the same program.

    emotion predict clip.wav --format json      emotion batch DIR --out scores.parquet
    emotion app                                 emotion train --data-dir ... --out ...
    emotion evaluate --data-dir ...             emotion download --help

This module is the command wing, not the library: it may start the training programs and the app
(tests/test_layout.py), and nothing imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Dict, NamedTuple, Optional, Sequence


class Command(NamedTuple):
    summary: str  # one line: what it does
    example: str
    run: Callable[[Sequence[str]], Optional[int]]


def _predict(argv):
    from .predict import main

    return main(argv)


def _batch(argv):
    from .batch import main

    return main(argv)


def _train(argv):
    from .training.train import main

    return main(argv)


def _evaluate(argv):
    from .training.evaluate import main

    return main(argv)


def _download(argv):
    from .training.download import main

    return main(argv)


def _app(argv):
    """app.py of a clone (the Gradio app and the Space live in the repository, beside ui/ and assets/)."""
    import runpy

    script = Path(__file__).resolve().parent.parent / "app.py"
    if not script.is_file():
        print(
            "emotion app: the Gradio app runs from a clone of the repository (it needs app.py, ui/ and assets/, "
            "which the installed library does not carry):\n  git clone <repository URL> && cd <clone> && "
            "pip install -r requirements.txt && python app.py",
            file=sys.stderr,
        )
        return 1
    sys.argv = [str(script), *argv]
    runpy.run_path(str(script), run_name="__main__")
    return 0


COMMANDS: Dict[str, Command] = {
    "predict": Command(
        "Top-3 emotions of audio files, or their timeline (--timeline) or transcript (--transcript).",
        "emotion predict clip.wav --format json",
        _predict,
    ),
    "batch": Command(
        "Score folders, lists or archives of audio into Parquet, resumably (local processes or Ray).",
        "emotion batch recordings/ --out scores.parquet",
        _batch,
    ),
    "app": Command(
        "The Gradio app (from a clone of the repository).", "emotion app --checkpoint checkpoints/emotion.pt", _app
    ),
    "train": Command(
        "Train a checkpoint with speaker folds (Whisper-base heads or the CNN).",
        "emotion train --backbone whisper-base --data-dir data/ravdess --folds 5 --out runs/emotion.pt",
        _train,
    ),
    "evaluate": Command(
        "Score a checkpoint on speakers it never heard (out of fold, or held-out actors).",
        "emotion evaluate --data-dir ../shared/data/ravdess --folds 5 --out runs/metrics.json",
        _evaluate,
    ),
    "download": Command(
        "Fetch and check RAVDESS from Zenodo (the one program that uses the network).",
        "emotion download --dest data/ravdess",
        _download,
    ),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: emotion COMMAND [ARGS...]   (emotion COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {c.summary}\n  {'':<{width}}  e.g. {c.example}" for name, c in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"emotion: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    command = COMMANDS[name]
    if any(a in ("-h", "--help") for a in rest):
        print(f"emotion {name}: {command.summary}\n  example: {command.example}\n")
    try:
        code = command.run(rest)
    except SystemExit as exit_:  # argparse's --help and usage errors
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())

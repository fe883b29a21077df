"""Which clean clips does the speech detector now cut differently from an earlier revision?

    python benchmarks/cut_changes.py [--before 9f9ba99] [--data ../shared/data/ravdess]

Runs speech_bounds of `before` (its self-contained emotion/audio/io.py, read with git show) and of
the working tree on every speech clip of actors 01-20 and counts the clips whose (start, end)
or refusal changed, and by how much. Where any changed, both cuts of those clips are scored by
the shipped checkpoint's fold head that never heard the clip's actor, and the out-of-fold
accuracy over all clips is given before and after. Writes docs/snr/cut_changes.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import machine

from emotion import audio


def old_audio(rev: str):
    """emotion/audio/io.py as it was at `rev`, imported as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{rev}:emotion/audio/io.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("audio_before", f.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bounds(module, wave):
    try:
        return module.speech_bounds(wave)
    except module.AudioError as exc:  # the old module's AudioError is a class of its own
        return str(exc)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="9f9ba99")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ravdess"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "snr" / "cut_changes.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    before = old_audio(args.before)
    paths = sorted(p for p in Path(args.data, "speech").glob("Actor_*/*.flac") if int(p.stem[-2:]) <= 20)
    waves = [audio.load_audio(p) for p in paths]
    changed = []
    for p, w in zip(paths, waves):
        old, new = bounds(before, w), bounds(audio, w)
        if old != new:
            moved = (
                None
                if isinstance(old, str) or isinstance(new, str)
                else max(abs(a - b) for a, b in zip(old, new)) / audio.SAMPLE_RATE
            )
            changed.append({"clip": p.stem, "before": old, "after": new, "largest_shift_s": moved})
    result = {
        "machine": machine(),
        "command": f"python benchmarks/cut_changes.py --before {args.before}",
        "before": args.before,
        "clips": len(paths),
        "changed": len(changed),
        "changes": changed,
    }
    if changed:
        result["accuracy"] = accuracy_before_after(paths, waves, before, changed)
    print(f"{len(changed)} of {len(paths)} clean clips cut differently from {args.before}")
    for c in changed:
        print(f"  {c['clip']}: {c['before']} -> {c['after']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, default=int) + "\n")
    return result


def accuracy_before_after(paths, waves, before, changed) -> dict:
    """Out-of-fold accuracy over all clips with the old and the new cut (a refused clip counts wrong)."""
    from emotion.predictor import Predictor

    predictor = Predictor.from_checkpoint()
    labels = np.array([int(p.stem.split("-")[2]) - 1 for p in paths])
    actors = np.array([int(p.stem.split("-")[6]) for p in paths])
    out = {}
    for name, module in (("before", before), ("after", audio)):
        correct = np.zeros(len(paths), bool)
        for k, fold in enumerate(predictor.folds):
            for i in np.flatnonzero(np.isin(actors, fold["val_actors"])):
                b = bounds(module, waves[i])
                if not isinstance(b, str):
                    clip = audio.clip_batch([waves[i][b[0] : b[1]]])
                    correct[i] = int(predictor.logits(clip, models=[k]).argmax()) == labels[i]
        out[name] = round(float(correct.mean()), 4)
    return out


if __name__ == "__main__":
    main()

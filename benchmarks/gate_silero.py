"""Silero VAD alone as the voice gate, on the items the learned gate is fitted and checked on
(emotion.training.voice_gate): why the shipped checkpoint does not let Silero decide.

    python benchmarks/gate_silero.py [--data-dir ../shared/data] [--out docs/gate/silero.json]

Each clean item goes the way predict sends it (level checks, the speech span, one 3-s clip or the
timeline's windows); it is refused when the level checks refuse it or every window's score (the
mean of Silero's 16 most speech-like 32-ms chunks, the earlier gate's measure) is under 0.3.
Prints items and refusals per set and group (about 3 min on 2 cores, most of it rendering music).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd
from tqdm import tqdm

from emotion.audio import AudioError
from emotion.training.voice_gate import items, make_wave, windows_of

SILERO_SCORE = 0.3


def silero_score(wave: np.ndarray) -> float:
    """Mean of Silero VAD's (faster-whisper's ONNX model) 16 most speech-like 32-ms chunk probabilities."""
    from faster_whisper.vad import get_vad_model

    p = np.asarray(get_vad_model()(np.pad(wave, (0, (-len(wave)) % 512))), np.float64).ravel()
    return float(np.sort(p)[-16:].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "gate" / "silero.json")
    args = ap.parse_args()
    rows = []
    for item in tqdm(items(args.data_dir), desc="silero", unit="item"):
        try:
            score = max(silero_score(c) for c in windows_of(make_wave(item)))  # refused when no window passes
        except AudioError:
            score = -1.0
        rows.append({"set": item["set"], "group": item["group"], "name": item["name"], "score": score})
    table = pd.DataFrame(rows)
    table["refused"] = table["score"] < SILERO_SCORE
    summary = table.groupby(["set", "group"]).agg(items=("refused", "size"), refused=("refused", "sum")).reset_index()
    print(summary.to_string(index=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lowest = table[table["set"] == "speech"].nsmallest(10, "score")[["name", "score"]]
    report = {
        "threshold": SILERO_SCORE,
        "summary": summary.to_dict("records"),
        "lowest_speech": lowest.to_dict("records"),
    }
    args.out.write_text(json.dumps(report, indent=1, default=int))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

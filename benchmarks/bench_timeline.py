"""Timeline speed and peak memory for 1, 10 and 30 minutes of audio.

    python benchmarks/bench_timeline.py [--minutes 1 10 30] [--checkpoint P]

Writes a 48 kHz 16-bit WAV of the given length (RAVDESS clips from assets/ with a second of
silence between them, written block by block), then runs Predictor.timeline on it in a fresh
process and prints wall time, segments, and that process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_long(path: Path, minutes: float, sr: int = 48000) -> None:
    from emotion import audio

    clips = [
        audio.resample(audio.load_audio(p), 16000, sr) for p in sorted((ROOT / "assets/ravdess").glob("03-01-*.flac"))
    ]
    gap = np.zeros(sr, np.float32)
    total, i = int(minutes * 60 * sr), 0
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        written = 0
        while written < total:
            block = np.concatenate([clips[i % len(clips)], gap])[: total - written]
            f.write(block)
            written += len(block)
            i += 1


def run_one(path: str, checkpoint) -> dict:
    from emotion import Predictor

    predictor = Predictor.from_checkpoint(checkpoint)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    table = predictor.timeline(path)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(seconds=seconds, rows=len(table), peak_mb=peak / 1024, model_mb=base / 1024)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 30])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child, args.checkpoint)))
        return 0
    print(
        f"{'audio':>8} {'file MB':>8} {'time s':>8} {'x realtime':>11} {'rows':>6} "
        f"{'peak RSS MB':>12} {'after load MB':>14}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            path = Path(tmp) / f"long_{minutes:g}min.wav"
            write_long(path, minutes)
            cmd = [sys.executable, __file__, "--child", str(path)]
            if args.checkpoint:
                cmd += ["--checkpoint", args.checkpoint]
            r = json.loads(
                subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            )
            print(
                f"{minutes:>6g} m {path.stat().st_size / 1e6:>8.0f} {r['seconds']:>8.2f} "
                f"{minutes * 60 / r['seconds']:>11.0f} {r['rows']:>6} {r['peak_mb']:>12.0f} {r['model_mb']:>14.0f}"
            )
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())

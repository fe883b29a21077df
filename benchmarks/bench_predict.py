"""Inference latency on this CPU: decode, features and model timed separately.

    python benchmarks/bench_predict.py [--checkpoint P] [--repeats 50] [--int8]

Builds 1, 4 and 10-second 48 kHz 16-bit WAV files from a real 48 kHz RAVDESS clip (its speech
looped, a little silence around it), then
times Predictor.predict on the file path end to end (decoding included), and each stage alone.
Prints p50/p95 in milliseconds and the real-time factor (time / audio duration).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from emotion import Predictor, audio
from emotion.audio.speech import speech_bounds, trim_silence

SOURCE = Path(__file__).resolve().parent.parent / "assets" / "examples" / "03-01-05-02-01-01-05.wav"


def timed(fn, repeats: int) -> np.ndarray:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return np.array(out)


def make_clip(seconds: float, folder: Path) -> Path:
    """A 48 kHz WAV of `seconds` of speech: the source take's speech, looped as needed, between
    a quarter second of its own silence on each side (as a user's recording would be)."""
    data, sr = sf.read(SOURCE, dtype="int16", always_2d=True)
    start, end = (i * sr // audio.SAMPLE_RATE for i in speech_bounds(audio.load_audio(SOURCE)))
    speech, quiet = data[start:end], data[: sr // 4]
    n = int(seconds * sr) - 2 * len(quiet)
    data = np.concatenate([quiet, np.tile(speech, (int(np.ceil(n / len(speech))), 1))[:n], quiet])
    path = folder / f"clip_{seconds:g}s_48k.wav"
    sf.write(path, data, sr, subtype="PCM_16")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--int8", action="store_true", help="Whisper backbone: int8 dynamic quantization of the encoder")
    args = ap.parse_args(argv)
    predictor = Predictor.from_checkpoint(args.checkpoint, int8=True if args.int8 else None)
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {predictor.description}"
    )
    print(f"{'clip':>6} {'stage':<22} {'p50 ms':>8} {'p95 ms':>8} {'RTF':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in (1.0, 4.0, 10.0):
            path = make_clip(seconds, Path(tmp))
            wave = audio.load_audio(path)
            clip = torch.from_numpy(audio.pad_or_trim(trim_silence(wave)))[None]
            mel = predictor.features(clip)
            stages = {
                "decode+resample+trim": lambda: trim_silence(audio.load_audio(path)),
                "features": lambda: predictor.features(clip),
                "model (all members)": lambda: predictor.logits_from_features(mel),
                "predict(path) total": lambda: predictor.predict(path),
            }
            if predictor.encoder is not None:  # the encoder alone, run once for all heads
                stages["  of which: encoder"] = lambda: predictor.states(mel)
            with torch.inference_mode():
                for name, fn in stages.items():
                    t = timed(fn, args.repeats)
                    p50, p95 = np.percentile(t, [50, 95])
                    print(f"{seconds:>5g}s {name:<22} {p50:>8.1f} {p95:>8.1f} {p50 / 1000 / seconds:>8.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

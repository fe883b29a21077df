"""Out-of-fold accuracy against the signal-to-noise ratio, and what the speech detector says.

    python benchmarks/snr_curve.py [--data ../shared/data/ravdess] [--every 1] [--checkpoint P]

Every speech clip of actors 01-20 (1,200; --every N keeps every Nth) gets white and pink noise
(emotion.audio.corruptions.make_noise, one seeded noise per clip and colour, scaled for each SNR) over
its whole length, at an SNR relative to the RMS of the sentence itself: the frames within 30 dB
of its loudest, without the silence around them. Each clip is cut as Predictor.predict cuts it
(emotion.audio.speech.speech_span: energy only, never refused here) and scored by the shipped
checkpoint's fold head that never heard its actor. The detector (emotion.audio.speech.check_speech) is
run on the same noisy clip, and its verdict counted apart: accuracy is over all clips.

Prints the table and writes docs/snr/snr_curve.json (+ snr_curve.png). Model outputs are cached
in runs/snr_curve/ (they do not depend on the detector's thresholds); --fresh recomputes them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import machine

from emotion import audio
from emotion.audio import speech
from emotion.audio.corruptions import NOISE_COLORS, make_noise
from emotion.labels import EMOTIONS

SNRS = (30, 20, 15, 10, 5, 0, -5, -10, -15)
SEED = 13
TIGHT_DB = 30.0  # the sentence: frames within this of its loudest


def speech_rms(wave: np.ndarray) -> float:
    """RMS of the frames within TIGHT_DB of the loudest one (first to last such frame)."""
    db = speech.frame_db(wave)
    idx = np.flatnonzero(db > db.max() - TIGHT_DB)
    seg = wave[idx[0] * speech.HOP : idx[-1] * speech.HOP + speech.FRAME].astype(np.float64)
    return float(np.sqrt(np.mean(seg**2)))


def noisy(wave: np.ndarray, snr_db: float, noise: np.ndarray) -> np.ndarray:
    """wave + unit-RMS noise scaled to snr_db below the sentence's RMS, clipped like a recorder."""
    return np.clip(wave + noise * speech_rms(wave) / 10 ** (snr_db / 20), -1, 1).astype(np.float32)


def verdict(wave: np.ndarray) -> tuple:
    """(what the detector says: ok / silent / no speech / too noisy, modulation dB, estimated SNR dB)."""
    db, bands = speech.frame_levels(wave)
    modulation, snr = speech.speech_measures(bands)
    try:
        speech.check_speech(db, bands)
        said = "ok"
    except audio.AudioError as exc:
        said = "too noisy" if "too noisy" in str(exc) else "silent" if "silent" in str(exc) else "no speech"
    return said, modulation, snr


def cut(wave: np.ndarray) -> np.ndarray:
    """The speech as Predictor.predict cuts it; the whole wave where the cut finds too little."""
    try:
        s, e = speech.speech_span(speech.frame_db(wave), len(wave))
    except audio.AudioError:
        s, e = 0, len(wave)
    return wave[s:e]


def fold_predictions(predictor, clips, actors) -> np.ndarray:
    """Each clip's top label from the fold head whose validation actors include its actor."""
    pred = np.full(len(clips), -1)
    for k, fold in enumerate(predictor.folds):
        idx = np.flatnonzero(np.isin(actors, fold["val_actors"]))
        for i in range(0, len(idx), 32):
            part = idx[i : i + 32]
            pred[part] = predictor.logits(audio.clip_batch([clips[j] for j in part]), models=[k]).argmax(1).numpy()
    return pred


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ravdess"))
    ap.add_argument("--every", type=int, default=1, help="keep every Nth clip (deterministic subsample)")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--out", default=str(ROOT / "docs" / "snr"))
    ap.add_argument("--cache", default=str(ROOT / "runs" / "snr_curve"))
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from emotion.predictor import Predictor

    predictor = Predictor.from_checkpoint(args.checkpoint) if args.checkpoint else Predictor.from_checkpoint()

    paths = sorted(p for p in Path(args.data, "speech").glob("Actor_*/*.flac") if int(p.stem[-2:]) <= 20)[:: args.every]
    labels = np.array([int(p.stem.split("-")[2]) - 1 for p in paths])
    actors = np.array([int(p.stem.split("-")[6]) for p in paths])
    waves = [audio.load_audio(p) for p in paths]
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    conditions = [("clean", None, None)] + [(f"{c} {s} dB", c, s) for c in NOISE_COLORS for s in SNRS]
    rows, t0 = [], time.time()
    for name, color, snr in conditions:
        if color is None:
            inputs = waves
        else:
            ci = NOISE_COLORS.index(color)
            inputs = [
                noisy(w, snr, make_noise(len(w), color, np.random.default_rng([SEED, i, ci])))
                for i, w in enumerate(waves)
            ]
        cached = cache / f"{name.replace(' ', '_')}_every{args.every}.npy"
        if cached.is_file() and not args.fresh:
            pred = np.load(cached)
        else:
            pred = fold_predictions(predictor, [cut(w) for w in inputs], actors)
            np.save(cached, pred)
        said, modulation, est = zip(*(verdict(w) for w in inputs))
        said = np.array(said)
        ok = said == "ok"
        correct = pred == labels
        rows.append(
            {
                "condition": name,
                "color": color or "none",
                "snr_db": snr,
                "n": len(paths),
                "accuracy": round(float(correct.mean()), 4),
                "accuracy_accepted": round(float(correct[ok].mean()), 4) if ok.any() else None,
                "refused": round(float((~ok).mean()), 4),
                "too_noisy": round(float((said == "too noisy").mean()), 4),
                "no_speech": round(float(np.isin(said, ("no speech", "silent")).mean()), 4),
                "estimated_snr_median": round(float(np.median(est)), 1),
                "modulation_min": round(float(np.min(modulation)), 1),
            }
        )
        r = rows[-1]
        print(
            f"{name:>14}  acc {r['accuracy']:6.1%}  refused {r['refused']:6.1%} (too noisy {r['too_noisy']:6.1%}, "
            f"no speech {r['no_speech']:5.1%})  est. SNR {r['estimated_snr_median']:6.1f} dB  "
            f"[{time.time() - t0:.0f} s]",
            flush=True,
        )
    command = "python benchmarks/snr_curve.py" + (f" --every {args.every}" if args.every > 1 else "")
    result = {
        "machine": machine(),
        "command": command,
        "clips": len(paths),
        "actors": "01-20",
        "labels": list(EMOTIONS),
        "seed": SEED,
        "min_snr_db": speech.MIN_SNR_DB,
        "min_modulation_db": speech.MIN_MODULATION_DB,
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "snr_curve.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(rows, out / "snr_curve.png")
    return result


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    clean = next(r for r in rows if r["color"] == "none")
    for color in NOISE_COLORS:
        rs = [r for r in rows if r["color"] == color]
        ax.plot([r["snr_db"] for r in rs], [r["accuracy"] for r in rs], "o-", label=f"{color} noise")
    ax.axhline(clean["accuracy"], color="grey", ls="--", label="clean")
    ax.axhline(1 / len(EMOTIONS), color="grey", ls=":", label="chance")
    ax.set(xlabel="SNR (dB, relative to the sentence's RMS)", ylabel="out-of-fold accuracy", ylim=(0, 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()

"""Per-update latency of the live microphone mode, and the cost of a saliency map.

    python benchmarks/bench_live.py [--checkpoint P] [--models N] [--chunk 0.1] [--seconds 20]

Streams an example clip (48 kHz) with pauses into a LiveSession as a browser does: chunks of
--chunk seconds (Gradio 6.31 sends 0.1 s) as (sample rate, int16) tuples. Prints the time to
buffer one chunk (what the app's stream handler does for every chunk), the work of one update
(once per second of audio: speech detection and the model), and the rolling timeline chart
(emotion.charts.plots: a Vega-Lite spec, as JSON) the app sends after an update. --models N repeats
the checkpoint's models to N, to time an ensemble of that size. Then times emotion.explain.saliency on an asset clip.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from emotion.model.checkpoint import default_path


def stats(times) -> str:
    t = np.asarray(times) * 1000
    return f"median {np.median(t):6.1f} ms   p90 {np.percentile(t, 90):6.1f} ms   max {t.max():6.1f} ms   (n={len(t)})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="default: $EMOTION_CHECKPOINT or checkpoints/emotion.pt")
    ap.add_argument("--models", type=int, default=None, help="time an ensemble of this many models")
    ap.add_argument("--chunk", type=float, default=0.1, help="seconds per chunk (a browser sends 0.1)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the stream")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from emotion import Predictor
    from emotion.audio import speech
    from emotion.charts import timeline_plots
    from emotion.explain import saliency
    from emotion.live import HISTORY_SECONDS, LiveSession

    checkpoint = default_path(args.checkpoint)
    predictor = Predictor.from_checkpoint(checkpoint)
    if args.models:
        predictor.models = (predictor.models * args.models)[: args.models]
    data, sr = sf.read(sorted((ROOT / "assets" / "examples").glob("*.wav"))[0], dtype="int16")
    pause = np.zeros(int(1.5 * sr), np.int16)
    one = np.concatenate([data, pause])
    stream = np.tile(one, int(np.ceil(args.seconds * sr / len(one))))[: int(args.seconds * sr)]
    step = int(args.chunk * sr)

    session = LiveSession(predictor)
    feeding, judged, silent, drawing = [], [], [], []
    for i in range(0, len(stream), step):
        t = time.perf_counter()
        session.feed(stream[i : i + step], sr)
        feeding.append(time.perf_counter() - t)
        if not session.due():
            continue
        update = session.update()
        (judged if update.probabilities else silent).append(update.seconds)
        t = time.perf_counter()
        end = max(update.time, HISTORY_SECONDS)
        json.dumps(
            timeline_plots.timeline(session.history_frame(), session.envelope(), xlim=(end - HISTORY_SECONDS, end))
        )
        drawing.append(time.perf_counter() - t)
    print(
        f"checkpoint {checkpoint}: {len(predictor.models)} model(s), torch threads {torch.get_num_threads()}, "
        f"{args.chunk:g}-s chunks at {sr} Hz, an update per {session.update_every:g} s of audio"
    )
    print(f"  buffer a chunk            {stats(feeding)}")
    print(f"  update with a prediction  {stats(judged)}")
    if silent:
        print(f"  update without (listening / no speech)  {stats(silent)}")
    print(f"  rolling chart (JSON)      {stats(drawing)}")

    clip = speech.prepare(ROOT / "assets" / "ravdess" / "03-01-05-02-01-01-12.flac")
    saliency(predictor, clip)
    times = []
    for _ in range(10):
        t = time.perf_counter()
        saliency(predictor, clip)
        times.append(time.perf_counter() - t)
    print(f"  saliency map              {stats(times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

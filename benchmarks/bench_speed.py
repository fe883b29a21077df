"""The speed table of the README in one run, for one precision (issue 25): p50 and p95 of

1. predict() of a 4-s 48 kHz WAV, decoding included, beside the CNN fallback's on the same file
   (interleaved, so that load on a shared machine hits both alike; the ratio is Whisper / CNN);
2. /predict with its charts, server side (ui.analyze.analyze and Gradio's postprocess: what is
   sent), and /explain (the saliency chart the page shows next);
3. the timeline of a 10-min 48 kHz recording (RAVDESS sentences with 1-s pauses);
4. one live update (LiveSession: speech detection and the model, once per second of audio) and
   the rolling chart sent after it (a Vega-Lite spec, as JSON);
5. batch scoring (emotion.batch's per-file work, one process): seconds per file, and files/s.

    python benchmarks/bench_speed.py --precision fp32 [--repeats 30] [--minutes 10]
    python benchmarks/bench_speed.py --precision bf16
    python benchmarks/bench_speed.py --precision bf16 --no-app   # the library alone, without Gradio

--precision sets EMOTION_PRECISION before the app loads its model (fp32, bf16, or auto: bf16 only
where the CPU has it natively). bf16 on a CPU without native support is emulated and slower;
the table says which this machine has. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from common import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIP = ROOT / "assets" / "examples" / "03-01-03-02-02-01-03.wav"  # 48 kHz, 4.14 s
CNN = ROOT / "checkpoints" / "cnn" / "emotion.pt"
BATCH_DATA = ROOT.parent / "shared" / "data" / "ravdess" / "speech"


def times(fn, repeats: int, warmup: int = 2) -> np.ndarray:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return np.asarray(out)


def row(name: str, ms, unit: str = "ms", note: str = "") -> str:
    ms = np.asarray(ms, dtype=float)
    p50, p95 = np.percentile(ms, [50, 95])
    fmt = (lambda v: f"{v:.0f}") if unit == "ms" else (lambda v: f"{v:.2f}")
    return f"| {name} | {fmt(p50)} {unit} | {fmt(p95)} {unit} | {len(ms)} | {note} |"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="fp32")
    ap.add_argument("--repeats", type=int, default=30, help="runs of each short measurement")
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the timeline's recording")
    ap.add_argument("--timeline-runs", type=int, default=3)
    ap.add_argument("--live-seconds", type=float, default=30.0, help="length of the live stream")
    ap.add_argument("--batch-files", type=int, default=100)
    ap.add_argument("--batch-data", type=Path, default=BATCH_DATA, help="folder of audio for the batch row")
    ap.add_argument(
        "--no-app", action="store_true", help="the library alone (no Gradio needed): skip /predict and /explain"
    )
    args = ap.parse_args(argv)
    os.environ["EMOTION_PRECISION"] = args.precision  # read when the app's Predictor is built

    import torch

    from emotion import Predictor
    from emotion.batch.batch_engines import score_file
    from emotion.batch.batch_io import expand_paths
    from emotion.charts import timeline_plots
    from emotion.live import HISTORY_SECONDS, LiveSession
    from emotion.model.precision import native_bf16

    if args.no_app:
        predictor = Predictor.from_checkpoint()
    else:
        import app  # the app as `python app.py` builds it: checkpoint, layout
        from ui import analyze as analyze_tab
        from ui.settings import resources

        predictor = resources().predictor
    cnn = Predictor.from_checkpoint(CNN)
    print(f"{machine()} · torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(
        f"precision {args.precision} -> {predictor.precision} (native bf16 on this CPU: {native_bf16()}); "
        f"{predictor.description}\n"
    )
    print("| what | p50 | p95 | runs | note |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="emotion_speed_") as tmp:
        x, sr = sf.read(CLIP, dtype="int16")
        clip = str(Path(tmp) / "clip_4s_48k.wav")
        sf.write(clip, x[: 4 * sr], sr, subtype="PCM_16")

        # 1. predict, Whisper and the CNN interleaved
        for p in (predictor, cnn, predictor, cnn):
            p.predict(clip)
        whisper_ms, cnn_ms = [], []
        for _ in range(args.repeats):
            for p, out in ((predictor, whisper_ms), (cnn, cnn_ms)):
                t = time.perf_counter()
                p.predict(clip)
                out.append((time.perf_counter() - t) * 1000)
        ratio = np.median(whisper_ms) / np.median(cnn_ms)
        print(row("predict, 4-s 48 kHz WAV", whisper_ms, note=f"{ratio:.2f}× the CNN's p50 in the same run"))
        print(row("predict, the same WAV, CNN fallback", cnn_ms, note="interleaved with the line above"))

        # 2. /predict with its charts, and /explain
        if not args.no_app:
            a = app.ANALYZE
            outputs = [a.top3, a.wave_plot, a.spec_plot, a.bars_plot]

            def predict_endpoint():
                return [c.postprocess(v) for c, v in zip(outputs, analyze_tab.analyze(clip)[:4])]

            print(row("/predict with its 3 charts (server side, as sent)", times(predict_endpoint, args.repeats)))
            explain_ms = times(lambda: a.spec_plot.postprocess(analyze_tab.explain(clip)), args.repeats)
            print(row("/explain (saliency chart; its backward pass runs in fp32)", explain_ms))

        # 3. the timeline of a long recording
        from bench_timeline import write_long

        long_path = Path(tmp) / f"long_{args.minutes:g}min_48k.wav"
        write_long(long_path, args.minutes)
        long_ms = times(lambda: predictor.timeline(str(long_path)), args.timeline_runs, warmup=0)
        print(row(f"timeline of {args.minutes:g} min (48 kHz WAV)", long_ms / 1000, unit="s"))

        # 4. live: one update per second of audio, then the rolling plot
        pause = np.zeros(int(1.5 * sr), np.int16)
        one = np.concatenate([x, pause])
        stream = np.tile(one, int(np.ceil(args.live_seconds * sr / len(one))))[: int(args.live_seconds * sr)]
        session, updates, drawing = LiveSession(predictor), [], []
        for i in range(0, len(stream), sr // 10):  # 0.1-s chunks, as the browser sends them
            session.feed(stream[i : i + sr // 10], sr)
            if not session.due():
                continue
            update = session.update()
            if update.probabilities:
                updates.append(update.seconds * 1000)
            t = time.perf_counter()
            end = max(update.time, HISTORY_SECONDS)
            json.dumps(
                timeline_plots.timeline(session.history_frame(), session.envelope(), xlim=(end - HISTORY_SECONDS, end))
            )
            drawing.append((time.perf_counter() - t) * 1000)
        print(row("live update with a prediction (every 1 s of audio)", updates))
        print(row("live: the rolling 30-s chart after it (Vega-Lite JSON)", drawing))

        # 5. batch: the per-file work of `python -m emotion.batch`, one process
        files = [str(f) for f in expand_paths([str(args.batch_data)])[: args.batch_files]]
        if files:
            score_file(predictor, files[0], False)
            per_file = []
            for f in files:
                t = time.perf_counter()
                score_file(predictor, f, False)
                per_file.append((time.perf_counter() - t) * 1000)
            rate = len(files) / (sum(per_file) / 1000)
            print(row("batch scoring, one file (RAVDESS 16 kHz FLAC)", per_file, note=f"**{rate:.1f} files/s**"))
        else:
            print(f"| batch scoring | - | - | 0 | no audio under {args.batch_data} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

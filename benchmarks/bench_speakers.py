"""What speaker attribution costs: Predictor.timeline(path) against timeline(path, speakers="auto").

    python benchmarks/bench_speakers.py [--minutes 10] [--runs 3] [--threads 2] [--corpus nemo] [--voices 3]
                                        [--data-dir ../shared/data]

Writes a 16-kHz 16-bit WAV of about --minutes of one synthetic conversation of --voices voices of
--corpus (nEMO or Korean: held out; seeded conversations of the same voices,
emotion.training.conversations, joined with a second of silence), then,
in one process with --threads torch threads, times the plain timeline and the one with speakers
alternately (--runs each, after one warm-up of both on the first minute) and prints the medians,
their ratio (issue 36's bar: speakers add at most 50%), the extra seconds per minute of audio, and
the time of the speaker turns alone (emotion.longform.timeline.speaker_turns on the decoded wave), and how
well the timeline's turns attribute this conversation (emotion.training.conversations.score).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine  # noqa: E402


def write_conversation(path: Path, minutes: float, data_dir: Path, corpus: str, voices: int, seed: int = 0) -> list:
    """One long conversation of `voices` voices of `corpus` (seeded conversations of the same voices
    joined, a second of silence between them), about `minutes` long; its truth [(start, end, speaker)] s."""
    from emotion.audio import SAMPLE_RATE
    from emotion.training.conversations import conversation, corpus_speakers

    every = corpus_speakers(corpus, data_dir)
    chosen = np.random.default_rng(seed).choice(sorted(every), voices, replace=False)
    cast = {k: every[k] for k in chosen}
    gap = np.zeros(SAMPLE_RATE, np.float32)
    total, written, k, truth = int(minutes * 60 * SAMPLE_RATE), 0, 0, []
    with sf.SoundFile(path, "w", SAMPLE_RATE, 1, subtype="PCM_16") as f:
        while written < total:
            conv = conversation(cast, voices, np.random.default_rng([seed, k]))
            block = np.concatenate([conv.wave, gap])[: total - written]
            t0 = written / SAMPLE_RATE
            truth += [
                (t0 + s, min(t0 + e, total / SAMPLE_RATE), w) for s, e, w in conv.truth if t0 + s < total / SAMPLE_RATE
            ]
            f.write(block)
            written += len(block)
            k += 1
    return truth


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the issue's 2 cores)")
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--corpus", default="nemo", choices=("nemo", "korean"), help="whose voices (held out)")
    ap.add_argument("--voices", type=int, default=3)
    ap.add_argument("--checkpoint", default=None)
    args = ap.parse_args(argv)

    import torch

    from emotion import Predictor, audio
    from emotion.longform import timeline
    from emotion.training.conversations import score

    torch.set_num_threads(args.threads)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())  # the machine may be shared: say how busy it was
    print(machine(), f"· torch threads {torch.get_num_threads()}")
    predictor = Predictor.from_checkpoint(args.checkpoint)
    with tempfile.TemporaryDirectory() as tmp:
        path, warm = Path(tmp) / "conversation.wav", Path(tmp) / "warm.wav"
        truth = write_conversation(path, args.minutes, args.data_dir, args.corpus, args.voices)
        write_conversation(warm, 1.0, args.data_dir, args.corpus, args.voices, seed=1)
        minutes = sf.info(str(path)).duration / 60
        print(f"{minutes:.2f} min of audio: one conversation of {args.voices} {args.corpus} voices, {len(truth)} turns")
        predictor.timeline(str(warm))
        predictor.timeline(str(warm), speakers="auto")  # loads the voice encoder
        plain, auto, tables = [], [], {}
        for _ in range(args.runs):
            plain.append(timed(lambda: tables.update(plain=predictor.timeline(str(path)))))
            auto.append(timed(lambda: tables.update(auto=predictor.timeline(str(path), speakers="auto"))))
        rows = {k: len(v) for k, v in tables.items()}
        turns = tables["auto"].attrs["turns"]
        found, share = len({t.speaker for t in turns}), score(truth, turns)
        wave = audio.load_audio(str(path))
        alone = [timed(lambda: timeline.speaker_turns(wave, "auto")) for _ in range(args.runs)]
    print(f"load average before / after: {load} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    p, a, s = statistics.median(plain), statistics.median(auto), statistics.median(alone)
    listed = {k: ", ".join(f"{x:.2f}" for x in v) for k, v in (("plain", plain), ("auto", auto))}
    print(f"timeline                  : {p:7.2f} s  (runs {listed['plain']}; {rows['plain']} windows)")
    print(f'timeline, speakers="auto" : {a:7.2f} s  (runs {listed["auto"]}; {rows["auto"]} windows)')
    print(f"ratio                     : {a / p:7.2f}  (speakers add {100 * (a / p - 1):.0f}%; the bar: at most 50%)")
    print(f"extra per minute of audio : {(a - p) / minutes:7.2f} s")
    print(f"speaker turns alone       : {s:7.2f} s  ({s / minutes:.2f} s per minute)")
    right = f"{found} speakers found of {args.voices}; {100 * share:.1f}% of speech time right"
    print(f'attribution, speakers="auto": {right}')
    return 0


if __name__ == "__main__":
    sys.exit(main())

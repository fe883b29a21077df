"""The transcript (emotion.longform.transcript): word error rate, speed, memory.

    python benchmarks/bench_transcript.py wer --corpus ravdess   # the 1,200 shared RAVDESS speech clips
    python benchmarks/bench_transcript.py wer --corpus emodb     # the 535 shared EmoDB clips (German)
    python benchmarks/bench_transcript.py speed --minutes 10     # transcript + emotions, loading apart
    python benchmarks/bench_transcript.py cli                    # ~50 s of sentences through the CLI
    python benchmarks/bench_transcript.py memory                 # peak RSS: the app + the transcript model

WER: each clip is transcribed on its own (language detected, not given) and compared with its
known text after lowercasing and removing punctuation; word-level Levenshtein distance summed
over the corpus / reference words. `speed` and `memory` run in a fresh process each.
All use --threads torch/CTranslate2 threads (default 2).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RAVDESS_TEXT = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
# EmoDB's ten sentences (Burkhardt et al. 2005, the corpus's documentation), by text code
EMODB_TEXT = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}


def words(text: str) -> list:
    """Lowercase, punctuation removed (letters of any script, digits and apostrophes kept)."""
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def edit_distance(ref: list, hyp: list) -> int:
    """Word-level Levenshtein distance (substitutions, deletions, insertions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def corpus(name: str):
    """[(path, reference text)] of a shared corpus."""
    if name == "ravdess":
        files = sorted((DATA / "ravdess" / "speech").glob("Actor_*/*.flac"))
        return [(f, RAVDESS_TEXT[f.name.split("-")[4]]) for f in files]
    files = sorted((DATA / "emodb").glob("*.flac"))
    return [(f, EMODB_TEXT[f.name[2:5]]) for f in files]


def wer(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    from emotion.longform import transcript as T

    items = corpus(args.corpus)[: args.limit]
    if not items:
        sys.exit(f"no {args.corpus} clips under {DATA}")
    model = T.load_model(args.threads)
    errors = total = 0
    languages, worst = {}, []
    t0 = time.perf_counter()
    for path, ref in items:
        info, segments = T.transcribe(T.decode(path), model=model)
        hyp = " ".join(s["text"] for s in segments)
        e = edit_distance(words(ref), words(hyp))
        errors, total = errors + e, total + len(words(ref))
        languages[info["language"]] = languages.get(info["language"], 0) + 1
        if e:
            worst.append((e, path.name, hyp))
    seconds = time.perf_counter() - t0
    print(machine())
    print(
        f"{args.corpus}: {len(items)} clips, WER {errors / total:.2%} ({errors} word errors / {total} words), "
        f"{sum(1 for _ in worst)} clips with an error; languages detected {languages}; "
        f"{seconds:.0f} s ({seconds / len(items):.2f} s per clip, {args.threads} threads)"
    )
    for e, name, hyp in sorted(worst, reverse=True)[:8]:
        print(f"  {e} errors  {name}: {hyp!r}")


def write_sentences(path: Path, clips, seconds: float, pause: float = 1.0) -> tuple:
    """Clips joined by `pause` s of silence until `seconds` are reached (16 kHz WAV; over 60 s cut
    there, else whole clips); returns (the duration, how many clips went in)."""
    from emotion import audio

    gap = np.zeros(int(pause * 16000), np.float32)
    parts, n, i = [gap], len(gap), 0
    while n < seconds * 16000 and i < 10 * len(clips):
        w = audio.load_audio(clips[i % len(clips)])
        parts += [w, gap]
        n, i = n + len(w) + len(gap), i + 1
    wave = np.concatenate(parts)[: int(seconds * 16000)] if seconds > 60 else np.concatenate(parts)
    sf.write(path, wave, 16000, subtype="PCM_16")
    return len(wave) / 16000, i


SPEED_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import torch; torch.set_num_threads({threads})
from emotion import Predictor, transcript as T
predictor = Predictor.from_checkpoint(); T.load_model({threads})
loaded = time.perf_counter() - t0
t1 = time.perf_counter(); frame = predictor.transcript(sys.argv[1]); run = time.perf_counter() - t1
print(json.dumps(dict(load_s=loaded, transcript_s=run, segments=len(frame), language=frame.attrs["language"],
                      judged=int(frame["emotion"].notna().sum()),
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def speed(args) -> None:
    name = "emodb" if (DATA / "emodb").is_dir() and args.corpus != "ravdess" else "ravdess"
    clips = [p for p, _ in corpus(name)][::3]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        seconds, _ = write_sentences(path, clips, args.minutes * 60, pause=0.5)
        out = subprocess.run(
            [sys.executable, "-c", SPEED_CHILD.format(threads=args.threads), str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(machine())
    print(
        f"{seconds / 60:.1f} min of {name} sentences (0.5-s pauses), {args.threads} threads: transcript + emotions "
        f"{r['transcript_s']:.1f} s ({r['transcript_s'] / seconds:.3f} x real time), {r['segments']} segments "
        f"({r['judged']} judged), language {r['language']}; loading both models {r['load_s']:.1f} s; "
        f"peak RSS {r['peak_rss_mb']:.0f} MB"
    )


def cli(args) -> None:
    """The issue's check: ~50 s of RAVDESS sentences of actors whose clips are not bundled in assets/."""
    bundled = {p.name.split("-")[-1].split(".")[0] for p in (ROOT / "assets" / "ravdess").glob("*.flac")}
    actor = next(a for a in ("19", "17", "13", "20") if a not in bundled)
    clips = sorted((DATA / "ravdess" / "speech" / f"Actor_{actor}").glob("*.flac"))[:: args.step]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sentences.wav"
        seconds, used = write_sentences(path, clips[:13], 50, pause=1.0)
        clips = clips[:used]  # the reference is the sentences that fit (11 of 13 for actor 17)
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "emotion.predict", str(path), "--transcript", "--format", "json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**__import__("os").environ, "OMP_NUM_THREADS": str(args.threads)},
        )
        wall = time.perf_counter() - t0
    if out.returncode:
        sys.exit(out.stderr)
    result = json.loads(out.stdout)
    ref = " ".join(RAVDESS_TEXT[c.name.split("-")[4]] for c in clips)
    hyp = " ".join(s["text"] for s in result["segments"])
    argmax = all(
        s["emotion"] == max(s["probabilities"], key=s["probabilities"].get) for s in result["segments"] if s["emotion"]
    )
    print(machine())
    print(
        f"{seconds:.1f} s of actor {actor}'s sentences ({len(clips[:13])}, 1-s pauses): the CLI took {wall:.1f} s "
        f"({wall / seconds:.2f} x the audio, loading included); "
        f"WER {edit_distance(words(ref), words(hyp)) / len(words(ref)):.2%}; "
        f"{len(result['segments'])} segments, emotion = argmax of its probabilities: {argmax}"
    )
    for s in result["segments"]:
        print(f"  {s['start']:6.2f}-{s['end']:6.2f}  [{s['emotion']}]  {s['text']}")


MEMORY_CHILD = r"""
import resource, sys, time
import app
from ui import transcript as tab
from emotion import transcript as T
T.load_model()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
app.RESOURCES.predictor.transcript(sys.argv[1])
print(f"{base:.0f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"""


def memory(args) -> None:
    clips = [p for p, _ in corpus("ravdess")][::20]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "minute.wav"
        seconds, _ = write_sentences(path, clips, 60, pause=1.0)
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, str(path)], cwd=ROOT, capture_output=True, text=True, check=True
        )
    loaded, peak = out.stdout.split()[-2:]
    print(machine())
    print(
        f"app (emotion model + UI) with the transcript model loaded: peak RSS {loaded} MB; after the transcript "
        f"of {seconds:.0f} s of speech: {peak} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["wer", "speed", "cli", "memory"])
    ap.add_argument("--corpus", choices=["ravdess", "emodb"], default="ravdess")
    ap.add_argument("--limit", type=int, default=None, help="first N clips (wer)")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--step", type=int, default=3, help="cli: every STEP-th clip of the actor (4: the same statement each time)"
    )
    args = ap.parse_args()
    dict(wer=wer, speed=speed, cli=cli, memory=memory)[args.what](args)


if __name__ == "__main__":
    main()

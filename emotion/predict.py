"""The command line of the Predictor (emotion.predictor): `python -m emotion.predict`.

    python -m emotion.predict FILE... [--checkpoint P] [--format table|csv|json]   # top-3 per file
    python -m emotion.predict FILE... --timeline                                    # per speech window
    python -m emotion.predict FILE --transcript [--format table|json|csv|srt|vtt] [--language de]
    ... --timeline/--transcript --speakers auto|N                                   # who said it

--speakers: each window or utterance also names its speaker (emotion.longform.speakers), cues read
"[Speaker 2 · angry 0.81] ...", and the table ends with a summary per speaker.

--transcript: what was said and how (emotion.longform.transcript): one row per utterance with its text and
emotion; SRT and WebVTT cues carry the emotion, e.g. "[angry 0.81] I told you twice.".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd
from tqdm import tqdm

from .audio import AudioError
from .batch.batch_io import AUDIO_SUFFIXES, expand_paths
from .clarity import top_k
from .errors import InputError, SetupError
from .longform import long_input, subtitles
from .longform.speakers import parse_count
from .predictor import Predictor


def predict_rows(
    predictor: Predictor, files: Sequence[Path], timeline: bool = False, progress: bool = True, speakers=None
):
    """One row per file (or per analysed segment with timeline=True, with its speaker when speakers
    is "auto" or N); unreadable files get a row with their error message instead of stopping the
    batch. Returns a pandas DataFrame."""
    rows, summaries = [], []
    for path in tqdm(files, desc="predicting", unit="file", disable=not progress or len(files) < 5):
        try:
            if timeline:
                table = predictor.timeline(path, speakers=speakers)
                table.insert(0, "file", str(path))
                if speakers is not None:
                    summaries.append(long_input.speaker_summary(table, predictor.labels).assign(file=str(path)))
                rows.extend(table.to_dict("records"))
            else:
                result = predictor.analyze(path, display=False)  # predict(), and the verdict (emotion.clarity)
                probs = result.probabilities
                rows.append(dict(file=str(path), emotion=result.top, **probs, **result.verdict.fields()))
        except AudioError as exc:
            rows.append(dict(file=str(path), error=str(exc)))
    frame = pd.DataFrame(rows)
    if "error" not in frame:
        frame["error"] = None
    if summaries:
        frame.attrs["speakers"] = pd.concat(summaries, ignore_index=True)
    return frame


def format_table(frame, timeline: bool, labels: Sequence[str]) -> str:
    """The top 3 of each row (of predict_rows) over `labels`, the checkpoint's, one line each."""
    lines = []
    for row in frame.to_dict("records"):
        if isinstance(row.get("error"), str):
            lines.append(f"{row['file']}\terror: {row['error']}")
            continue
        probs = {name: row[name] for name in labels if name in row}
        where = f"\t{row['start']:7.2f}-{row['end']:7.2f} s" if timeline else ""
        where += f"  Speaker {row['speaker']}" if pd.notna(row.get("speaker")) else ""
        said = row.get("verdict")  # the verdict, when it says more than the top emotion (emotion.clarity)
        caveat = f"  [{said}]" if isinstance(said, str) and (not row["clear"] or row["unfamiliar"]) else ""
        lines.append(f"{row['file']}{where}\t" + "  ".join(f"{n} {p:.0%}" for n, p in top_k(probs)) + caveat)
    return "\n".join(lines)


def speaker_lines(summary, labels: Sequence[str]) -> str:
    """The per-speaker summary (long_input.speaker_summary) as text, one line per speaker."""
    return "\n".join(
        f"{r['file']}\tSpeaker {r['speaker']}: {r['seconds']:.1f} s of speech, mostly {r['emotion']} "
        f"({r[r['emotion']]:.0%})" + (f"; most intense: {r['moments']}" if r["moments"] else "")
        for r in summary.to_dict("records")
    )


def transcript_output(predictor: Predictor, files: Sequence[Path], fmt: str, language=None, speakers=None) -> int:
    """--transcript: each file's transcript in the chosen format; SRT and WebVTT take one file."""
    if fmt in ("srt", "vtt") and len(files) != 1:
        print(f"--format {fmt} writes the subtitles of one file; give one file (got {len(files)}).", file=sys.stderr)
        return 2
    results, failed = [], 0
    for path in files:
        try:
            results.append((path, predictor.transcript(path, language=language, speakers=speakers), None))
        except SetupError as exc:  # TranscriptError (no faster-whisper), SpeakerError (no voice encoder)
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except AudioError as exc:
            results.append((path, None, str(exc)))
            failed += 1
    if fmt in ("srt", "vtt"):
        path, frame, err = results[0]
        if err:
            print(f"{path}: error: {err}", file=sys.stderr)
            return 1
        sys.stdout.write(subtitles.srt(frame) if fmt == "srt" else subtitles.vtt(frame))
    elif fmt == "json":
        out = [{"file": str(p), "error": e} if e else {"file": str(p), **subtitles.as_json(f)} for p, f, e in results]
        print(
            json.dumps(
                {k: v for k, v in out[0].items() if k != "file"} if len(out) == 1 and not failed else out,
                indent=1,
                ensure_ascii=False,
            )
        )
    elif fmt == "csv":
        parts = [
            pd.DataFrame([{"file": str(p), "error": e}]) if e else f.assign(file=str(p), language=f.attrs["language"])
            for p, f, e in results
        ]
        table = pd.concat(parts, ignore_index=True)
        sys.stdout.write(
            table[["file", *[c for c in table.columns if c != "file"]]].to_csv(index=False, float_format="%.4f")
        )
    else:
        for path, frame, err in results:
            if err:
                print(f"{path}\terror: {err}")
                continue
            print(f"{path}\t(language: {frame.attrs.get('language')}, {len(frame)} utterances)")
            if subtitles.language_note(frame.attrs):
                print(f"  {subtitles.language_note(frame.attrs)}")
            for row in frame.to_dict("records"):
                print(f"  {row['start']:7.2f}-{row['end']:7.2f} s  {subtitles.cue_text(row)}")
    if failed:
        print(f"{failed} of {len(files)} file(s) could not be transcribed (see 'error').", file=sys.stderr)
    return 1 if failed == len(files) else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m emotion.predict",
        description="Emotion of each audio file (files or folders, searched recursively).",
    )
    ap.add_argument("paths", nargs="+", help="audio files or folders")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        default=None,
        help="encoder precision (default EMOTION_PRECISION, else auto: bf16 on CPUs with native bf16, else fp32)",
    )
    ap.add_argument(
        "--format",
        choices=["table", "csv", "json", "srt", "vtt"],
        default="table",
        help="table: top-3 per line; csv/json: every probability; srt/vtt: subtitles (--transcript)",
    )
    ap.add_argument("--timeline", action="store_true", help="one row per speech segment, for long recordings")
    ap.add_argument(
        "--transcript",
        action="store_true",
        help="what was said and how: one row per utterance with its words and emotion",
    )
    ap.add_argument(
        "--language", default=None, help="--transcript: the language's code (e.g. en, de); default: detected"
    )
    ap.add_argument(
        "--speakers",
        default=None,
        help="with --timeline or --transcript: 'auto' or how many speakers (1-8): who said it (needs resemblyzer)",
    )
    args = ap.parse_args(argv)
    if args.speakers is not None:
        if not (args.timeline or args.transcript):
            ap.error("--speakers names who speaks in a --timeline or --transcript: add one of them")
        try:
            args.speakers = parse_count(args.speakers)
        except InputError as exc:
            ap.error(str(exc))
    if args.format in ("srt", "vtt") and not args.transcript:
        ap.error(f"--format {args.format} writes a transcript's subtitles: add --transcript")
    predictor = Predictor.from_checkpoint(args.checkpoint, precision=args.precision)
    files = expand_paths(args.paths)
    if not files:
        print("No audio files found (looked for " + ", ".join(AUDIO_SUFFIXES) + ").", file=sys.stderr)
        return 1
    if args.transcript:
        return transcript_output(predictor, files, args.format, args.language, args.speakers)
    try:
        frame = predict_rows(predictor, files, timeline=args.timeline, speakers=args.speakers)
    except SetupError as exc:  # SpeakerError: the voice encoder is not installed
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False, float_format="%.4f"))
    elif args.format == "json":
        print(frame.to_json(orient="records", indent=1, double_precision=4))
    else:
        print(format_table(frame, args.timeline, predictor.labels))
        if "speakers" in frame.attrs:
            print(speaker_lines(frame.attrs["speakers"], predictor.labels))
    failed = frame["error"].notna().sum() if len(frame) else 0
    if failed:
        print(f"{failed} of {len(files)} file(s) could not be analysed (see 'error').", file=sys.stderr)
    return 1 if frame["error"].notna().all() else 0


if __name__ == "__main__":
    sys.exit(main())

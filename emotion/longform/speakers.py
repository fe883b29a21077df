"""Who spoke when: speaker turns over the speech of a recording (diarisation).

    turns = diarise(segments, read, speakers="auto")   # [Turn(start, end, speaker)], seconds
    speaker_of(turns, start, end)                      # who speaks most of start..end

1. Each stretch of speech (the timeline's speech segments) is cut into pieces at its short
   pauses (pieces: PIECE_PAUSE_SECONDS; at most MAX_PIECE_SECONDS each), and each piece becomes
   one voice embedding (emotion.longform.voice_encoder: Resemblyzer's GE2E encoder, 1.6-s windows averaged).
2. How many speakers: given, or counted (count: agglomerative, cosine distance, average linkage,
   cut at AUTO_DISTANCE, a "speaker" with under MIN_SPEAKER_SECONDS of speech not counted). The
   threshold is checked leaving one corpus out: chosen on three corpora's conversations, scored on
   the fourth's (emotion.training.speakers). Who is who: the embeddings centred on the recording's mean
   (what all its voices share: room, microphone, language), split by Ward's clustering, each
   piece then given its nearest centroid.
3. Turns are runs of pieces of one speaker inside a stretch; a run shorter than MIN_TURN_SECONDS
   is a flicker and joins its longer neighbour. Speakers are numbered 1, 2, ... as they first speak.

On synthetic conversations of voices it never met, with the number of speakers given or counted,
see the README (python -m emotion.training.speakers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..audio import SAMPLE_RATE, speech
from ..errors import InputError
from . import voice_encoder
from .voice_encoder import SpeakerError, available  # noqa: F401  (callers ask here)

# cosine distance at which "auto" stops joining clusters: the choice on conversations of all four corpora;
# leaving each corpus out, the other three choose 0.325-0.35 (emotion.training.speakers, docs/speakers)
AUTO_DISTANCE = 0.35
PIECE_PAUSE_SECONDS = 0.15  # a stretch of speech is cut into pieces at pauses this long ...
PIECE_DB = 30.0  # ... of frames this far below its loudest
MIN_PIECE_SECONDS = 0.5  # a shorter piece joins a neighbour
MAX_PIECE_SECONDS = 3.2  # a longer one is cut in equal parts
RELIABLE_SECONDS = 1.0  # shorter pieces' embeddings wander: they are counted and clustered by the longer ones
MIN_SPEAKER_SECONDS = 2.0  # a "speaker" with less speech than this is a stray cluster of another's
MIN_TURN_SECONDS = 0.8  # a shorter change of speaker is a flicker, joined to a neighbour
MAX_SPEAKERS = 8
MAX_CLUSTERED = 3000  # windows clustered together (more: a sample, the rest by nearest centroid)
SpeakerCount = Union[None, str, int]


@dataclass(frozen=True)
class Turn:
    start: float  # s
    end: float  # s
    speaker: int  # 1, 2, ... in order of first appearance


def parse_count(speakers: SpeakerCount) -> SpeakerCount:
    """None (no attribution), "auto", or a number of speakers 1..MAX_SPEAKERS (also given as text)."""
    if speakers is None or speakers == "auto":
        return speakers
    try:
        n = int(speakers)
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= MAX_SPEAKERS or str(speakers).strip() != str(n):
        raise InputError(f"speakers must be 'auto' or a whole number from 1 to {MAX_SPEAKERS}, not {speakers!r}.")
    return n


def pieces(wave: np.ndarray) -> List[Tuple[int, int]]:
    """(start, end) samples of the pieces of a stretch of speech: cut at every pause of
    PIECE_PAUSE_SECONDS (frames PIECE_DB below its loudest), a piece shorter than
    MIN_PIECE_SECONDS joined to its neighbour, a piece longer than MAX_PIECE_SECONDS cut in equal
    parts (a change of speaker without a pause is found at that resolution)."""
    db = speech.frame_db(wave)
    loud = np.flatnonzero(db > db.max() - PIECE_DB)
    gap = PIECE_PAUSE_SECONDS * SAMPLE_RATE / speech.HOP
    breaks = np.flatnonzero(np.diff(loud) > gap)
    bounds = [0] + [int((loud[b] + loud[b + 1]) // 2 * speech.HOP) for b in breaks] + [len(wave)]
    runs = [[a, b] for a, b in zip(bounds, bounds[1:])]
    while len(runs) > 1 and min(b - a for a, b in runs) < MIN_PIECE_SECONDS * SAMPLE_RATE:
        i = int(np.argmin([b - a for a, b in runs]))
        j = (
            i - 1
            if i == len(runs) - 1 or (i > 0 and runs[i - 1][1] - runs[i - 1][0] < runs[i + 1][1] - runs[i + 1][0])
            else i + 1
        )
        lo, hi = sorted((i, j))
        runs[lo : hi + 1] = [[runs[lo][0], runs[hi][1]]]
    out = []
    for a, b in runs:
        k = int(np.ceil((b - a) / (MAX_PIECE_SECONDS * SAMPLE_RATE)))
        edges = np.linspace(a, b, k + 1).astype(int)
        out.extend(zip(edges[:-1].tolist(), edges[1:].tolist()))
    return out


def count(embeddings: np.ndarray, seconds: np.ndarray) -> int:
    """How many speakers: agglomerative clustering (cosine distance, average linkage) of the pieces
    of at least RELIABLE_SECONDS cut at AUTO_DISTANCE, not counting clusters under
    MIN_SPEAKER_SECONDS of speech (seconds: each embedding's share), which join the nearest other."""
    from sklearn.cluster import AgglomerativeClustering

    sure = reliable(seconds)
    if len(sure) < 2:
        return 1
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=AUTO_DISTANCE
    )
    first = model.fit_predict(embeddings[sure])
    centroids = np.stack([embeddings[sure][first == c].mean(axis=0) for c in range(first.max() + 1)])
    while len(centroids) > 1:
        totals = np.bincount(nearest(embeddings, centroids), weights=seconds, minlength=len(centroids))
        if totals.min() >= MIN_SPEAKER_SECONDS:
            break
        centroids = np.delete(centroids, int(totals.argmin()), axis=0)
    return min(len(centroids), MAX_SPEAKERS)


def reliable(seconds: np.ndarray) -> np.ndarray:
    """The pieces long enough for a steady embedding (RELIABLE_SECONDS; all of them if under two are)."""
    sure = np.flatnonzero(seconds >= RELIABLE_SECONDS)
    return sure if len(sure) >= 2 else np.arange(len(seconds))


def cluster(embeddings: np.ndarray, seconds: np.ndarray, speakers: SpeakerCount) -> np.ndarray:
    """A speaker index (0..k-1) per embedding, k given or counted (count). The embeddings are
    centred on the recording's mean first (what every voice of it shares: room, microphone,
    language), then split by Ward's agglomerative clustering, then each goes to its nearest centroid;
    a counted speaker left with under MIN_SPEAKER_SECONDS of speech joins the nearest other."""
    from sklearn.cluster import AgglomerativeClustering

    n = len(embeddings)
    k = min(n, count(embeddings, seconds) if speakers == "auto" else int(speakers))
    if k <= 1:
        return np.zeros(n, int)
    centred = embeddings - embeddings.mean(axis=0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True).clip(1e-9)
    sample = reliable(seconds)  # short pieces follow the clusters of the longer ones
    if len(sample) > MAX_CLUSTERED:
        sample = np.sort(np.random.default_rng(0).choice(sample, MAX_CLUSTERED, replace=False))
    k = min(k, len(sample))
    first = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(centred[sample])
    centroids = np.stack([centred[sample][first == c].mean(axis=0) for c in range(k)])
    labels = nearest(centred, centroids)
    while speakers == "auto" and len(centroids) > 1:  # counted, yet too little speech: another's stray pieces
        totals = np.bincount(labels, weights=seconds, minlength=len(centroids))
        if totals.min() >= MIN_SPEAKER_SECONDS:
            break
        centroids = np.delete(centroids, int(totals.argmin()), axis=0)
        labels = nearest(centred, centroids)
    return np.unique(labels, return_inverse=True)[1]  # (a centroid no embedding is nearest to: gone)


def nearest(embeddings: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    unit = centroids / np.linalg.norm(centroids, axis=1, keepdims=True).clip(1e-12)
    return (embeddings @ unit.T).argmax(axis=1)


def _join(runs: List[List[float]]) -> List[List[float]]:
    merged = [list(runs[0])]
    for r in runs[1:]:
        if r[2] == merged[-1][2]:
            merged[-1][1] = r[1]
        else:
            merged.append(list(r))
    return merged


def smooth(runs: List[List[float]]) -> List[List[float]]:
    """[start, end, speaker] runs of one stretch, in order and touching: neighbours of one speaker
    join, and a run shorter than MIN_TURN_SECONDS takes the speaker of its longer neighbour."""
    runs = _join(runs) if runs else []
    while len(runs) > 1:
        lengths = [r[1] - r[0] for r in runs]
        i = int(np.argmin(lengths))
        if lengths[i] >= MIN_TURN_SECONDS:
            break
        j = max((j for j in (i - 1, i + 1) if 0 <= j < len(runs)), key=lambda j: lengths[j])
        runs[i][2] = runs[j][2]
        runs = _join(runs)
    return runs


def diarise(
    segments: Sequence[Tuple[int, int]], read: Callable[[int, int], np.ndarray], speakers: SpeakerCount = "auto"
) -> List[Turn]:
    """The speaker turns [Turn(start, end, speaker)] (s) over the speech segments [(start, end)]
    samples, read by read(start, end); speakers: "auto" or how many there are."""
    speakers = parse_count(speakers) or "auto"
    segments = [(int(s), int(e)) for s, e in segments if e > s]
    if not segments:
        return []
    spans, embeddings = voice_encoder.embed(segments, read, pieces)
    seconds = np.array([(e - s) / SAMPLE_RATE for s, e in spans])
    labels = cluster(embeddings, seconds, speakers)
    runs: List[List[float]] = []
    for s, e in segments:  # each stretch on its own: a turn never spans a pause between stretches
        stretch = [[a / SAMPLE_RATE, b / SAMPLE_RATE, int(who)] for (a, b), who in zip(spans, labels) if s <= a < e]
        runs.extend(smooth(stretch))
    order = {}
    for _, _, who in runs:  # speakers numbered 1, 2, ... as they first speak
        order.setdefault(who, len(order) + 1)
    return [Turn(round(a, 3), round(b, 3), order[who]) for a, b, who in runs]


def speaker_of(turns: Sequence[Turn], start: float, end: float) -> Optional[int]:
    """The speaker with the most time inside start..end (s); the nearest turn's if none overlaps."""
    if not turns:
        return None
    overlap: dict = {}
    for t in turns:
        overlap[t.speaker] = overlap.get(t.speaker, 0.0) + max(0.0, min(end, t.end) - max(start, t.start))
    best = max(overlap, key=overlap.get)
    if overlap[best] > 0:
        return best
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(middle - t.start), abs(middle - t.end))).speaker


def split_segments(segments: Sequence[Tuple[int, int]], turns: Sequence[Turn]) -> List[Tuple[Tuple[int, int], int]]:
    """The speech segments cut at every change of speaker: [((start, end) samples, speaker)]."""
    out = []
    for t in turns:
        a, b = int(round(t.start * SAMPLE_RATE)), int(round(t.end * SAMPLE_RATE))
        for s, e in segments:
            lo, hi = max(a, s), min(b, e)
            if hi > lo:
                out.append(((lo, hi), t.speaker))
    return sorted(out)


def split_utterances(utterances: Sequence[dict], turns: Sequence[Turn]) -> List[dict]:
    """Transcript utterances ({start, end, text, words}) cut wherever their words' speaker
    changes, each with its "speaker" (the one of most of its words' time)."""
    out = []
    for utt in utterances:
        words = utt.get("words") or []
        if not words:
            out.append({**utt, "speaker": speaker_of(turns, utt["start"], utt["end"])})
            continue
        who = [speaker_of(turns, w["start"], max(w["end"], w["start"] + 0.01)) for w in words]
        cuts = [0] + [i for i in range(1, len(words)) if who[i] != who[i - 1]] + [len(words)]
        for a, b in zip(cuts, cuts[1:]):
            part = words[a:b]
            out.append(
                dict(
                    utt,
                    start=part[0]["start"],
                    end=max(part[0]["start"], part[-1]["end"]),
                    text=" ".join(w["word"] for w in part).strip() if (a, b) != (0, len(words)) else utt["text"],
                    words=part,
                    speaker=who[a],
                )
            )
    return out

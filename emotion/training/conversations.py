"""Synthetic conversations of known speakers, to choose and check the speaker attribution
(emotion.longform.speakers) on voices it never met.

A conversation joins single-speaker clips of 2-4 speakers of one corpus, one clip a turn (the speech
of each, cut from its silence; some turns cut shorter than 2 s), with pauses of PAUSES seconds;
the truth is where each clip's speech lies. Seeded: the same seed gives the same conversation.

    voices = corpus_speakers("nemo", data_dir)           # {speaker: [clip paths]}
    conv = conversation(voices, n_speakers=3, rng=np.random.default_rng(0))
    conv.wave, conv.truth                                # 16 kHz wave, [(start, end, speaker)] s
    score(conv.truth, turns)                             # share of speech time given the right speaker
    true_turns_share(cached, conv.truth, n)              # the same, the true turns known (the encoder's ceiling)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ..audio import SAMPLE_RATE, load_audio
from ..audio.speech import speech_bounds
from ..longform.speakers import Turn

CORPORA = ("ravdess", "emodb", "nemo", "korean")
PAUSES = (0.2, 0.8)  # s between turns, uniform
SHORT_TURNS = 0.25  # share of turns cut to 0.8-2 s of speech
TURNS = (6, 12)  # turns per conversation


def corpus_speakers(corpus: str, data_dir: Path) -> Dict[str, List[Path]]:
    """{speaker: [clip paths]} of one of the shared corpora (../shared/data layout)."""
    root = Path(data_dir)
    if corpus == "ravdess":
        return {d.name[-2:]: sorted(d.glob("*.flac")) for d in sorted((root / "ravdess" / "speech").glob("Actor_*"))}
    if corpus == "emodb":
        out: Dict[str, List[Path]] = {}
        for p in sorted((root / "emodb").glob("*.flac")):
            out.setdefault(p.name[:2], []).append(p)
        return out
    if corpus == "nemo":
        table = pd.read_csv(root / "nemo" / "data.tsv", sep="\t")
        table = table[table["file_id"].map(lambda f: (root / "nemo" / "samples" / f).is_file())]
        folder = root / "nemo" / "samples"
        return {s.strip(): [folder / f for f in g["file_id"]] for s, g in table.groupby("speaker_id")}
    if corpus == "korean":
        table = pd.read_csv(root / "korean" / "labels.csv")
        return {s: [root / "korean" / f for f in g["file"]] for s, g in table.groupby("speaker")}
    raise ValueError(f"unknown corpus {corpus!r}; one of {', '.join(CORPORA)}")


@dataclass
class Conversation:
    wave: np.ndarray
    truth: List[Tuple[float, float, str]]  # (start, end, speaker) of each turn's speech, s
    speakers: List[str]


def conversation(voices: Dict[str, List[Path]], n_speakers: int, rng: np.random.Generator) -> Conversation:
    """Turns of n_speakers voices drawn from `voices`, every speaker at least twice, no speaker twice in a row."""
    speakers = sorted(rng.choice(sorted(voices), n_speakers, replace=False).tolist())
    n_turns = max(2 * n_speakers, int(rng.integers(TURNS[0], TURNS[1] + 1)))
    order = [speakers[i % n_speakers] for i in range(n_turns)]
    rng.shuffle(order)
    for i in range(1, len(order)):  # no one follows themselves
        if order[i] == order[i - 1]:
            j = next((j for j in range(len(order)) if order[j] not in (order[i - 1], order[(i + 1) % len(order)])), i)
            order[i], order[j] = order[j], order[i]
    pieces, truth, t = [], [], 0.0
    for who in order:
        clip = load_audio(voices[who][int(rng.integers(len(voices[who])))])
        s, e = speech_bounds(clip)
        speech = clip[s:e]
        if rng.random() < SHORT_TURNS:
            keep = int(rng.uniform(0.8, 2.0) * SAMPLE_RATE)
            speech = speech[:keep]
        gap = np.zeros(int(rng.uniform(*PAUSES) * SAMPLE_RATE), np.float32)
        pieces += [gap, speech]
        t += len(gap) / SAMPLE_RATE
        truth.append((round(t, 3), round(t + len(speech) / SAMPLE_RATE, 3), who))
        t += len(speech) / SAMPLE_RATE
    pieces.append(np.zeros(int(0.5 * SAMPLE_RATE), np.float32))
    return Conversation(np.concatenate(pieces).astype(np.float32), truth, speakers)


def score(truth: Sequence[Tuple[float, float, str]], turns, step: float = 0.01) -> float:
    """Share of the true speech time given the right speaker, under the best one-to-one mapping of
    found speakers to true ones (speech found as nobody's, or as an unmapped speaker, is wrong)."""
    names = sorted({w for _, _, w in truth})
    found = sorted({t.speaker for t in turns})
    overlap = np.zeros((len(names), max(1, len(found))))
    for s, e, w in truth:
        for t in turns:
            overlap[names.index(w), found.index(t.speaker)] += max(0.0, min(e, t.end) - max(s, t.start))
    rows, cols = linear_sum_assignment(-overlap)
    total = sum(e - s for s, e, _ in truth)
    return float(overlap[rows, cols].sum() / total) if total > 0 else 0.0


def true_turns_share(cached: dict, truth: Sequence, n: int) -> float:
    """The ceiling the voice encoder leaves: the share given the right speaker when the true turns are
    known (each turn's pieces pooled into one embedding, weighted by length) and their number given,
    clustered as cluster() does (centred, Ward). A turn with no piece counts as wrong."""
    from sklearn.cluster import AgglomerativeClustering

    middles = np.array([(a + b) / 2 / SAMPLE_RATE for a, b in cached["spans"]])
    pooled, spans = [], []
    for s, e, _ in truth:
        inside = (middles >= s) & (middles < e)
        if inside.any():
            v = (cached["embeddings"][inside] * cached["seconds"][inside, None]).sum(axis=0)
            pooled.append(v / np.linalg.norm(v))
            spans.append((s, e))
    if n <= 1 or len(pooled) <= n:
        labels = np.arange(len(pooled)) if n > 1 else np.zeros(len(pooled), int)
    else:
        centred = np.array(pooled) - np.mean(pooled, axis=0)
        centred /= np.linalg.norm(centred, axis=1, keepdims=True).clip(1e-9)
        labels = AgglomerativeClustering(n_clusters=n, linkage="ward").fit_predict(centred)
    return score(truth, [Turn(s, e, int(k)) for (s, e), k in zip(spans, labels)])

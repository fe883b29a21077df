"""Who spoke when: speaker turns over the speech of a recording (diarisation).

A voice is recognised by a GE2E speaker encoder (Resemblyzer's pretrained `pretrained.pt`,
Apache-2.0, trained on LibriSpeech, VoxCeleb 1 and 2): a 3-layer LSTM over a 40-band mel power
spectrogram (25-ms frames, 10-ms hop) whose last state, projected and L2-normed, is a voice's
embedding. The weights come from the installed `resemblyzer` package (SHA-256 checked); its
Python code is not used, so it installs without librosa and webrtcvad (`pip install --no-deps`),
and the mel spectrogram is torchaudio's, to librosa's definition (Slaney mel scale and norm).

    turns = diarise(segments, read, speakers="auto")   # [Turn(start, end, speaker)], seconds
    speaker_of(turns, start, end)                      # who speaks most of start..end

1. Each stretch of speech (the timeline's speech segments) is embedded in windows of
   WINDOW_SECONDS every STEP_SECONDS (a stretch shorter than a window: one embedding of it all),
   each window's loudness first brought to NORM_DBFS, as the encoder was trained.
2. The embeddings are clustered (scikit-learn, agglomerative, cosine distance, average linkage):
   into N speakers when N is given, else cut at AUTO_DISTANCE (chosen on some corpora, checked on
   others: emotion.training.speakers); a cluster holding less than MIN_SPEAKER_SECONDS of speech
   joins the nearest other. Each window is then given the nearest centroid's speaker.
3. Every 10-ms frame of speech takes the speaker most of the windows around it have; turns are
   cut where that changes, and turns shorter than MIN_TURN_SECONDS join a neighbour.
Speakers are named 1, 2, ... in order of their first word.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torchaudio
from torch import nn

from . import speech
from .audio import SAMPLE_RATE
from .errors import InputError, SetupError

ENCODER_PACKAGE = "resemblyzer==0.1.4"
PIP_FIX = f"pip install --no-deps {ENCODER_PACKAGE}"
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
HOP = SAMPLE_RATE // 100  # 10 ms: the encoder's frame step, and the resolution of turns
WINDOW_SECONDS = 1.6  # what the encoder was trained on (160 frames)
STEP_SECONDS = 0.8  # between windows in a stretch of speech
NORM_DBFS = -30.0  # each window's level before the encoder (as Resemblyzer's preprocess_wav)
AUTO_DISTANCE = 0.4  # cosine distance at which "auto" stops joining clusters: chosen on RAVDESS + EmoDB (emotion.training.speakers)
PIECE_PAUSE_SECONDS = 0.15  # a stretch of speech is cut into pieces at pauses this long ...
PIECE_DB = 30.0  # ... of frames this far below its loudest
MIN_PIECE_SECONDS = 0.5  # a shorter piece joins a neighbour
MAX_PIECE_SECONDS = 3.2  # a longer one is cut in equal parts
MIN_SPEAKER_SECONDS = 2.0  # a "speaker" with less speech than this is a stray cluster of another's
MIN_TURN_SECONDS = 0.8  # a shorter change of speaker is a flicker, joined to a neighbour
MAX_SPEAKERS = 8
MAX_CLUSTERED = 3000  # windows clustered together (more: a sample, the rest by nearest centroid)
SpeakerCount = Union[None, str, int]


class SpeakerError(SetupError):
    """The speaker encoder's weights are missing or altered; the message names the fix."""


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


class VoiceEncoder(nn.Module):
    """GE2E: LSTM(40 -> 256, 3 layers), the last layer's final state -> Linear -> ReLU -> L2 norm."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        self.relu = nn.ReLU()
        self.mel = torchaudio.transforms.MelSpectrogram(
            SAMPLE_RATE, n_fft=400, hop_length=HOP, n_mels=40, power=2.0, norm="slaney", mel_scale="slaney"
        )

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        """(batch, frames, 40) mel power -> (batch, 256) unit embeddings."""
        _, (hidden, _) = self.lstm(mels)
        raw = self.relu(self.linear(hidden[-1]))
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)


def weights_path() -> Path:
    """The installed resemblyzer package's pretrained.pt (found without importing the package,
    whose code needs librosa), or SpeakerError naming the pip command."""
    spec = importlib.util.find_spec("resemblyzer")
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt" if spec else None
    if path is None or not path.is_file():
        raise SpeakerError(
            "Telling speakers apart needs the voice encoder of the resemblyzer package, which is not "
            f"installed (the emotions work without it). Add it with:\n    {PIP_FIX}"
        )
    return path


@lru_cache(maxsize=1)
def load_encoder() -> VoiceEncoder:
    path = weights_path()
    with open(path, "rb") as f:
        if hashlib.file_digest(f, "sha256").hexdigest() != WEIGHTS_SHA256:
            raise SpeakerError(f"{path} is not the voice encoder this release was tested with; reinstall: {PIP_FIX}")
    state = torch.load(path, map_location="cpu", weights_only=True)["model_state"]
    encoder = VoiceEncoder()
    encoder.load_state_dict({k: v for k, v in state.items() if k.split(".")[0] in ("lstm", "linear")}, strict=False)
    return encoder.eval()


def available() -> bool:
    try:
        weights_path()
    except SpeakerError:
        return False
    return True


def _normalised(wave: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) if len(wave) else 0.0
    return wave * (10 ** (NORM_DBFS / 20) / rms) if rms > 1e-6 else wave


def window_starts(n: int, window: int, step: int) -> List[int]:
    """Starts of the windows over n samples: every step, the last one ending at n (one if n <= window)."""
    if n <= window:
        return [0]
    return list(range(0, n - window, step)) + [n - window]


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


@torch.inference_mode()
def embed(segments: Sequence[Tuple[int, int]], read: Callable[[int, int], np.ndarray]):
    """(spans, embeddings): each piece's (start, end) samples and its unit embedding (n, 256), the
    mean of its windows', over the speech segments [(start, end)] samples, read by read(start, end)."""
    encoder = load_encoder()
    window, step = int(WINDOW_SECONDS * SAMPLE_RATE), int(STEP_SECONDS * SAMPLE_RATE)
    spans, owner, full, short = [], [], [], []
    for s, e in segments:
        wave = read(s, e)
        for a, b in pieces(wave):
            for w in window_starts(b - a, window, step):
                piece = torch.from_numpy(_normalised(wave[a + w : a + w + window][: b - a - w]).astype(np.float32))
                (full if len(piece) == window else short).append((len(owner), piece))
                owner.append(len(spans))
            spans.append((s + a, s + b))
    out = torch.zeros(len(owner), 256)
    for i in range(0, len(full), 64):  # the full windows in batches; shorter ones each alone
        idx, batch = zip(*full[i : i + 64])
        out[list(idx)] = encoder(encoder.mel(torch.stack(batch)).transpose(1, 2))
    for i, piece in short:
        out[i] = encoder(encoder.mel(piece[None]).transpose(1, 2))[0]
    sums = np.zeros((len(spans), 256))
    np.add.at(sums, np.array(owner), out.numpy())
    return spans, sums / np.linalg.norm(sums, axis=1, keepdims=True).clip(1e-12)


def count(embeddings: np.ndarray, seconds: np.ndarray) -> int:
    """How many speakers: agglomerative clustering (cosine distance, average linkage) cut at
    AUTO_DISTANCE, not counting clusters under MIN_SPEAKER_SECONDS of speech (seconds: each
    embedding's share), which join the nearest other."""
    from sklearn.cluster import AgglomerativeClustering

    if len(embeddings) < 2:
        return 1
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=AUTO_DISTANCE
    )
    first = model.fit_predict(embeddings)
    centroids = np.stack([embeddings[first == c].mean(axis=0) for c in range(first.max() + 1)])
    while len(centroids) > 1:
        totals = np.bincount(nearest(embeddings, centroids), weights=seconds, minlength=len(centroids))
        if totals.min() >= MIN_SPEAKER_SECONDS:
            break
        centroids = np.delete(centroids, int(totals.argmin()), axis=0)
    return min(len(centroids), MAX_SPEAKERS)


def cluster(embeddings: np.ndarray, seconds: np.ndarray, speakers: SpeakerCount) -> np.ndarray:
    """A speaker index (0..k-1) per embedding, k given or counted (count). The embeddings are
    centred on the recording's mean first (what every voice of it shares: room, microphone,
    language), then split by Ward's agglomerative clustering, then each goes to its nearest centroid."""
    from sklearn.cluster import AgglomerativeClustering

    n = len(embeddings)
    k = min(n, count(embeddings, seconds) if speakers == "auto" else int(speakers))
    if k <= 1:
        return np.zeros(n, int)
    centred = embeddings - embeddings.mean(axis=0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True).clip(1e-9)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, MAX_CLUSTERED, replace=False)) if n > MAX_CLUSTERED else np.arange(n)
    first = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(centred[sample])
    centroids = np.stack([centred[sample][first == c].mean(axis=0) for c in range(k)])
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
    spans, embeddings = embed(segments, read)
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

"""The voice encoder that tells speakers apart (emotion.longform.speakers uses it).

Resemblyzer's pretrained GE2E encoder (`pretrained.pt`, Apache-2.0, trained on LibriSpeech and
VoxCeleb 1 and 2): a 3-layer LSTM over a 40-band mel power spectrogram (25-ms frames, 10-ms hop)
whose last state, projected and L2-normed, is a voice's embedding. The weights come from the
installed `resemblyzer` package (SHA-256 checked); its Python code is not used, so it installs
without librosa and webrtcvad (`pip install --no-deps`), and the mel spectrogram is torchaudio's,
to librosa's definition (Slaney mel scale and norm): the same embeddings as Resemblyzer's own
embed_utterance on full 1.6-s windows.

    spans, embeddings = embed(segments, read, pieces)   # a unit vector per piece of speech
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torchaudio
from torch import nn

from ..audio import SAMPLE_RATE
from ..errors import SetupError

ENCODER_PACKAGE = "resemblyzer==0.1.4"
PIP_FIX = f"pip install --no-deps {ENCODER_PACKAGE}"
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
HOP = SAMPLE_RATE // 100  # 10 ms: the encoder's frame step
WINDOW_SECONDS = 1.6  # what the encoder was trained on (160 frames)
STEP_SECONDS = 0.8  # between windows in a piece of speech
NORM_DBFS = -30.0  # each window's level before the encoder (as Resemblyzer's preprocess_wav)
BATCH = 128  # windows per encoder call


class SpeakerError(SetupError):
    """The speaker encoder's weights are missing or altered; the message names the fix."""


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

    def forward(self, mels: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(batch, frames, 40) mel power -> (batch, 256) unit embeddings; lengths: each row's own
        number of frames (the rest padding, packed away: the LSTM's last state is at its own end)."""
        if lengths is not None:
            mels = nn.utils.rnn.pack_padded_sequence(mels, lengths, batch_first=True, enforce_sorted=False)
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


@torch.inference_mode()
def embed(
    segments: Sequence[Tuple[int, int]],
    read: Callable[[int, int], np.ndarray],
    pieces: Callable[[np.ndarray], List[Tuple[int, int]]],
):
    """(spans, embeddings): each piece's (start, end) samples and its unit embedding (n, 256), the
    mean of its windows', over the speech segments [(start, end)] samples, read by read(start, end)
    and cut by pieces(wave) -> [(start, end)]."""
    encoder = load_encoder()
    window, step = int(WINDOW_SECONDS * SAMPLE_RATE), int(STEP_SECONDS * SAMPLE_RATE)
    spans, owner, mels = [], [], []
    for s, e in segments:
        wave = read(s, e)
        for a, b in pieces(wave):
            for w in window_starts(b - a, window, step):
                clip = _normalised(wave[a + w : a + w + window][: b - a - w]).astype(np.float32)
                mels.append(encoder.mel(torch.from_numpy(clip)).T)
                owner.append(len(spans))
            spans.append((s + a, s + b))
    out = torch.zeros(len(owner), 256)
    for i in range(0, len(mels), BATCH):  # windows of any length together, packed (a piece under 1.6 s is shorter)
        part = mels[i : i + BATCH]
        lengths = torch.tensor([len(m) for m in part])
        out[i : i + len(part)] = encoder(nn.utils.rnn.pad_sequence(part, batch_first=True), lengths)
    sums = np.zeros((len(spans), 256))
    np.add.at(sums, np.array(owner), out.numpy())
    return spans, sums / np.linalg.norm(sums, axis=1, keepdims=True).clip(1e-12)

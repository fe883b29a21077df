"""The pretrained speech encoder: OpenAI Whisper-base's audio encoder (MIT), frozen, offline.

`load_encoder()` builds a torch module (written here in the style of openai/whisper's
`AudioEncoder`, rather than importing openai-whisper, which would pull tiktoken and numba into the
app for 80 lines of model) from the weights that emotion.model.whisper_weights reads out of two pinned,
hash-checked registry packages. Hashing and converting take well under a second, so there is no
cache to go stale. Nothing is ever downloaded.

    mel = log_mel_spectrogram(waves)        # (batch, 80, 100 * seconds), Whisper's log-mel
    states = encoder(mel, n_layers=4)       # (5, batch, 50 * seconds, 512): input + 4 blocks

Short clips are not padded to 30 s: the position table is sliced to the clip's length (a 3-s
clip is 150 encoder frames), as faster-whisper's encoder tolerates too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchaudio

# EncoderWeightsError stays importable from here, as the README has long said
from .whisper_weights import EncoderWeightsError, convert, parse_ctranslate2, read_model_bin  # noqa: F401

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms window
HOP_LENGTH = 160  # 10 ms: 100 mel frames per second, 50 encoder frames per second
N_MELS = 80

NAME = "whisper-base"


@dataclass(frozen=True)
class EncoderDims:
    n_mels: int = N_MELS
    n_ctx: int = 1500  # positions: 30 s
    n_state: int = 512
    n_head: int = 8
    n_layer: int = 6


# ---------------------------------------------------------------------------------------------
# Features: Whisper's log-mel (openai/whisper audio.py), computed with torch/torchaudio


@lru_cache(maxsize=4)
def _filters(device: str = "cpu") -> tuple:
    window = torch.hann_window(N_FFT, device=device)
    fb = torchaudio.functional.melscale_fbanks(  # librosa's slaney mel filters, as Whisper uses
        N_FFT // 2 + 1, 0.0, SAMPLE_RATE / 2, N_MELS, SAMPLE_RATE, norm="slaney", mel_scale="slaney"
    )
    return window, fb.T.contiguous().to(device)  # (n_mels, n_freqs)


def log_mel_spectrogram(waves: Union[np.ndarray, torch.Tensor]) -> torch.Tensor:
    """Whisper's log-mel of 16 kHz audio: log10 power, floored 8 below the clip's maximum
    (80 dB), then (x + 4) / 4, so values lie in about [-1.5, 1.5].

    waves : shape = (samples,) or (batch, samples); returns (80, frames) or (batch, 80, frames),
        frames = samples // 160.
    """
    x = torch.as_tensor(np.asarray(waves, dtype=np.float32)) if not torch.is_tensor(waves) else waves.float()
    window, fb = _filters(str(x.device))
    stft = torch.stft(x, N_FFT, HOP_LENGTH, window=window, return_complex=True)
    power = stft[..., :-1].abs() ** 2  # (..., n_freqs, frames)
    log_spec = torch.clamp(fb @ power, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.amax(dim=(-2, -1), keepdim=True) - 8.0)
    return (log_spec + 4.0) / 4.0


LEVEL_RMS = 0.05  # -26 dBFS: every clip's sound is scaled to this RMS before the log-mel
FEATURE_CONFIG = dict(
    kind="whisper-log-mel",
    sample_rate=SAMPLE_RATE,
    n_fft=N_FFT,
    hop_length=HOP_LENGTH,
    n_mels=N_MELS,
    level_rms=LEVEL_RMS,
)


def normalize_level(waves: torch.Tensor) -> torch.Tensor:
    """Scale each wave so that its non-zero samples (not the centring pad) have RMS LEVEL_RMS:
    the microphone's gain is not evidence of emotion. waves : (batch, samples)."""
    nonzero = (waves != 0).sum(dim=-1, keepdim=True).clamp(min=1)
    rms = ((waves**2).sum(dim=-1, keepdim=True) / nonzero).sqrt()
    return waves * (LEVEL_RMS / rms.clamp(min=1e-5))


def features(waves: torch.Tensor) -> torch.Tensor:
    """What the Whisper backbone reads: level-normalised waves -> Whisper's log-mel,
    (batch, samples) -> (batch, 80, samples // 160)."""
    return log_mel_spectrogram(normalize_level(torch.as_tensor(waves).float()))


# ---------------------------------------------------------------------------------------------
# The encoder (openai/whisper model.py AudioEncoder, pre-LayerNorm transformer)


class Block(nn.Module):
    def __init__(self, n_state: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.attn_ln = nn.LayerNorm(n_state)
        self.qkv = nn.Linear(n_state, 3 * n_state)  # q, k, v fused (k's bias is zero in Whisper)
        self.out = nn.Linear(n_state, n_state)
        self.mlp_ln = nn.LayerNorm(n_state)
        self.mlp1 = nn.Linear(n_state, 4 * n_state)
        self.mlp2 = nn.Linear(4 * n_state, n_state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.attn_ln(x)).view(b, t, 3, self.n_head, d // self.n_head).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v)  # (B, heads, T, d_head)
        x = x + self.out(a.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp2(F.gelu(self.mlp1(self.mlp_ln(x))))


class WhisperEncoder(nn.Module):
    def __init__(self, dims: EncoderDims = EncoderDims()):
        super().__init__()
        self.dims = dims
        self.conv1 = nn.Conv1d(dims.n_mels, dims.n_state, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(dims.n_state, dims.n_state, kernel_size=3, stride=2, padding=1)
        self.register_buffer("positions", torch.zeros(dims.n_ctx, dims.n_state))
        self.blocks = nn.ModuleList(Block(dims.n_state, dims.n_head) for _ in range(dims.n_layer))
        self.ln_post = nn.LayerNorm(dims.n_state)

    def forward(self, mel: torch.Tensor, n_layers: Optional[int] = None) -> torch.Tensor:
        """mel : shape = (batch, n_mels, frames), frames <= 3000 (30 s).

        Returns the hidden states of the input embedding and of the first n_layers blocks
        (default all; the last one through ln_post when n_layers is all of them),
        shape = (n_layers + 1, batch, ceil(frames / 2), n_state). Only the blocks asked for run.
        """
        n_layers = self.dims.n_layer if n_layers is None else n_layers
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)  # (B, T/2, D)
        if x.shape[1] > self.dims.n_ctx:
            raise ValueError(f"{mel.shape[-1]} mel frames exceed Whisper's 30 s ({2 * self.dims.n_ctx})")
        x = x + self.positions[: x.shape[1]]
        states = [x]
        for block in self.blocks[:n_layers]:
            x = block(x)
            states.append(x)
        if n_layers == self.dims.n_layer:
            states[-1] = self.ln_post(x)
        return torch.stack(states)


def load_encoder(int8: bool = False, bf16: bool = False) -> WhisperEncoder:
    """The frozen Whisper-base encoder in eval mode (one per process and precision).

    int8=True quantizes the linear layers' weights to int8 (torch dynamic quantization; the
    activations are quantized on the fly): faster on a CPU, slightly different outputs.
    bf16=True stores the convolutions' and linear layers' weights in bf16 (LayerNorms and positions
    stay fp32), to run under precision.context("bf16"): the same numbers as autocasting the fp32
    encoder, which rounds those weights the same way but again on every call (~4 ms of a 2-core
    CPU's time per clip for 13.5 M weights)."""
    return _load_encoder(bool(int8), bool(bf16))  # one cache key per choice, however it is spelled


@lru_cache(maxsize=3)
def _load_encoder(int8: bool, bf16: bool) -> WhisperEncoder:
    if int8:
        return torch.ao.quantization.quantize_dynamic(_load_encoder(False, False), {nn.Linear}, dtype=torch.qint8)
    if bf16:
        encoder = copy.deepcopy(_load_encoder(False, False))
        for module in encoder.modules():
            if isinstance(module, (nn.Linear, nn.Conv1d)):
                module.to(torch.bfloat16)
        return encoder
    state = convert(parse_ctranslate2(read_model_bin()))
    encoder = WhisperEncoder()
    encoder.load_state_dict(state)
    for p in encoder.parameters():
        p.requires_grad_(False)
    return encoder.eval()

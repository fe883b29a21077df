"""The two models a checkpoint can hold (emotion.model.backbone picks one); both end in logits over the
checkpoint's labels, and the caller applies the softmax.

EncoderHead (the shipped model): a BiLSTM head on the frozen Whisper-base encoder's states.
    states of blocks 1-4 (layers, B, T, 512) -> pairs of 20-ms frames averaged (select)
    -> learned weighted sum of the layers -> LayerNorm, dropout -> projection to 128, GELU
    -> bidirectional LSTM (B, T/2, 2 * hidden) -> attention pooling over time (stats_pool: beside
    the mean and std over time of the projection) -> dropout, FC

EmotionNet (the small fallback, trained from scratch): a CNN-BiLSTM over the 2-D log-mel.
    log-mel (B, n_mels, T) -> standardise per mel bin (buffers saved with the model)
    -> 4 x [Conv2d 3x3, BatchNorm, GELU, MaxPool, Dropout]          (B, C, n_mels/16, T/8)
       (pool_first: Conv2d, MaxPool, BatchNorm, GELU, Dropout -- the shipped CNN)
    -> fold frequency into features                                 (B, T/8, C * n_mels/16)
    -> bidirectional LSTM                                           (B, T/8, 2 * hidden)
    -> attention pooling over time                                  (B, 2 * hidden)
    -> dropout, fully connected layer                               (B, n_classes) logits
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    n_mels: int = 64  # input mel bins; must be divisible by 16 (four 2x frequency poolings)
    n_classes: int = 8  # len(EMOTIONS)
    channels: Tuple[int, ...] = (8, 16, 32, 64)  # output channels of the four conv blocks
    time_pools: Tuple[int, ...] = (2, 2, 2, 1)  # time pooling per block: T/8 steps reach the LSTM
    conv_dropout: float = 0.1
    lstm_hidden: int = 64  # per direction
    dropout: float = 0.3  # before the fully connected layer
    label_smoothing: float = 0.1
    utterance_norm: bool = False  # subtract each clip's own mean per mel bin (over its speech frames)
    pool_first: bool = False  # Conv -> MaxPool -> BN -> GELU: the same layers, 4x less work after each conv


ACTIVE_DB = -60.0  # a frame whose loudest bin is within 60 dB of the clip's maximum counts as sound


def select_states(states: torch.Tensor, layers, time_pool: int) -> torch.Tensor:
    """All encoder states (n_layers + 1, B, T, D) -> the chosen layers, time_pool frames averaged,
    shape = (B, len(layers), T / time_pool, D): what a head (and the voice gate) reads."""
    x = states[list(layers)].transpose(0, 1)  # (B, L, T, D)
    if time_pool > 1:
        b, n, t, d = x.shape
        x = x[:, :, : t - t % time_pool].reshape(b, n, t // time_pool, time_pool, d).mean(dim=3)
    return x


class ConvBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, time_pool: int, dropout: float, pool_first: bool = False):
        super().__init__()
        self.pool_first = pool_first
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.pool = nn.MaxPool2d((2, time_pool))
        self.drop = nn.Dropout2d(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_first:  # BatchNorm and GELU then run on the pooled map (4x fewer values)
            return self.drop(F.gelu(self.bn(self.pool(self.conv(x)))))
        return self.drop(self.pool(F.gelu(self.bn(self.conv(x)))))


class EmotionNet(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.zeros(config.n_mels))  # training-set statistics
        self.register_buffer("std", torch.ones(config.n_mels))
        chans = (1,) + tuple(config.channels)
        self.convs = nn.Sequential(
            *[
                ConvBlock(chans[i], chans[i + 1], config.time_pools[i], config.conv_dropout, config.pool_first)
                for i in range(4)
            ]
        )
        lstm_in = config.channels[-1] * (config.n_mels // 16)
        self.lstm = nn.LSTM(lstm_in, config.lstm_hidden, batch_first=True, bidirectional=True)
        self.attention = nn.Linear(2 * config.lstm_hidden, 1)
        self.drop = nn.Dropout(config.dropout)
        self.fc = nn.Linear(2 * config.lstm_hidden, config.n_classes)

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean.copy_(mean)
        self.std.copy_(std.clamp(min=1e-3))

    def forward(self, x: torch.Tensor, targets: Optional[torch.Tensor] = None):
        """x : torch.Tensor, shape = (batch, n_mels, n_frames), log-mel from features.py.

        Returns (logits, loss); logits shape = (batch, n_classes), loss None without targets.
        """
        if self.config.utterance_norm:  # frames with sound, not padding: (B, 1, T), before standardising
            active = x.amax(dim=1, keepdim=True) > ACTIVE_DB
        x = (x - self.mean[:, None]) / self.std[:, None]
        if self.config.utterance_norm:  # cepstral-mean-style: removes the speaker's and mic's average colour
            count = active.sum(dim=2, keepdim=True).clamp(min=1)
            x = (x - (x * active).sum(dim=2, keepdim=True) / count) * active  # padding -> 0, the mean
        x = self.convs(x.unsqueeze(1))  # (B, C, F', T')
        b, c, f, t = x.shape
        x = x.permute(0, 3, 1, 2).reshape(b, t, c * f)  # (B, T', C*F')
        h, _ = self.lstm(x)  # (B, T', 2H)
        weights = torch.softmax(self.attention(h), dim=1)  # (B, T', 1)
        pooled = (weights * h).sum(dim=1)  # (B, 2H)
        logits = self.fc(self.drop(pooled))
        loss = None
        if targets is not None:
            if targets.dim() == 2:  # soft targets (mixup)
                loss = torch.sum(-targets * F.log_softmax(logits, dim=-1), dim=-1).mean()
            else:
                loss = F.cross_entropy(logits, targets, label_smoothing=self.config.label_smoothing)
        return logits, loss


# ---------------------------------------------------------------------------------------------
# The head on the frozen Whisper-base encoder (emotion/model/encoder.py)


@dataclass
class HeadConfig:
    backbone: str = "whisper-base"  # the encoder whose hidden states this head reads
    layers: Tuple[int, ...] = (1, 2, 3, 4)  # encoder states mixed (0 = the input embedding)
    n_state: int = 512  # width of the encoder states
    time_pool: int = 2  # average this many 20-ms encoder frames: 25 steps per second reach the LSTM
    proj_dim: int = 128  # states projected to this width before the LSTM
    lstm_hidden: int = 64  # per direction
    input_dropout: float = 0.2  # on the mixed states
    dropout: float = 0.3  # before the fully connected layer
    n_classes: int = 8  # len(labels)
    label_smoothing: float = 0.1
    stats_pool: bool = False  # also feed the mean and std over time of the projected states to the FC layer
    utterance_norm: bool = False  # remove each clip's mean over time from the mixed states (voice and channel)

    @property
    def n_layers(self) -> int:
        """How many encoder blocks must run to feed this head."""
        return max(self.layers)


class EncoderHead(nn.Module):
    """Learned weighted sum of encoder layers -> LayerNorm -> projection -> BiLSTM -> attention
    pooling (with stats_pool, beside the mean and std over time of the projection) -> FC.
    Reads the stacked hidden states WhisperEncoder returns."""

    def __init__(self, config: HeadConfig):
        super().__init__()
        self.config = config
        self.layer_weights = nn.Parameter(torch.zeros(len(config.layers)))  # softmax: equal mix at start
        self.norm = nn.LayerNorm(config.n_state)
        self.in_drop = nn.Dropout(config.input_dropout)
        self.proj = nn.Linear(config.n_state, config.proj_dim)
        self.lstm = nn.LSTM(config.proj_dim, config.lstm_hidden, batch_first=True, bidirectional=True)
        self.attention = nn.Linear(2 * config.lstm_hidden, 1)
        self.drop = nn.Dropout(config.dropout)
        self.fc = nn.Linear(
            2 * config.lstm_hidden + (2 * config.proj_dim if config.stats_pool else 0), config.n_classes
        )

    def select(self, states: torch.Tensor) -> torch.Tensor:
        """All encoder states (n_layers + 1, B, T, D) -> this head's layers, time-pooled,
        shape = (B, len(layers), T / time_pool, D): the part worth caching for training."""
        return select_states(states, self.config.layers, self.config.time_pool)

    def forward(self, x: torch.Tensor, targets: Optional[torch.Tensor] = None):
        """x : shape = (batch, len(layers), T', n_state), from select(). Returns (logits, loss)."""
        logits = self.fc(self.drop(self.embed(x)))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets, label_smoothing=self.config.label_smoothing)
        return logits, loss

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled vector the FC layer reads: (batch, 2 * lstm_hidden [+ 2 * proj_dim])."""
        mix = torch.softmax(self.layer_weights, dim=0)
        h = torch.einsum("l,bltd->btd", mix, x.float())  # (B, T', D)
        if self.config.utterance_norm:
            h = h - h.mean(dim=1, keepdim=True)
        p = F.gelu(self.proj(self.in_drop(self.norm(h))))  # (B, T', P)
        h, _ = self.lstm(p)  # (B, T', 2H)
        weights = torch.softmax(self.attention(h), dim=1)  # (B, T', 1)
        pooled = (weights * h).sum(dim=1)  # (B, 2H)
        if self.config.stats_pool:  # statistics pooling beside the LSTM: (B, 2H + 2P)
            pooled = torch.cat([pooled, p.mean(dim=1), p.std(dim=1)], dim=-1)
        return pooled


class HeadStack(nn.Module):
    """EncoderHeads of one config (a checkpoint's fold models) run together at inference: the
    layer mix, LayerNorm, projection, attention and FC of every head each in one batched call;
    the LSTMs one per head (one block-diagonal LSTM of all of them was slower at batch 1: its
    weights no longer fit the cache). The same logits as each head alone, to float32 rounding;
    no dropout (inference only). Differentiable with respect to its input (saliency)."""

    def __init__(self, heads):
        super().__init__()
        heads = list(heads)
        if not heads or any(h.config != heads[0].config for h in heads):
            raise ValueError("HeadStack needs one or more EncoderHeads of the same config")
        self.config = heads[0].config
        self.lstms = nn.ModuleList(h.lstm for h in heads)  # shared with the heads, not copied

        def stack(get):  # plain tensors even when built under inference_mode: saliency backpropagates through them
            with torch.inference_mode(False), torch.no_grad():
                return torch.stack([get(h) for h in heads])

        self.register_buffer("mix", stack(lambda h: torch.softmax(h.layer_weights, dim=0)))  # (H, L)
        self.register_buffer("norm_w", stack(lambda h: h.norm.weight)[:, None, None])  # (H, 1, 1, D)
        self.register_buffer("norm_b", stack(lambda h: h.norm.bias)[:, None, None])
        self.register_buffer("proj_w", stack(lambda h: h.proj.weight.t()))  # (H, D, P)
        self.register_buffer("proj_b", stack(lambda h: h.proj.bias)[:, None])  # (H, 1, P)
        self.register_buffer("att_w", stack(lambda h: h.attention.weight[0]))  # (H, 2 * hidden)
        self.register_buffer("att_b", stack(lambda h: h.attention.bias)[:, :, None])  # (H, 1, 1)
        self.register_buffer("fc_w", stack(lambda h: h.fc.weight.t()))  # (H, F, C)
        self.register_buffer("fc_b", stack(lambda h: h.fc.bias)[:, None])  # (H, 1, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x : shape = (batch, len(layers), T', n_state), from EncoderHead.select().
        Returns each head's logits, shape = (n_heads, batch, n_classes)."""
        n, (b, _, t, d) = len(self.lstms), x.shape
        h = torch.einsum("hl,bltd->hbtd", self.mix, x.float())  # (H, B, T', D)
        if self.config.utterance_norm:
            h = h - h.mean(dim=2, keepdim=True)
        h = F.layer_norm(h, (d,)) * self.norm_w + self.norm_b
        p = F.gelu(torch.baddbmm(self.proj_b, h.reshape(n, b * t, d), self.proj_w)).reshape(n, b, t, -1)
        out = torch.stack([lstm(p[i])[0] for i, lstm in enumerate(self.lstms)])  # (H, B, T', 2 * hidden)
        weights = torch.softmax(torch.einsum("hbtf,hf->hbt", out, self.att_w) + self.att_b, dim=2)
        pooled = torch.einsum("hbt,hbtf->hbf", weights, out)
        if self.config.stats_pool:
            pooled = torch.cat([pooled, p.mean(dim=2), p.std(dim=2)], dim=-1)
        return torch.baddbmm(self.fc_b, pooled, self.fc_w)

"""Training heads on the frozen Whisper-base encoder (python -m emotion.training.train --backbone whisper-base).

The encoder is frozen, so its hidden states are computed once per clip and per augmentation
variant and cached on disk (runs/cache/, float16, every layer up to the deepest one used, pooled
in time as the head pools them); training a head then reads only the cache. Variant 0 is the clip
exactly as the predictor prepares it (trimmed, centred in 3 s); variants 1.. are random copies:
speed perturbation, a random place in the 3-s window, and emotion.corruptions.random_corruption
(noise at 5-30 dB SNR, reverberation, a telephone band). Each epoch draws one variant per clip.

Folds, out-of-fold scoring and the files written are those of the CNN recipe (emotion.training.cnn).
Calibration is fitted for the predictor as it ships, an average of fold heads: with nested folds,
each outer fold's actors are scored by the mean logits of inner heads that were trained without
them (each on the other outer folds minus one), and the temperature is fitted on those ensemble
logits (--calibrate nested). The shipped heads are the outer ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from tqdm import tqdm

from .. import audio, encoder
from ..model import EncoderHead, HeadConfig
from ..ravdess import load_waves
from .cnn import train_step
from .corpora import corpus_folds, sampling_weights
from .data import Augment, RavdessDataset
from .runs import fold_outputs

CACHE_DIR = Path("runs/cache")
ENCODE_BATCH = 16


@dataclass
class HeadRecipe:
    epochs: int = 30
    lr: float = 1e-3
    weight_decay: float = 0.05
    batch_size: int = 32
    variants: int = 4  # augmented copies per clip, besides the clean one
    speed_prob: float = 0.5
    corrupt: bool = True  # noise, reverb, telephone on the augmented copies
    time_mask: int = 8  # mask up to this many LSTM steps (40 ms each), twice per clip
    use_song: bool = True
    select: str = "last"
    balance: bool = False  # draw clips so corpora (share ~ n ** corpus_power) and labels are balanced
    corpus_power: float = 0.5
    adversary: float = 0.0  # weight of a corpus classifier behind gradient reversal (0 = off)


def encode_clips(clips: torch.Tensor, n_layers: int, time_pool: int, desc: str) -> np.ndarray:
    """Encoder states of fixed-length clips (n, N_SAMPLES): (n, n_layers + 1, T / time_pool, 512), float16."""
    enc = encoder.load_encoder()
    head = EncoderHead(HeadConfig(layers=tuple(range(n_layers + 1)), time_pool=time_pool))
    out = None
    with torch.inference_mode():
        for i in tqdm(range(0, len(clips), ENCODE_BATCH), desc=desc, unit="batch", leave=False):
            x = head.select(enc(encoder.features(clips[i : i + ENCODE_BATCH]), n_layers=n_layers))
            if out is None:
                out = np.empty((len(clips),) + tuple(x.shape[1:]), dtype=np.float16)
            out[i : i + len(x)] = x.numpy().astype(np.float16)
    return out


def variant_clips(
    frame: pd.DataFrame, waves: List[np.ndarray], variant: int, recipe: HeadRecipe, seed: int
) -> torch.Tensor:
    """The fixed-length clips of one variant: 0 clean and centred, others augmented (seeded)."""
    if variant == 0:
        return audio.clip_batch(waves)
    from ..corruptions import random_corruption

    data = RavdessDataset(
        frame,
        Augment(speed_prob=recipe.speed_prob, gain_db=0.0, noise_prob=0.0),
        seed=seed * 1000 + variant,
        waves=waves,
    )
    rng = np.random.default_rng(seed * 1000 + variant)
    clips = []
    for i in range(len(data)):
        clip = data[i][0].numpy()
        if recipe.corrupt:
            clip = random_corruption(clip, rng)
        clips.append(torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32)))
    return torch.stack(clips)


def cached_states(
    frame: pd.DataFrame,
    waves: List[np.ndarray],
    variant: int,
    recipe: HeadRecipe,
    n_layers: int,
    time_pool: int,
    seed: int,
) -> np.ndarray:
    """Encoder states of one variant of every clip, from the disk cache when it holds them.
    Keyed by the clip ids, or for a manifest's clips (which have a speaker column) by their full paths."""
    names = list(frame["path"]) if "speaker" in frame.columns else list(frame["id"])
    key = hashlib.sha256(
        repr(
            (
                names,
                variant,
                n_layers,
                time_pool,
                seed,
                recipe.speed_prob,
                recipe.corrupt,
                encoder.MODEL_SHA256,
                encoder.FEATURE_CONFIG,
            )
        ).encode()
    ).hexdigest()[:16]
    path = CACHE_DIR / f"{encoder.NAME}-v{variant}-{key}.npy"
    if path.is_file():
        return np.load(path, mmap_mode="r")
    states = encode_clips(
        variant_clips(frame, waves, variant, recipe, seed), n_layers, time_pool, desc=f"encoding variant {variant}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, states)
    tmp.replace(path)
    return np.load(path, mmap_mode="r")


def corpus_states(
    frame: pd.DataFrame,
    waves: List[np.ndarray],
    variant: int,
    recipe: HeadRecipe,
    n_layers: int,
    time_pool: int,
    seed: int,
    layers: List[int],
) -> np.ndarray:
    """cached_states of the head's layers, cached corpus by corpus when the frame has a corpus
    column, so a manifest of one corpus reuses what a joint manifest of two already encoded."""
    groups = frame.groupby("corpus", sort=False).indices if "corpus" in frame.columns else {"": np.arange(len(frame))}
    out = None
    for idx in groups.values():
        part = frame.iloc[idx].reset_index(drop=True)
        states = cached_states(part, [waves[i] for i in idx], variant, recipe, n_layers, time_pool, seed)[:, layers]
        if out is None:
            out = np.empty((len(frame),) + states.shape[1:], dtype=states.dtype)
        out[idx] = states
    return out


def _batch(bank: List[np.ndarray], idx: np.ndarray, variant: Optional[np.ndarray] = None) -> torch.Tensor:
    if variant is None:
        x = bank[0][idx]
    else:
        x = np.stack([bank[v][i] for i, v in zip(idx, variant)])
    return torch.from_numpy(np.asarray(x, dtype=np.float32))


def head_logits(model: EncoderHead, states: np.ndarray, idx: np.ndarray, batch: int = 128) -> torch.Tensor:
    """Logits of clips idx; states hold exactly the head's layers: (n, len(layers), T', D)."""
    model.eval()
    with torch.inference_mode():
        parts = [model(_batch([states], idx[i : i + batch]))[0] for i in range(0, len(idx), batch)]
    return torch.cat(parts) if parts else torch.zeros(0, model.config.n_classes)


def train_head(
    bank: List[np.ndarray],
    labels: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    config: HeadConfig,
    recipe: HeadRecipe,
    seed: int,
    desc: str = "head",
    draw: Optional[np.ndarray] = None,
    domains: Optional[np.ndarray] = None,
) -> tuple:
    """Train one head on cached states; bank[v] holds variant v of every clip, only the head's
    layers, shape = (n, len(config.layers), T', D); draw: each train_idx clip's probability of being
    drawn (balanced sampling) instead of every clip once per epoch. Validation uses
    the clean variant of val_idx; with recipe.select == "last" it chooses nothing.

    Returns (state_dict, info with per-epoch history, validation logits of the kept epoch and of
    the last one)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = EncoderHead(config)
    critic = None
    if recipe.adversary and domains is not None and len(np.unique(domains[train_idx])) > 1:
        width = model.fc.in_features
        critic = torch.nn.Sequential(
            torch.nn.Linear(width, 64), torch.nn.GELU(), torch.nn.Linear(64, int(domains.max()) + 1)
        )
        d = torch.as_tensor(domains, dtype=torch.long)
    params = list(model.parameters()) + (list(critic.parameters()) if critic is not None else [])
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = recipe.epochs * max(1, len(train_idx) // recipe.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps, pct_start=0.1)
    y = torch.tensor(np.asarray(labels), dtype=torch.long)
    history, best = [], dict(f1=-1.0, epoch=0, state=None, logits=None)
    bar = tqdm(range(1, recipe.epochs + 1), desc=desc, unit="epoch", leave=False)
    for epoch in bar:
        model.train()
        order = (
            rng.permutation(train_idx)
            if draw is None  # one epoch: every clip once, or drawn by weight
            else rng.choice(train_idx, size=len(train_idx), p=draw)
        )
        total, count = 0.0, 0
        for i in range(0, len(order) - recipe.batch_size + 1, recipe.batch_size):
            idx = order[i : i + recipe.batch_size]
            x = _batch(bank, idx, rng.integers(0, len(bank), len(idx)))
            if recipe.time_mask:
                x = _time_mask(x, recipe.time_mask, rng)
            if critic is None:
                loss = train_step(model, opt, x, y[idx])  # the CNN recipe's step: clipped at norm 5
            else:  # the reversal's weight ramps up over training (DANN's 2 / (1 + exp(-10 p)) - 1)
                ramp = 2.0 / (1.0 + np.exp(-10.0 * (epoch - 1 + i / len(order)) / recipe.epochs)) - 1.0
                loss = adversarial_step(model, critic, opt, x, y[idx], d[idx], recipe.adversary * ramp)
            sched.step()
            total += loss.item() * len(idx)
            count += len(idx)
        logits = head_logits(model, bank[0], val_idx)
        f1 = float(f1_score(labels[val_idx], logits.argmax(1).numpy(), average="macro")) if len(val_idx) else 0.0
        history.append(dict(epoch=epoch, loss=total / max(1, count), val_macro_f1=f1))
        if recipe.select == "best" and f1 > best["f1"]:
            best.update(f1=f1, epoch=epoch, logits=logits, state={k: v.clone() for k, v in model.state_dict().items()})
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", val_f1=f"{f1:.3f}")
    last_logits = logits
    if recipe.select == "best":
        state, logits, kept = best["state"], best["logits"], best["epoch"]
    else:
        state, kept = model.state_dict(), recipe.epochs
    info = dict(
        kept_epoch=kept,
        val_macro_f1=history[kept - 1]["val_macro_f1"],
        history=history,
        layer_weights=torch.softmax(model.layer_weights.detach(), 0).tolist(),
    )
    return {k: v.detach().clone() for k, v in state.items()}, info, logits, last_logits


class _Reverse(torch.autograd.Function):
    """Identity forward; the gradient times -scale backward (gradient reversal, Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def adversarial_step(model: EncoderHead, critic: torch.nn.Module, opt, x, y, domain, scale: float) -> torch.Tensor:
    """One step of emotion loss plus a corpus classifier's loss on the pooled vector through gradient
    reversal: the critic learns to tell the corpora apart, the head learns to make that hard."""
    emb = model.embed(x)
    loss = torch.nn.functional.cross_entropy(model.fc(model.drop(emb)), y, label_smoothing=model.config.label_smoothing)
    adv = torch.nn.functional.cross_entropy(critic(_Reverse.apply(emb, scale)), domain)
    opt.zero_grad()
    (loss + adv).backward()
    torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(critic.parameters()), 5.0)
    opt.step()
    return loss


def _time_mask(x: torch.Tensor, width: int, rng: np.random.Generator) -> torch.Tensor:
    """Zero two random spans of up to `width` steps per clip: x (B, L, T, D)."""
    t = x.shape[2]
    for b in range(len(x)):
        for _ in range(2):
            w = int(rng.integers(0, width + 1))
            s = int(rng.integers(0, max(1, t - w)))
            x[b, :, s : s + w] = 0.0
    return x


def train_head_folds(
    frame: pd.DataFrame,
    k: int,
    config: HeadConfig,
    recipe: HeadRecipe,
    seed: int,
    only_folds: Optional[List[int]] = None,
    nested: bool = False,
    cache_layers: Optional[int] = None,
    waves: Optional[List[np.ndarray]] = None,
) -> dict:
    """One head per speaker fold (`actor`: RAVDESS actor numbers or any speaker names) on cached encoder
    states, as emotion.training.cnn.train_folds returns (states, folds, oof); with nested=True also
    `ensemble_logits`: every held-out clip scored by the mean logits of k - 1 inner heads
    that never heard its actor (None where not computed)."""
    frame = frame.reset_index(drop=True)
    if waves is None:  # a manifest's frame comes with its audio, read while it was checked
        waves = load_waves(list(frame["path"]), desc="loading audio")
    n_layers = cache_layers or config.n_layers
    layers = list(config.layers)  # the head's layers of each variant, in memory
    bank = [
        corpus_states(frame, waves, v, recipe, n_layers, config.time_pool, seed, layers)
        for v in range(recipe.variants + 1)
    ]
    labels = frame["label"].to_numpy()
    speech = frame["channel"].eq("speech").to_numpy()
    folds = corpus_folds(frame, k)
    domains = pd.factorize(frame["corpus"])[0] if "corpus" in frame.columns else None
    fold_of = {a: i for i, f in enumerate(folds) for a in f}
    clip_fold = frame["actor"].map(fold_of).to_numpy()
    usable = speech | recipe.use_song
    states, infos, parts = [], [], []
    ensemble = np.full((len(frame), config.n_classes), np.nan, dtype=np.float32)
    for i, val_actors in enumerate(folds):
        if only_folds is not None and i not in only_folds:
            continue
        val_idx = np.flatnonzero((clip_fold == i) & speech)
        train_idx = np.flatnonzero((clip_fold != i) & usable)
        draw = sampling_weights(frame, train_idx, recipe.corpus_power) if recipe.balance else None
        state, info, logits, last = train_head(
            bank,
            labels,
            train_idx,
            val_idx,
            config,
            recipe,
            seed + i,
            desc=f"fold {i + 1}/{k}",
            draw=draw,
            domains=domains,
        )
        record, part = fold_outputs(frame, i, val_actors, train_idx, val_idx, info, logits, last)
        infos.append(record)
        states.append(state)
        parts.append(part)
        print(
            f"fold {i + 1}/{k}: held-out accuracy {np.mean(logits.argmax(1).numpy() == labels[val_idx]):.3f}"
            f"  layer weights {np.round(info['layer_weights'], 2).tolist()}"
        )
        if nested:
            inner = []
            for j in range(k):
                if j == i:
                    continue
                inner_train = np.flatnonzero((clip_fold != i) & (clip_fold != j) & usable)
                inner_draw = sampling_weights(frame, inner_train, recipe.corpus_power) if recipe.balance else None
                inner_state, *_ = train_head(
                    bank,
                    labels,
                    inner_train,
                    np.array([], dtype=int),
                    config,
                    recipe,
                    seed + 100 * (i + 1) + j,
                    desc=f"fold {i + 1} inner {j + 1}",
                    draw=inner_draw,
                )
                model = EncoderHead(config)
                model.load_state_dict(inner_state)
                inner.append(head_logits(model, bank[0], val_idx))
            ensemble[val_idx] = torch.stack(inner).mean(0).numpy()
    oof = pd.concat(parts).sort_values("id")
    result = dict(states=states, folds=infos, oof=oof)
    if nested:
        result["ensemble_logits"] = ensemble[frame.set_index("id").index.get_indexer(oof["id"])]
    return result

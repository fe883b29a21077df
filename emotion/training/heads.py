"""Training heads on the frozen Whisper-base encoder (python -m emotion.training.train --backbone whisper-base).

The encoder is frozen, so a head trains on its cached hidden states (emotion.training.encoder_cache:
the clean clip and recipe.variants augmented copies of it); each epoch draws one variant per clip.
The recipe is recipes.HeadRecipe, the fold loop folds.train_folds and the step step.train_step,
as for the CNN recipe, so the folds, out-of-fold scoring and files written are the same.

Calibration is fitted for the predictor as it ships, an average of fold heads: with nested folds,
each outer fold's actors are scored by the mean logits of inner heads that were trained without
them (each on the other outer folds minus one), and the temperature is fitted on those ensemble
logits (--calibrate nested). The shipped heads are the outer ones.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from tqdm import tqdm

from ..data.ravdess import load_waves
from ..model import EncoderHead, HeadConfig
from .corpora import sampling_weights
from .encoder_cache import corpus_states
from .folds import clip_folds, corpus_folds, train_folds, train_rows
from .recipes import HeadRecipe
from .step import adversarial_step, mix_labels, mixup, train_step


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
            targets = y[idx]
            corpora = d[idx] if critic is not None else None  # the adversary's targets
            if recipe.mixup:  # a mixed clip is lam of one corpus too: the critic reads that
                lam, other = _mix_draw(recipe.mixup, len(idx), rng)
                x, targets = mixup(x, targets, config.n_classes, lam, other)
                corpora = mix_labels(corpora, critic[-1].out_features, lam, other) if critic is not None else None
            if critic is None:
                loss = train_step(model, opt, x, targets)  # the CNN recipe's step too
            else:  # the reversal's weight ramps up over training (DANN's 2 / (1 + exp(-10 p)) - 1)
                ramp = 2.0 / (1.0 + np.exp(-10.0 * (epoch - 1 + i / len(order)) / recipe.epochs)) - 1.0
                loss = adversarial_step(model, critic, opt, x, targets, corpora, recipe.adversary * ramp)
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


def _mix_draw(alpha: float, n: int, rng: np.random.Generator) -> tuple:
    """One Beta(alpha, alpha) weight lam >= 0.5 per batch and a pairing of its n clips, drawn from the
    head's rng; the batch is drawn across corpora, so are the pairs."""
    lam = float(rng.beta(alpha, alpha))
    return max(lam, 1.0 - lam), torch.from_numpy(rng.permutation(n))


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
    """One head per speaker fold (folds.train_folds; `actor`: RAVDESS actor numbers or any speaker
    names) on cached encoder states: dict(states, folds, oof); with nested=True also
    `ensemble_logits`: every held-out clip scored by the mean logits of k - 1 inner heads that never
    heard its speaker (each trained on the other outer folds minus one; NaN where not computed)."""
    frame = frame.reset_index(drop=True)
    if waves is None:  # a manifest's frame comes with its audio, read while it was checked
        waves = load_waves(list(frame["path"]), desc="loading audio")
    bank = [
        corpus_states(frame, waves, v, recipe, config, seed=seed, n_layers=cache_layers)
        for v in range(recipe.variants + 1)
    ]
    labels = frame["label"].to_numpy()
    speech = frame["channel"].eq("speech").to_numpy()
    folds = corpus_folds(frame, k)
    clip_fold = clip_folds(frame, folds)
    domains = pd.factorize(frame["corpus"])[0] if "corpus" in frame.columns else None
    ensemble = np.full((len(frame), config.n_classes), np.nan, dtype=np.float32)

    def head(train_idx, val_idx, head_seed, desc, domains=None) -> tuple:
        draw = sampling_weights(frame, train_idx, recipe.corpus_power, recipe.balance_by) if recipe.balance else None
        return train_head(bank, labels, train_idx, val_idx, config, recipe, head_seed, desc, draw, domains)

    def inner_logits(i: int, j: int, val_idx: np.ndarray) -> torch.Tensor:
        """Logits of fold i's held-out clips from a head trained without folds i and j."""
        model = EncoderHead(config)
        inner_train, no_val = train_rows(clip_fold, speech, [i, j], recipe.use_song), np.array([], dtype=int)
        model.load_state_dict(head(inner_train, no_val, seed + 100 * (i + 1) + j, f"fold {i + 1} inner {j + 1}")[0])
        return head_logits(model, bank[0], val_idx)

    def fit(i: int, train_idx: np.ndarray, val_idx: np.ndarray, desc: str) -> tuple:
        state, info, logits, last = head(train_idx, val_idx, seed + i, desc, domains)
        print(
            f"fold {i + 1}/{k}: held-out accuracy {np.mean(logits.argmax(1).numpy() == labels[val_idx]):.3f}"
            f"  layer weights {np.round(info['layer_weights'], 2).tolist()}"
        )
        if nested:  # the k - 1 inner heads that never heard fold i's speakers, averaged
            ensemble[val_idx] = torch.stack([inner_logits(i, j, val_idx) for j in range(k) if j != i]).mean(0).numpy()
        return state, info, logits, last

    result = train_folds(frame, folds, fit, recipe.use_song, only_folds)
    if nested:
        result["ensemble_logits"] = ensemble[frame.set_index("id").index.get_indexer(result["oof"]["id"])]
    return result

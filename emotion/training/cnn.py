"""The CNN recipe: log-mel CNN-BiLSTM models trained from scratch, one per speaker fold
(recipes.CnnRecipe; the fold loop is folds.train_folds, the step step.train_step).

Used by python -m emotion.training.train (--backbone cnn, the default) and, to estimate a CNN
checkpoint's recipe out of fold, by python -m emotion.training.evaluate --folds K.
"""

from __future__ import annotations

import copy
from typing import List, Optional

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from torch.utils.data import DataLoader
from tqdm import tqdm

from .. import audio
from ..data.ravdess import load_waves
from ..model import EmotionNet, ModelConfig
from ..model.features import log_mel_spectrogram
from .data import ClipDataset, spec_augment
from .folds import corpus_folds, train_folds
from .recipes import CnnRecipe
from .step import mixup, train_step


def seed_everything(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)


def batch_logits(model: EmotionNet, waves: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Logits for fixed-length waves, shape = (n, n_classes); model in eval mode, no grad."""
    model.eval()
    outs = []
    with torch.inference_mode():
        for i in range(0, len(waves), batch_size):
            outs.append(model(log_mel_spectrogram(waves[i : i + batch_size]))[0])
    return torch.cat(outs) if outs else torch.zeros(0, model.config.n_classes)


def feature_stats(dataset: ClipDataset) -> tuple:
    """Per-mel-bin mean and std of the centred training clips (no augmentation)."""
    waves = audio.clip_batch(dataset.waves)
    mel = torch.cat([log_mel_spectrogram(waves[i : i + 128]) for i in range(0, len(waves), 128)])
    return mel.mean(dim=(0, 2)), mel.std(dim=(0, 2))


def train_model(
    train_set: ClipDataset,
    val_waves: torch.Tensor,
    val_labels: np.ndarray,
    config: ModelConfig,
    recipe: CnnRecipe,
    seed: int,
    device: str = "cpu",
    desc: str = "train",
) -> tuple:
    """Train one model; keep the epoch with the best validation macro-F1 (recipe.select="best") or
    the last epoch ("last": the validation actors then choose nothing, so their score is an
    unbiased estimate for new speakers). train_set brings its own augmentation (recipe.augment).

    recipe.ema > 0 keeps an exponential moving average of the weights (and BatchNorm statistics),
    updated after every step with this decay; the averaged model is the one validated and kept.
    recipe.bf16 runs the training forward pass under bfloat16 autocast (weights, optimizer and
    validation stay float32): about 1.3x faster on CPUs with AMX/AVX512-BF16.

    Returns (kept state_dict, info dict, validation logits of the kept epoch, of the last epoch).
    """
    epochs, lr, ema, select = recipe.epochs, recipe.lr, recipe.ema, recipe.select
    if select not in ("best", "last"):
        raise ValueError(f"select must be 'best' or 'last', not {select!r}")
    seed_everything(seed)
    model = EmotionNet(config)
    model.set_normalization(*feature_stats(train_set))
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    batch_size = min(recipe.batch_size, len(train_set))  # a tiny training set still makes one batch
    loader = DataLoader(
        train_set, batch_size=batch_size, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(seed)
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(loader), pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    aug = train_set.augment
    averaged = None
    if ema > 0:
        averaged = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(ema), use_buffers=True
        )
    best = dict(f1=-1.0, epoch=0, state=None, logits=None)
    history = []
    bar = tqdm(range(1, epochs + 1), desc=desc, unit="epoch")
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for waves, labels in loader:
            mel = log_mel_spectrogram(waves.to(device))  # computed where the model trains
            if aug is not None:
                mel = spec_augment(mel, aug, gen)
            targets = labels
            if aug is not None and aug.mixup_alpha > 0:
                lam = float(np.random.beta(aug.mixup_alpha, aug.mixup_alpha))
                perm = torch.randperm(len(mel), generator=gen)
                mel, targets = mixup(mel, labels, config.n_classes, lam, perm)
            loss = train_step(model, opt, mel, targets, device, recipe.bf16)
            sched.step()
            if averaged is not None:
                averaged.update_parameters(model)
            total += loss.item() * len(labels)
            count += len(labels)
        kept = model if averaged is None else averaged.module
        logits = batch_logits(kept, val_waves.to(device)).cpu()
        f1 = f1_score(val_labels, logits.argmax(1).numpy(), average="macro") if len(val_labels) else 0.0
        history.append(dict(epoch=epoch, loss=total / max(count, 1), val_macro_f1=float(f1)))
        if averaged is not None:  # the raw weights' score too, for comparison
            raw = batch_logits(model, val_waves.to(device)).cpu().argmax(1).numpy()
            history[-1]["raw_val_macro_f1"] = (
                float(f1_score(val_labels, raw, average="macro")) if len(val_labels) else 0.0
            )
        if f1 > best["f1"]:
            best.update(
                f1=float(f1),
                epoch=epoch,
                logits=logits,  # the weights only if they will be kept
                state=copy.deepcopy(kept.state_dict()) if select == "best" else None,
            )
        bar.set_postfix(loss=f"{total / max(count, 1):.3f}", val_f1=f"{f1:.3f}", best=f"{best['f1']:.3f}")
    last_logits = logits
    info = dict(best_epoch=best["epoch"], best_val_macro_f1=best["f1"], history=history)
    if select == "last":
        state, logits = kept.state_dict(), last_logits
        info.update(kept_epoch=epochs, val_macro_f1=float(history[-1]["val_macro_f1"]))
    else:
        state, logits = best["state"], best["logits"]
        info.update(kept_epoch=best["epoch"], val_macro_f1=best["f1"])
    state = {k: v.detach().cpu().clone() for k, v in state.items()}
    return state, info, logits, last_logits


def train_cnn_folds(
    frame: pd.DataFrame,
    k: int,
    config: ModelConfig,
    recipe: CnnRecipe,
    seed: int,
    device: str = "cpu",
    only_folds: Optional[List[int]] = None,
) -> dict:
    """One model per speaker fold (folds.train_folds): fold i trains with seed + i. Validation and
    out-of-fold predictions use speech only. Returns dict(states, folds, oof) as train_folds does."""
    frame = frame.reset_index(drop=True)
    waves = load_waves(list(frame["path"]), desc="loading audio")
    labels = frame["label"].to_numpy()

    def fit(i: int, train_idx: np.ndarray, val_idx: np.ndarray, desc: str) -> tuple:
        train_set = ClipDataset(
            frame.iloc[train_idx], recipe.augment, seed=seed + i, waves=[waves[j] for j in train_idx]
        )
        val_waves = audio.clip_batch([waves[j] for j in val_idx])
        return train_model(train_set, val_waves, labels[val_idx], config, recipe, seed + i, device, desc=desc)

    return train_folds(frame, corpus_folds(frame, k), fit, recipe.use_song, only_folds)

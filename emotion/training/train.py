"""Speaker-independent training: one model per actor fold, packed into one checkpoint.

    python -m emotion.training.train --data-dir ../shared/data/ravdess --folds 5 --out checkpoints/emotion.pt

Actors 01-20 are split into K folds of consecutive actors. Model k trains on the other folds
(speech, plus song unless --no-song) and is kept at its last epoch (--select last, the shipped
recipe) or at its best epoch by macro-F1 on its held-out actors' speech (--select best), so every
speech clip gets an out-of-fold prediction from a model that never heard its speaker. The
checkpoint holds all K models (the shipped predictor averages them), a temperature fitted on the
out-of-fold logits, and the split; checkpoints/metrics.json and
checkpoints/oof_predictions.csv hold the out-of-fold results.

Folds can also be trained by separate processes (--only-folds K, e.g. side by side on a GPU with
--device cuda) and packed afterwards:

    python -m emotion.training.train --data-dir DIR --merge runs/f0/emotion.pt runs/f1/emotion.pt ... --out OUT.pt

Any labelled corpus, from a manifest (emotion.training.manifest: path,label,speaker[,split]):
Whisper-base heads, any 2-30 labels (RAVDESS's eight in their order, else sorted, or --labels),
speaker-grouped folds (min(5, speakers) unless --folds), the same out-of-fold report and calibration:

    python -m emotion.training.train --manifest corpus.csv --out runs/mine/emotion.pt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from ..data.ravdess import index_dataset
from ..labels import EMOTIONS
from ..model import HeadConfig, ModelConfig
from ..model import backbone as backbones
from . import program
from .cnn import train_cnn_folds
from .data import Augment
from .recipes import CnnRecipe, HeadRecipe
from .runs import merge_parts, write_run

PROG = "python -m emotion.training.train"


def parser() -> argparse.ArgumentParser:
    ap = program("train", __doc__)
    _data_args(ap.add_argument_group("data and run"))
    recipe_args(ap.add_argument_group("recipe (both backbones)"))
    _cnn_args(ap.add_argument_group("cnn"))
    head_args(ap.add_argument_group("whisper-base"))
    return ap


def _data_args(ap) -> None:
    ap.add_argument("--data-dir", help="RAVDESS folder (speech/ and song/, or Actor_XX/)")
    ap.add_argument("--manifest", help="instead of --data-dir: a CSV of path,label,speaker[,split] (any corpus)")
    ap.add_argument("--labels", help="with --manifest: the label order, comma-separated (default: sorted)")
    ap.add_argument("--out", default="checkpoints/emotion.pt")
    ap.add_argument("--folds", type=int, help="speaker folds, one model each (default 5; --manifest: min(5, speakers))")
    ap.add_argument(
        "--actors",
        type=int,
        nargs="*",
        default=list(range(1, 21)),
        help="actors to use (default 1-20; 21-24 are the blind test)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--only-folds", type=int, nargs="*", help="train only these folds (experiments)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    ap.add_argument(
        "--merge",
        nargs="+",
        metavar="PART_PT",
        help="instead of training: pack these --only-folds checkpoints (one recipe, each fold "
        "once) into --out, scoring each fold model on its held-out actors in --data-dir",
    )


def recipe_args(ap) -> None:
    ap.add_argument(
        "--backbone",
        choices=list(backbones.BACKBONES),
        default=backbones.DEFAULT,
        help="cnn: the log-mel CNN-BiLSTM trained from scratch; whisper-base: BiLSTM heads on the "
        "frozen Whisper-base encoder (emotion.training.heads)",
    )
    ap.add_argument(
        "--epochs", type=int, help=f"default {CnnRecipe.epochs} (cnn) or {HeadRecipe.epochs} (whisper-base)"
    )
    ap.add_argument("--lr", type=float, help=f"default {CnnRecipe.lr:g} (cnn) or {HeadRecipe.lr:g} (whisper-base)")
    ap.add_argument("--batch-size", type=int, help=f"default {CnnRecipe.batch_size}")
    ap.add_argument("--mixup", type=float, default=HeadRecipe.mixup, help="Beta(a, a) mixup (log-mels, states)")
    ap.add_argument("--no-song", action="store_true", help="train on speech only")
    ap.add_argument("--lstm-hidden", type=int, help="LSTM units per direction (default 64)")
    ap.add_argument("--dropout", type=float, default=ModelConfig.dropout, help="dropout before the FC layer")
    ap.add_argument(
        "--utterance-norm", action="store_true", help="remove each clip's mean: of its mel bins (cnn) or states"
    )
    ap.add_argument(
        "--select",
        choices=["best", "last"],
        help="keep each fold's best epoch by held-out macro-F1, or its last epoch (no selection "
        "on the held-out actors: an unbiased out-of-fold score); default best, last with --manifest",
    )


def _cnn_args(ap) -> None:
    ap.add_argument("--channels", type=int, nargs=4, default=list(ModelConfig.channels))
    ap.add_argument("--pool-first", action="store_true", help="Conv -> MaxPool -> BN -> GELU in each block (faster)")
    ap.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the training forward pass (faster)")
    ap.add_argument("--ema", type=float, default=CnnRecipe.ema, help="weight EMA decay per step (0 = off)")
    ap.add_argument("--speed-prob", type=float, default=Augment.speed_prob, help="speed perturbation probability")
    ap.add_argument("--noise-prob", type=float, default=Augment.noise_prob, help="added-noise probability")


def head_args(ap) -> None:
    ap.add_argument(
        "--layers",
        type=int,
        nargs="+",
        default=list(HeadConfig.layers),
        help="encoder states mixed by the head (0 = input embedding, 1-6 blocks)",
    )
    ap.add_argument("--variants", type=int, default=HeadRecipe.variants, help="augmented copies per clip (cached)")
    ap.add_argument("--no-corrupt", action="store_true", help="no noise/reverb/telephone on the copies")
    ap.add_argument("--warp", type=float, default=HeadRecipe.warp, help="copies' pitch, tempo apart: 1 +- this")
    ap.add_argument(
        "--cache-layers",
        type=int,
        help="experiments: cache states up to this block (default the deepest of --layers), "
        "so runs with other --layers reuse the cache",
    )
    ap.add_argument("--stats-pool", action="store_true", help="mean+std pooling beside the LSTM's")
    ap.add_argument("--proj-dim", type=int, default=HeadConfig.proj_dim, help="width before the LSTM")
    ap.add_argument(
        "--balance",
        action="store_true",
        help="draw clips so that labels, and the corpora of a manifest with a corpus column, are balanced "
        "(emotion.training.corpora)",
    )
    ap.add_argument(
        "--corpus-power", type=float, default=HeadRecipe.corpus_power, help="with --balance: share ~ n ** this"
    )
    ap.add_argument(
        "--balance-by", choices=["clips", "speakers"], default=HeadRecipe.balance_by, help="with --balance: n counts"
    )
    ap.add_argument(
        "--adversary",
        type=float,
        default=HeadRecipe.adversary,
        help="a manifest with a corpus column: weight of a corpus classifier behind gradient reversal",
    )
    ap.add_argument(
        "--calibrate",
        choices=["oof", "nested"],
        default="oof",
        help="oof: temperature on single-head out-of-fold logits; nested: on the mean logits of inner "
        "heads that never heard the clip's actor, i.e. the predictor as shipped (k x more heads)",
    )


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = parser()
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if bool(args.data_dir) == bool(args.manifest):
        ap.error("give either --data-dir (RAVDESS) or --manifest (any corpus)")
    args.select = args.select or ("last" if args.manifest else "best")
    command = f"{PROG} {' '.join(argv)}"
    if args.manifest:
        return _train_manifest(args, "--backbone" in argv, command)
    args.folds = args.folds or 5
    if args.merge:
        return _merge(args, command)
    frame = index_dataset(args.data_dir)
    frame = frame[frame["actor"].isin(args.actors)]
    if frame.empty:
        print(f"No RAVDESS clips of actors {args.actors} under {args.data_dir}", file=sys.stderr)
        return 1
    if backbones.by_name(args.backbone).trained_from_scratch:
        return _train_cnn(args, frame, command)
    return _train_heads(args, frame, command, EMOTIONS)  # RAVDESS's labels, its emotion codes' order


def _shared(config_class, args, **own):
    """A model's dataclass: the flags both backbones share (--lstm-hidden, --dropout, --utterance-norm), and its own."""
    shared = dict(lstm_hidden=args.lstm_hidden or config_class.lstm_hidden, dropout=args.dropout)
    return config_class(**shared, utterance_norm=args.utterance_norm, **own)


def _recipe(recipe_class, args, **own):
    """A recipe: the flags both backbones share (--epochs, --lr, --batch-size: the recipe's defaults
    unless given; --select, --no-song), and its own."""
    return recipe_class(
        epochs=args.epochs or recipe_class.epochs,
        lr=args.lr or recipe_class.lr,
        batch_size=args.batch_size or recipe_class.batch_size,
        select=args.select,
        use_song=not args.no_song,
        **own,
    )


def _merge(args, command: str) -> int:
    """--merge: pack fold parts trained by separate --only-folds runs into one checkpoint."""
    try:
        result, run = merge_parts(args.merge, args.data_dir)
    except ValueError as exc:
        print(f"Cannot merge: {exc}", file=sys.stderr)
        return 1
    run["command"] += " && " + command
    write_run(result, out=Path(args.out), k=len(result["states"]), **run)
    return 0


def _train_cnn(args, frame: pd.DataFrame, command: str) -> int:
    """--backbone cnn (the default) on a RAVDESS folder."""
    own = dict(channels=tuple(args.channels), pool_first=args.pool_first)
    config = _shared(ModelConfig, args, **own)
    augment = Augment(mixup_alpha=args.mixup, speed_prob=args.speed_prob, noise_prob=args.noise_prob)
    recipe = _recipe(CnnRecipe, args, ema=args.ema, bf16=args.bf16, augment=augment)
    t0 = time.time()
    result = train_cnn_folds(frame, args.folds, config, recipe, args.seed, args.device, args.only_folds)
    record = dict(recipe.to_dict(), folds=args.folds)
    minutes = (time.time() - t0) / 60
    write_run(result, config, record, command, args.seed, Path(args.out), minutes, args.folds, EMOTIONS)
    return 0


def _train_manifest(args, backbone_given: bool, command: str) -> int:
    """--manifest: Whisper-base heads on any corpus and label set."""
    from .folds import default_folds
    from .manifest import ManifestError, read_manifest

    if backbones.by_name(args.backbone).trained_from_scratch and backbone_given:
        print(f"--manifest trains Whisper-base heads (--backbone {backbones.WhisperBase.name})", file=sys.stderr)
        return 1
    args.backbone = backbones.WhisperBase.name
    try:
        frame, labels, waves = read_manifest(args.manifest, args.labels.split(",") if args.labels else None)
        speakers = frame.loc[frame["channel"] == "speech", "speaker"].nunique()
        args.folds = args.folds or default_folds(speakers)
        if not 2 <= args.folds <= speakers:
            raise ManifestError(f"--folds must be between 2 and the {speakers} speakers of the manifest.")
    except ManifestError as exc:
        print(f"Cannot train on {args.manifest}: {exc}", file=sys.stderr)
        return 1
    counts = frame.groupby("emotion").size()
    print(
        f"{len(frame)} clips, {speakers} speakers, {args.folds} speaker folds; labels (model order): "
        + ", ".join(f"{name} ({counts[name]})" for name in labels)
    )
    return _train_heads(args, frame, command, labels, waves=waves, corpus=Path(args.manifest).name)


def head_setup(args, n_labels: int) -> tuple:
    """(HeadConfig, HeadRecipe) of the parsed recipe and whisper-base flags, for n_labels labels."""
    own = dict(n_classes=n_labels, layers=tuple(args.layers), proj_dim=args.proj_dim, stats_pool=args.stats_pool)
    config = _shared(HeadConfig, args, **own)
    recipe = _recipe(
        HeadRecipe,
        args,
        variants=args.variants,
        corrupt=not args.no_corrupt,
        balance=args.balance,
        corpus_power=args.corpus_power,
        balance_by=args.balance_by,
        adversary=args.adversary,
        mixup=args.mixup,
        warp=args.warp,
    )
    return config, recipe


def _train_heads(args, frame: pd.DataFrame, command: str, labels, waves=None, corpus: str = "") -> int:
    """--backbone whisper-base: heads on the frozen encoder, for the given label list."""
    from .heads import train_head_folds

    config, recipe = head_setup(args, len(labels))
    t0 = time.time()
    nested = args.calibrate == "nested"
    result = train_head_folds(
        frame, args.folds, config, recipe, args.seed, args.only_folds, nested, args.cache_layers, waves
    )
    record = dict(recipe.to_dict(), folds=args.folds, calibrate=args.calibrate, backbone=args.backbone)
    minutes = (time.time() - t0) / 60
    write_run(result, config, record, command, args.seed, Path(args.out), minutes, args.folds, labels, corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())

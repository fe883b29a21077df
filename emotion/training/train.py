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
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch

from ..labels import EMOTIONS
from ..model import HeadConfig, ModelConfig
from ..ravdess import index_dataset
from .cnn import train_folds
from .data import Augment
from .runs import merge_parts, write_run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m emotion.training.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--data-dir", help="RAVDESS folder (speech/ and song/, or Actor_XX/)")
    ap.add_argument(
        "--manifest",
        help="instead of --data-dir: a CSV of path,label,speaker[,split] "
        "(any corpus and label set; Whisper-base heads)",
    )
    ap.add_argument("--labels", help="with --manifest: the label order, comma-separated (default: sorted)")
    ap.add_argument("--out", default="checkpoints/emotion.pt")
    ap.add_argument(
        "--folds",
        type=int,
        help="speaker folds, one model each (default 5; with --manifest min(5, number of speakers))",
    )
    ap.add_argument(
        "--actors",
        type=int,
        nargs="*",
        default=list(range(1, 21)),
        help="actors to use (default 1-20; 21-24 are the blind test)",
    )
    ap.add_argument(
        "--backbone",
        choices=["cnn", "whisper-base"],
        default="cnn",
        help="cnn: the log-mel CNN-BiLSTM trained from scratch; whisper-base: BiLSTM heads on the "
        "frozen Whisper-base encoder (emotion.training.heads)",
    )
    ap.add_argument("--epochs", type=int, help="default 60 (cnn) or 30 (whisper-base)")
    ap.add_argument("--lr", type=float, help="default 3e-3 (cnn) or 1e-3 (whisper-base)")
    ap.add_argument(
        "--layers",
        type=int,
        nargs="+",
        default=list(HeadConfig.layers),
        help="whisper-base: encoder states mixed by the head (0 = input embedding, 1-6 blocks)",
    )
    ap.add_argument("--variants", type=int, default=4, help="whisper-base: augmented copies per clip (cached)")
    ap.add_argument("--no-corrupt", action="store_true", help="whisper-base: no noise/reverb/telephone on the copies")
    ap.add_argument(
        "--cache-layers",
        type=int,
        help="whisper-base experiments: cache states up to this block "
        "(default the deepest of --layers), so runs with other --layers reuse the cache",
    )
    ap.add_argument("--stats-pool", action="store_true", help="whisper-base: mean+std pooling beside the LSTM's")
    ap.add_argument(
        "--balance",
        action="store_true",
        help="whisper-base: draw clips so that labels, and the "
        "corpora of a manifest with a corpus column, are balanced (emotion.training.corpora)",
    )
    ap.add_argument("--corpus-power", type=float, default=0.5, help="with --balance: corpus share ~ clips ** this")
    ap.add_argument(
        "--adversary",
        type=float,
        default=0.0,
        help="whisper-base, a manifest with a corpus column: "
        "weight of a corpus classifier behind gradient reversal (corpus-adversarial training)",
    )
    ap.add_argument("--proj-dim", type=int, default=HeadConfig.proj_dim, help="whisper-base: width before the LSTM")
    ap.add_argument(
        "--calibrate",
        choices=["oof", "nested"],
        default="oof",
        help="oof: temperature on single-head out-of-fold logits; nested: on the mean logits of inner "
        "heads that never heard the clip's actor, i.e. the predictor as shipped (k x more heads)",
    )
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
    ap.add_argument(
        "--select",
        choices=["best", "last"],
        help="keep each fold's best epoch by held-out macro-F1, or its last epoch (no selection "
        "on the held-out actors: an unbiased out-of-fold score); default best, last with --manifest",
    )
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    ap.add_argument(
        "--merge",
        nargs="+",
        metavar="PART_PT",
        help="instead of training: pack these --only-folds checkpoints (one recipe, each fold "
        "once) into --out, scoring each fold model on its held-out actors in --data-dir",
    )
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if bool(args.data_dir) == bool(args.manifest):
        ap.error("give either --data-dir (RAVDESS) or --manifest (any corpus)")
    args.select = args.select or ("last" if args.manifest else "best")
    if args.manifest:
        return _main_manifest(args, argv)
    args.folds = args.folds or 5

    if args.merge:
        try:
            result, config, recipe, seed, command, minutes = merge_parts(args.merge, args.data_dir)
        except ValueError as exc:
            print(f"Cannot merge: {exc}", file=sys.stderr)
            return 1
        command += " && python -m emotion.training.train " + " ".join(sys.argv[1:] if argv is None else argv)
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
    config = ModelConfig(
        channels=tuple(args.channels),
        lstm_hidden=args.lstm_hidden or ModelConfig.lstm_hidden,
        dropout=args.dropout,
        utterance_norm=args.utterance_norm,
        pool_first=args.pool_first,
    )
    augment = Augment(mixup_alpha=args.mixup, speed_prob=args.speed_prob, noise_prob=args.noise_prob)
    t0 = time.time()
    result = train_folds(
        frame,
        args.folds,
        config,
        args.epochs,
        args.lr,
        args.batch_size,
        args.seed,
        args.device,
        use_song=not args.no_song,
        augment=augment,
        only_folds=args.only_folds,
        ema=args.ema,
        bf16=args.bf16,
        select=args.select,
    )
    command = "python -m emotion.training.train " + " ".join(sys.argv[1:] if argv is None else argv)
    recipe = dict(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        ema=args.ema,
        bf16=args.bf16,
        select=args.select,
        use_song=not args.no_song,
        augment=asdict(augment),
        folds=args.folds,
    )
    write_run(result, config, recipe, command, args.seed, Path(args.out), (time.time() - t0) / 60, args.folds)
    return 0


def _main_manifest(args, argv) -> int:
    from .corpora import default_folds
    from .manifest import ManifestError, read_manifest

    if args.backbone == "cnn" and "--backbone" in (sys.argv[1:] if argv is None else argv):
        print("--manifest trains Whisper-base heads (--backbone whisper-base)", file=sys.stderr)
        return 1
    args.backbone = "whisper-base"
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
    return _main_head(args, frame, argv, labels=labels, waves=waves, corpus=Path(args.manifest).name)


def _main_head(args, frame: pd.DataFrame, argv, labels=None, waves=None, corpus: str = "") -> int:
    from .heads import HeadRecipe, train_head_folds

    labels = list(labels or EMOTIONS)
    config = HeadConfig(
        n_classes=len(labels),
        layers=tuple(args.layers),
        proj_dim=args.proj_dim,
        lstm_hidden=args.lstm_hidden or HeadConfig.lstm_hidden,
        dropout=args.dropout,
        stats_pool=args.stats_pool,
    )
    recipe = HeadRecipe(
        epochs=args.epochs or HeadRecipe.epochs,
        lr=args.lr or HeadRecipe.lr,
        batch_size=args.batch_size,
        variants=args.variants,
        corrupt=not args.no_corrupt,
        use_song=not args.no_song,
        select=args.select,
        balance=args.balance,
        corpus_power=args.corpus_power,
        adversary=args.adversary,
    )
    t0 = time.time()
    result = train_head_folds(
        frame,
        args.folds,
        config,
        recipe,
        args.seed,
        only_folds=args.only_folds,
        nested=args.calibrate == "nested",
        cache_layers=args.cache_layers,
        waves=waves,
    )
    command = "python -m emotion.training.train " + " ".join(sys.argv[1:] if argv is None else argv)
    write_run(
        result,
        config,
        dict(asdict(recipe), folds=args.folds, calibrate=args.calibrate, backbone=args.backbone),
        command,
        args.seed,
        Path(args.out),
        (time.time() - t0) / 60,
        args.folds,
        labels=labels,
        corpus=corpus,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

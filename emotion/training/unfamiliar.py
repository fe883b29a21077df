"""Fit, measure and store how familiar a recording sounds to a checkpoint (emotion.model.familiarity).

    # 1. a checkpoint's own clips, out of fold, and a corpus it never heard (rows written to --out)
    python -m emotion.training.unfamiliar score --checkpoint checkpoints/ravdess-only/emotion.pt \
        --train runs/corpora/joint.csv --corpus ravdess --foreign runs/corpora/emodb-test.csv \
        --out docs/unfamiliar/ravdess-to-emodb.csv
    # 2. fit the tempering on such tables, report, and store it all in a checkpoint
    python -m emotion.training.unfamiliar store --checkpoint checkpoints/emotion.pt \
        --train runs/corpora/joint.csv --tables docs/unfamiliar/*-to-*.csv --out docs/unfamiliar/summary.json
    # 3. the tempering checked leaving one corpus out: gamma fitted on the other tables, reported on each
    python -m emotion.training.unfamiliar loco --tables docs/loco/tables/*.csv --out docs/loco/tempering.json

The familiar region is fitted on the pooled encoder states of the clips the checkpoint trained on
(clean, prepared as the predictor prepares them). The threshold is the 95th percentile of
out-of-fold distances: each fold's held-out speakers measured against statistics fitted without
them, so it is the distance of a new speaker from a known corpus, not of a clip the model heard.
The tempering exponent gamma is fitted (negative log-likelihood) on tables of step 1 where a
model meets a corpus held out of its training altogether, beside its own out-of-fold clips.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.covariance import LedoitWolf
from sklearn.decomposition import PCA
from tqdm import tqdm

from .. import audio
from ..evaluation.scoring import scoring_models
from ..labels import speaker_key
from ..model import checkpoint as checkpoint_format
from ..model.familiarity import Familiarity, pooled
from ..predictor import Predictor
from . import program
from .manifest import read_audio, read_manifest

COMPONENTS = 32  # principal components kept (of 4 x 512 pooled values)
QUANTILE = 0.95  # out-of-fold clips below the threshold
CONFIDENT = 0.7  # "a confident answer" in the reports
GAMMAS = np.round(np.arange(0.0, 8.01, 0.25), 2)


def encode(predictor: Predictor, waves: List[np.ndarray], batch: int = 16) -> tuple:
    """(pooled states (n, F), every fold model's logits (n, models, labels)) of the clean clips."""
    feats, logits = [], []
    with torch.inference_mode():
        for i in tqdm(range(0, len(waves), batch), desc="encoding", leave=False):
            mel = predictor.features(audio.clip_batch(waves[i : i + batch]))
            x = predictor.models[0].select(predictor.states(mel))
            feats.append(pooled(x).numpy())
            logits.append(torch.stack([m(x)[0] for m in predictor.models], dim=1).numpy())
    return np.concatenate(feats), np.concatenate(logits)


def fit(features: np.ndarray, threshold: float = float("inf")) -> Familiarity:
    """PCA then a Ledoit-Wolf shrunk covariance of the coordinates."""
    pca = PCA(n_components=min(COMPONENTS, len(features) - 1), random_state=0).fit(features)
    cov = LedoitWolf().fit(pca.transform(features))
    return Familiarity(
        mean=torch.tensor(pca.mean_, dtype=torch.float32),
        components=torch.tensor(pca.components_, dtype=torch.float32),
        precision=torch.tensor(cov.precision_, dtype=torch.float32),
        threshold=threshold,
    )


def _distance(fam: Familiarity, features: np.ndarray) -> np.ndarray:
    z = (torch.as_tensor(features) - fam.mean) @ fam.components.T
    return torch.einsum("bk,kl,bl->b", z, fam.precision, z).clamp(min=0).sqrt().numpy()


def out_of_fold(predictor: Predictor, frame: pd.DataFrame, features: np.ndarray) -> tuple:
    """(threshold, out-of-fold distance of every speech clip (NaN elsewhere), fold model per clip)."""
    speakers = frame["actor"].map(speaker_key).to_numpy()
    folds = [{speaker_key(a) for a in f["val_actors"]} for f in predictor.folds[: len(predictor.models)]]
    dist = np.full(len(frame), np.nan)
    fold_of = np.full(len(frame), -1)
    speech = frame["channel"].eq("speech").to_numpy()
    for k, held in enumerate(folds):
        out = np.isin(speakers, list(held))
        fold_of[out] = k
        dist[out & speech] = _distance(fit(features[~out]), features[out & speech])
    return float(np.nanquantile(dist, QUANTILE)), dist, fold_of


def _rows(role, frame, labels, logits, dist, fam, temperature) -> pd.DataFrame:
    table = pd.DataFrame(
        dict(
            role=role,
            id=frame["id"].to_numpy(),
            speaker=frame["actor"].astype(str).to_numpy(),
            emotion=frame["emotion"].to_numpy(),
            label=[labels.index(e) for e in frame["emotion"]],
            distance=np.round(dist, 3),
            threshold=round(fam.threshold, 3),
            temperature=round(temperature, 4),
        )
    )
    for j, name in enumerate(labels):
        table[f"logit_{name}"] = np.round(logits[:, j], 4)
    return table


def score(checkpoint: str, train: str, corpus: Optional[str], foreign: Optional[str]) -> tuple:
    """The Familiarity of a checkpoint (threshold from out-of-fold distances; gamma 0) and the rows
    of its out-of-fold clips and of a foreign manifest's (split=test) clips with their raw logits."""
    from .evaluate import manifest_rows

    predictor = Predictor.from_checkpoint(checkpoint)
    labels = list(predictor.labels)
    frame, _, waves = read_manifest(train)
    if corpus:
        keep = (frame["corpus"] == corpus).to_numpy()
        frame, waves = frame[keep].reset_index(drop=True), [w for w, k in zip(waves, keep) if k]
    features, logits = encode(predictor, waves)
    threshold, dist, fold_of = out_of_fold(predictor, frame, features)
    fam = fit(features, threshold)
    speech = frame["channel"].eq("speech").to_numpy() & (fold_of >= 0)
    oof_logits = logits[np.flatnonzero(speech), fold_of[speech]]
    tables = [_rows("oof", frame[speech], labels, oof_logits, dist[speech], fam, predictor.temperature)]
    if foreign:
        other = manifest_rows(foreign, labels, "test")
        unseen = [scoring_models(predictor, a) == () for a in other["actor"]]
        if not all(unseen):
            raise ValueError(f"{foreign}: some speakers were heard in training; a foreign corpus must be unheard")
        other["channel"] = "speech"
        f_features, f_logits = encode(predictor, read_audio(other))
        tables.append(
            _rows(
                "foreign", other, labels, f_logits.mean(axis=1), _distance(fam, f_features), fam, predictor.temperature
            )
        )
    return fam, pd.concat(tables, ignore_index=True)


def probabilities(table: pd.DataFrame, gamma: float) -> np.ndarray:
    logits = table.filter(like="logit_").to_numpy(float)
    temper = np.maximum(1.0, table["distance"].to_numpy() / table["threshold"].to_numpy()) ** gamma
    z = logits / (table["temperature"].to_numpy() * temper)[:, None]
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def report(table: pd.DataFrame, gamma: float) -> dict:
    """Per role: accuracy, share flagged unfamiliar and their accuracy, confident answers before
    and after tempering and how often they are right."""
    out = {}
    for role, part in table.groupby("role"):
        y = part["label"].to_numpy()
        p0, p1 = probabilities(part, 0.0), probabilities(part, gamma)
        right = p0.argmax(1) == y
        flag = part["distance"].to_numpy() > part["threshold"].to_numpy()
        out[role] = dict(
            n=len(part),
            accuracy=round(float(right.mean()), 4),
            unfamiliar_share=round(float(flag.mean()), 4),
            unfamiliar_accuracy=round(float(right[flag].mean()), 4) if flag.any() else None,
            familiar_accuracy=round(float(right[~flag].mean()), 4) if (~flag).any() else None,
        )
        for name, p in (("raw", p0), ("tempered", p1)):
            sure = p.max(1) >= CONFIDENT
            out[role][f"confident_share_{name}"] = round(float(sure.mean()), 4)
            out[role][f"confident_accuracy_{name}"] = round(float(right[sure].mean()), 4) if sure.any() else None
    return out


def fit_gamma(tables: Sequence[pd.DataFrame]) -> float:
    """The exponent minimising the mean negative log-likelihood over every row of every table."""

    def nll(g):
        return np.mean(
            [-np.log(probabilities(t, g)[np.arange(len(t)), t["label"].to_numpy()] + 1e-12).mean() for t in tables]
        )

    return float(min(GAMMAS, key=nll))


def leave_one_table_out(tables: Dict[str, pd.DataFrame]) -> dict:
    """Each table's corpus as the one never heard: gamma fitted on the other tables (NLL), and the
    held-out table's report under it (its foreign rows)."""
    out = {}
    for name, table in tables.items():
        gamma = fit_gamma([t for k, t in tables.items() if k != name])
        out[name] = dict(gamma=gamma, **report(table[table["role"] == "foreign"], gamma)["foreign"])
    return out


def main(argv: Sequence[str] = None) -> int:
    ap = program("unfamiliar", __doc__)
    ap.add_argument("step", choices=["score", "store", "loco"])
    ap.add_argument("--checkpoint", help="score, store: the checkpoint")
    ap.add_argument("--train", help="score, store: the manifest the checkpoint trained on")
    ap.add_argument("--corpus", help="only the rows of this corpus of --train (the checkpoint's own)")
    ap.add_argument("--foreign", help="score: a manifest of a corpus the checkpoint never heard (split=test rows)")
    ap.add_argument("--tables", nargs="*", default=[], help="store: tables written by score, to fit gamma on")
    ap.add_argument("--out", required=True, help="score: the table (CSV); store: the report (JSON)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.step == "loco":
        result = leave_one_table_out({Path(t).stem: pd.read_csv(t) for t in args.tables})
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result, indent=1))
        return 0
    if not (args.checkpoint and args.train):
        ap.error(f"{args.step} needs --checkpoint and --train")
    try:
        fam, table = score(args.checkpoint, args.train, args.corpus, args.foreign if args.step == "score" else None)
    except (ValueError, checkpoint_format.CheckpointError) as exc:  # ManifestError is a ValueError
        print(f"Cannot score: {exc}", file=sys.stderr)
        return 1
    if args.step == "score":
        table.to_csv(out, index=False)
        print(json.dumps(report(table, 0.0), indent=1))
        return 0
    tables = {Path(t).stem: pd.read_csv(t) for t in args.tables}
    fam.gamma = fit_gamma(list(tables.values())) if tables else 0.0
    right = []  # table by table: each model has its own label columns
    for t in tables.values():
        flagged = t[(t["role"] == "foreign") & (t["distance"] > t["threshold"])].dropna(axis=1, how="all")
        right.extend(probabilities(flagged, 0.0).argmax(1) == flagged["label"].to_numpy())
    fam.accuracy = float(np.mean(right)) if right else None
    fam.note = (
        f"accuracy of {len(right)} clips flagged unfamiliar when a model met a corpus it never heard "
        f"({', '.join(tables)})"
    )
    summary = dict(
        threshold=fam.threshold,
        gamma=fam.gamma,
        components=int(fam.components.shape[0]),
        quantile=QUANTILE,
        accuracy_when_unfamiliar=fam.accuracy,
        note=fam.note,
        checkpoint=report(table, fam.gamma),
        cross_corpus={name: report(t, fam.gamma) for name, t in tables.items()},
    )
    out.write_text(json.dumps(summary, indent=1))
    ckpt = checkpoint_format.load(args.checkpoint)
    ckpt["familiarity"] = fam.to_checkpoint()
    checkpoint_format.save(ckpt, Path(args.checkpoint))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

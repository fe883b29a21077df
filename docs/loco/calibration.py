"""Three ways tried to make confident answers on a corpus never heard mostly right, each checked
leaving one corpus out on the shipped recipe's held-out tables (docs/loco/tables/). None shipped.

    # 1. a per-emotion logit offset (a prior correction), fitted on three held-out tables, scored on the fourth
    python docs/loco/calibration.py prior docs/loco/tables/three-mixup
    # 2. the mean probability of heads of several seeds (the shipped model averages its fold heads)
    python docs/loco/calibration.py seeds docs/loco/tables/three-mixup docs/loco/tables/three-mixup-s1 \
        docs/loco/tables/three-mixup-s2
    # 3. other familiarity distances (per-corpus Gaussians, nearest neighbours, their maximum) on the
    #    cached clean encoder states, written as tables for `emotion.training.unfamiliar loco`
    python docs/loco/calibration.py detectors --manifest runs/corpora/joint.csv \
        --tables docs/loco/tables/three-mixup --out runs/calibration/tables-combined
    python -m emotion.training.unfamiliar loco --tables runs/calibration/tables-combined/*.csv \
        --out runs/calibration/tempering-combined.json
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.special import softmax
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from emotion.training.folds import clip_folds, corpus_folds  # noqa: E402
from emotion.training.loco import held_out_scores  # noqa: E402
from emotion.training.unfamiliar import _distance, fit  # noqa: E402

HELD = ["emodb", "korean", "nemo", "ravdess"]


def _tables(folder):
    return {name: pd.read_csv(f"{folder}/without-{name}.csv") for name in HELD}


def _scored(table, pool_labels):
    """The label indices a held-out corpus is scored on: its own that the training pool has."""
    return sorted(set(table["label"]) & pool_labels)


def _pools(tables):
    """Label indices each head's training pool had (the labels the other two training corpora show)."""
    seen = {n: set(t["label"]) for n, t in tables.items()}
    return {n: set().union(*(seen[m] for m in HELD if m not in (n, "korean"))) for n in HELD}


def prior(folder):
    tables = _tables(folder)
    pools = _pools(tables)
    data = {}
    for n, t in tables.items():
        s = _scored(t, pools[n])
        data[n] = (t.filter(like="logit_").to_numpy(float), t["label"].to_numpy(), s)

    def nll(b, parts):  # each table's mean NLL over its scored labels, tables weighed equally
        total = 0.0
        for z, y, s in parts:
            zz = torch.as_tensor(z[:, s]) + b[s]
            total = total + torch.nn.functional.cross_entropy(zz, torch.as_tensor(np.searchsorted(s, y)))
        return total / len(parts)

    before, after = [], []
    for n, (z, y, s) in data.items():
        b = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([b], max_iter=200)

        def closure():
            opt.zero_grad()
            loss = nll(b, [v for k, v in data.items() if k != n])
            loss.backward()
            return loss

        opt.step(closure)
        off = b.detach().numpy()
        acc0 = np.mean(np.asarray(s)[z[:, s].argmax(1)] == y)
        acc1 = np.mean(np.asarray(s)[(z[:, s] + off[s]).argmax(1)] == y)
        before.append(acc0)
        after.append(acc1)
        print(f"{n}: accuracy {acc0:.1%} -> {acc1:.1%} with offsets {np.round(off, 2).tolist()}")
    print(f"mean {np.mean(before):.1%} -> {np.mean(after):.1%}")


def seeds(folders):
    for n in HELD:
        ts = [pd.read_csv(f"{f}/without-{n}.csv") for f in folders]
        assert all((t["id"].to_numpy() == ts[0]["id"].to_numpy()).all() for t in ts)  # the same clips
        y = ts[0]["label"].to_numpy()
        ps = [softmax(t.filter(like="logit_").to_numpy(float), axis=1) for t in ts]
        every = range(ps[0].shape[1])  # scored over every label, as the product answers
        for name, p in (("one head", ps[0]), (f"mean of {len(ps)}", np.mean(ps, 0))):
            s = held_out_scores(np.log(p), y, every)
            print(
                f"{n} {name}: accuracy (all labels) {s['accuracy']:.1%}, at >= 70% {s['confident_share']:.0%}, "
                f"of those wrong {s['confident_wrong']:.0%}"
            )


class Gaussian:
    """The shipped familiarity distance (emotion.training.unfamiliar.fit: PCA, shrunk covariance)."""

    def __init__(self, x, corpus=None):
        self.familiarity = fit(x)

    def __call__(self, x):
        return _distance(self.familiarity, x)


class PerCorpus:
    """The nearest of one Gaussian per training corpus."""

    def __init__(self, x, corpus):
        self.parts = [Gaussian(x[corpus == c]) for c in np.unique(corpus)]

    def __call__(self, x):
        return np.min([g(x) for g in self.parts], 0)


class Neighbours:
    """Cosine distance to the 10th nearest training clip (standardised, 128 principal components)."""

    def __init__(self, x, corpus=None, k=10):
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-6
        self.pca = PCA(128, random_state=0).fit((x - self.mu) / self.sd)
        self.nn = NearestNeighbors(n_neighbors=k).fit(self._embed(x))

    def _embed(self, x):
        e = self.pca.transform((x - self.mu) / self.sd)
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    def __call__(self, x):
        return self.nn.kneighbors(self._embed(x))[0][:, -1]


class Combined:
    """The largest of the three, each divided by its 95th percentile on the training clips."""

    def __init__(self, x, corpus):
        self.parts = [d(x, corpus) for d in (Gaussian, PerCorpus, Neighbours)]
        self.scale = [np.quantile(d(x), 0.95) for d in self.parts]

    def __call__(self, x):
        return np.max([d(x) / s for d, s in zip(self.parts, self.scale)], 0)


def _features(manifest):
    from emotion.training.encoder_cache import corpus_states
    from emotion.training.loco import pooled_states
    from emotion.training.manifest import read_manifest
    from emotion.training.train import head_setup, parser

    args = parser().parse_args(["--manifest", manifest, "--variants", "4", "--stats-pool", "--balance"])
    frame, labels, waves = read_manifest(manifest)
    config, recipe = head_setup(args, len(labels))
    frame = frame.reset_index(drop=True)
    return frame, pooled_states(corpus_states(frame, waves, 0, recipe, config, seed=0))


def detectors(manifest, folder, out):
    frame, f = _features(manifest)
    corpus = frame["corpus"].to_numpy()
    speech = frame["channel"].eq("speech").to_numpy()
    for n in HELD:
        pool = np.flatnonzero((corpus != n) & (corpus != "korean"))  # the shipped recipe never trains on korean
        test = np.flatnonzero((corpus == n) & speech)
        part = frame.iloc[pool]  # the speaker folds loco.familiarity_table sets the shipped threshold on
        fold = clip_folds(part, corpus_folds(part, min(5, int(part.groupby("corpus")["actor"].nunique().min()))))
        for name, make in (
            ("shipped", Gaussian),
            ("per corpus", PerCorpus),
            ("neighbours", Neighbours),
            ("combined", Combined),
        ):
            oof = np.concatenate(
                [
                    make(f[pool][fold != i], corpus[pool][fold != i])(f[pool][(fold == i) & speech[pool]])
                    for i in range(fold.max() + 1)
                ]
            )
            threshold = float(np.quantile(oof, 0.95))  # as the shipped threshold: 95% of new speakers familiar
            dist = make(f[pool], corpus[pool])(f[test])
            auc = roc_auc_score(np.r_[np.zeros(len(oof)), np.ones(len(dist))], np.r_[oof, dist])
            print(f"{n} held out, {name}: flagged {np.mean(dist > threshold):.0%}, AUROC {auc:.3f}", flush=True)
        table = pd.read_csv(f"{folder}/without-{n}.csv")
        by_id = dict(zip(frame["id"].astype(str).to_numpy()[test], dist))
        table["distance"], table["threshold"] = table["id"].map(by_id), threshold
        assert table["distance"].notna().all()
        Path(out).mkdir(parents=True, exist_ok=True)
        table.to_csv(f"{out}/without-{n}.csv", index=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("prior").add_argument("tables")
    sub.add_parser("seeds").add_argument("tables", nargs="+")
    d = sub.add_parser("detectors")
    d.add_argument("--manifest", required=True)
    d.add_argument("--tables", required=True)
    d.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.what == "prior":
        prior(args.tables)
    elif args.what == "seeds":
        seeds(args.tables)
    else:
        detectors(args.manifest, args.tables, args.out)


if __name__ == "__main__":
    main()

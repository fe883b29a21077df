"""Leave one corpus out: the number every corpus and recipe choice is made by.

    python -m emotion.training.loco --manifest runs/corpora/joint.csv --epochs 30 --variants 4 --stats-pool \
        --balance --out docs/loco/shipped-recipe.json          # any flags of emotion.training.train's heads
    python -m emotion.training.loco --table docs/loco/*.json    # the ablation table (Markdown)

For each corpus of the manifest, one Whisper-base head trains on every other corpus (their cv and
train rows, the recipe exactly as train runs it, kept at its last epoch: nothing is chosen on the
held-out corpus) and scores the held-out corpus's speech clips. Scored over the labels both sides
have: accuracy with the answer the argmax over those labels (the kept-back sets are scored so),
unweighted average recall, and the product's own answer (argmax over all labels, raw softmax):
the share of answers at >= 70% confidence and the share of those that are wrong. The headline is
the mean over held-out corpora. The labels scored depend on the training pool (without nEMO, no
corpus but RAVDESS says surprised), so runs that train on other corpora are compared on `common`:
the same scores over the labels every corpus of the manifest has (for the four: neutral, happy,
sad, angry), argmax over those. One head per held-out corpus, not five fold heads: a recipe costs
as many head trainings as there are corpora. --fold-heads 5 scores each held-out corpus as the
shipped predictor would: the mean logits of five heads, each trained without one speaker fold of the
pool (about four times the time); --merge joins runs of the same recipe over other --held-out corpora.

--without NAME drops a corpus from every training pool (it is still scored: the corpus-choice
ablation); --held-out NAME ... scores only these corpora. --tables DIR also writes, per held-out
corpus, its clips' raw logits and familiarity distance (emotion.training.unfamiliar's table format:
statistics fitted on the training pool's clean clips, threshold the 95th percentile of the pool's
out-of-fold distances over 5 speaker folds), from which the tempering is fitted and checked
leaving one corpus out (python -m emotion.training.unfamiliar loco --tables DIR/*.csv).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import List, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import recall_score

from ..model import EncoderHead
from ..model.familiarity import pooled
from . import program
from .corpora import sampling_weights
from .encoder_cache import corpus_states
from .folds import clip_folds, corpus_folds
from .heads import head_logits, train_head
from .manifest import ManifestError, read_manifest

CONFIDENT = 0.7


def held_out_scores(logits: np.ndarray, truth: np.ndarray, shared: Sequence[int]) -> dict:
    """Scores of one held-out corpus: logits (n, n_labels) of its clips, truth their label indices,
    shared the label indices both the corpus and the training pool have."""
    shared = np.asarray(sorted(shared))
    answer = shared[np.asarray(logits)[:, shared].argmax(1)]
    probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float32), 1).numpy()
    sure = probs.max(1) >= CONFIDENT
    product = probs.argmax(1)
    return dict(
        n=int(len(truth)),
        accuracy=round(float(np.mean(answer == truth)), 4),
        uar=round(float(recall_score(truth, answer, labels=sorted(set(truth)), average="macro", zero_division=0)), 4),
        confident_share=round(float(sure.mean()), 4),
        confident_wrong=round(float(np.mean(product[sure] != truth[sure])) if sure.any() else 0.0, 4),
        recall={int(k): round(float(np.mean(answer[truth == k] == k)), 4) for k in shared if (truth == k).any()},
    )


def pooled_states(states: np.ndarray, batch: int = 256) -> np.ndarray:
    """Familiarity's pooled vector (emotion.model.familiarity.pooled) of every clip of a cached bank."""
    return np.concatenate(
        [pooled(torch.from_numpy(np.asarray(states[i : i + batch]))).numpy() for i in range(0, len(states), batch)]
    )


def familiarity_table(frame, features, train_idx, test_idx, logits, labels) -> pd.DataFrame:
    """The held-out clips as emotion.training.unfamiliar tables them (role "foreign"): distances from
    statistics fitted on the training pool, its threshold the 95th percentile of out-of-fold distances
    (5 speaker folds of the pool, fewer for a corpus of fewer speakers; each measured against
    statistics fitted without it)."""
    from .unfamiliar import QUANTILE, _distance, _rows, fit

    pool = frame.iloc[train_idx].reset_index(drop=True)
    k = min(5, int(pool.groupby("corpus")["actor"].nunique().min()))
    fold_of = clip_folds(pool, corpus_folds(pool, k))
    speech = pool["channel"].eq("speech").to_numpy()
    own = features[train_idx]
    oof = [_distance(fit(own[fold_of != i]), own[(fold_of == i) & speech]) for i in range(k)]
    fam = fit(own, float(np.quantile(np.concatenate(oof), QUANTILE)))
    return _rows("foreign", frame.iloc[test_idx], list(labels), logits, _distance(fam, features[test_idx]), fam, 1.0)


def _heads(frame, train_idx, fold_heads: int, seed: int, desc: str) -> list:
    """(rows, seed, description) of each head that scores a held-out corpus: one on the whole pool, or
    fold_heads heads each trained without one speaker fold of the pool, seeds as train gives its fold
    heads (the shipped predictor averages such heads' logits)."""
    if fold_heads <= 1:
        return [(train_idx, seed, desc)]
    pool = frame.iloc[train_idx]
    fold_of = clip_folds(pool, corpus_folds(pool, fold_heads))
    return [(train_idx[fold_of != i], seed + i, f"{desc}, head {i + 1}/{fold_heads}") for i in range(fold_heads)]


def _logits(bank, y, frame, train_idx, test_idx, config, recipe, seed, desc, domains) -> np.ndarray:
    draw = sampling_weights(frame, train_idx, recipe.corpus_power, recipe.balance_by) if recipe.balance else None
    empty = np.array([], dtype=int)
    model = EncoderHead(config)
    model.load_state_dict(train_head(bank, y, train_idx, empty, config, recipe, seed, desc, draw, domains)[0])
    return head_logits(model, bank[0], test_idx).numpy()


def leave_one_corpus_out(
    frame,
    waves,
    labels,
    config,
    recipe,
    seed=0,
    without=(),
    held_out=None,
    tables=None,
    cache_layers=None,
    cache_seed=None,
    fold_heads=1,
) -> dict:
    """{corpus: scores} of heads each trained without one corpus (module docstring); tables: a folder
    for the held-out corpora's familiarity tables; cache_seed: the augmented copies' seed (default seed);
    fold_heads: score with the mean logits of this many speaker-fold heads of the pool (_heads)."""
    cache_seed = seed if cache_seed is None else cache_seed
    frame = frame.reset_index(drop=True)
    if "corpus" not in frame.columns or frame["corpus"].nunique() < 2:
        raise ManifestError("leave-one-corpus-out needs a manifest with a corpus column and two or more corpora")
    bank = [
        corpus_states(frame, waves, v, recipe, config, seed=cache_seed, n_layers=cache_layers)
        for v in range(recipe.variants + 1)
    ]
    y = frame["label"].to_numpy()
    corpus = frame["corpus"].to_numpy()
    usable = frame["channel"].eq("speech").to_numpy() | recipe.use_song
    features = pooled_states(bank[0]) if tables else None
    common = sorted(set.intersection(*(set(y[corpus == c]) for c in set(corpus))))
    domains = pd.factorize(corpus)[0]  # for --adversary: which corpus each clip is from
    out = {}
    for name in held_out or list(dict.fromkeys(corpus)):
        t0 = time.time()
        train_idx = np.flatnonzero((corpus != name) & ~np.isin(corpus, list(without)) & usable)
        test_idx = np.flatnonzero((corpus == name) & frame["channel"].eq("speech").to_numpy())
        shared = sorted(set(y[train_idx]) & set(y[test_idx]))
        test_idx = test_idx[np.isin(y[test_idx], shared)]
        heads = _heads(frame, train_idx, fold_heads, seed, f"without {name}")
        logits = np.mean(
            [_logits(bank, y, frame, idx, test_idx, config, recipe, *run, domains) for idx, *run in heads], 0
        )
        scores = held_out_scores(logits, y[test_idx], shared)
        mine = np.isin(y[test_idx], common)
        scores["common"] = held_out_scores(logits[mine], y[test_idx][mine], common)
        scores["common"].pop("recall")
        scores["common"]["labels"] = [labels[k] for k in common]
        if tables:
            Path(tables).mkdir(parents=True, exist_ok=True)
            familiarity_table(frame, features, train_idx, test_idx, logits, labels).to_csv(
                Path(tables) / f"without-{name}.csv", index=False
            )
        scores["recall"] = {labels[k]: v for k, v in scores["recall"].items()}
        out[name] = dict(
            scores,
            trained_on=sorted(set(corpus[train_idx])),
            train_clips=int(len(train_idx)),
            minutes=round((time.time() - t0) / 60, 2),
        )
        print(f"held out {name}: accuracy {scores['accuracy']:.3f}, UAR {scores['uar']:.3f} ({len(test_idx)} clips)")
    return out


def means(corpora: dict) -> dict:
    """The run's headline figures: the mean over its held-out corpora."""
    return dict(
        mean_accuracy=round(float(np.mean([c["accuracy"] for c in corpora.values()])), 4),
        mean_uar=round(float(np.mean([c["uar"] for c in corpora.values()])), 4),
        mean_common=round(float(np.mean([c["common"]["accuracy"] for c in corpora.values()])), 4),
    )


def merge(runs: List[dict]) -> dict:
    """One run from runs of the same recipe over other held-out corpora (--held-out, run apart)."""
    same = ("recipe", "config", "labels", "seed", "cache_seed", "fold_heads")
    if any(run.get(k) != runs[0].get(k) for run in runs for k in same):
        raise ManifestError("--merge joins runs of one recipe, seed and label set only")
    corpora = {name: c for run in runs for name, c in run["corpora"].items()}
    if len(corpora) < sum(len(run["corpora"]) for run in runs):
        raise ManifestError("--merge: two runs scored the same held-out corpus")
    minutes = round(sum(run["minutes"] for run in runs), 1)
    return dict(
        runs[0], command=" && ".join(run["command"] for run in runs), minutes=minutes, **means(corpora), corpora=corpora
    )


def table(paths: List[str]) -> str:
    """The ablation table (Markdown) of loco JSON files: accuracy per held-out corpus and the mean."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    names = list(dict.fromkeys(c for run in runs for c in run["corpora"]))
    head = "| recipe | " + " | ".join(names) + " | mean | mean over the common labels | confident wrong | minutes |"
    lines = [head, "|" + "---|" * (len(names) + 5)]
    for run in runs:
        cells = [f"{run['corpora'][c]['accuracy']:.1%}" if c in run["corpora"] else "" for c in names]
        wrong = np.mean([v["confident_wrong"] for v in run["corpora"].values()])
        lines.append(
            f"| {run['name']} | " + " | ".join(cells) + f" | **{run['mean_accuracy']:.1%}** | "
            f"{run['mean_common']:.1%} | {wrong:.0%} "
            f"| {run['minutes']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] = None) -> int:
    from .train import head_args, head_setup, recipe_args

    argv = list(sys.argv[1:] if argv is None else argv)
    ap = program("loco", __doc__)
    ap.add_argument("--manifest", help="a manifest with a corpus column (emotion.training.corpora)")
    ap.add_argument("--out", help="the JSON file of the run")
    ap.add_argument("--name", help="the run's name in the table (default: the --out file's stem)")
    ap.add_argument("--without", nargs="*", default=[], help="corpora never trained on (still scored)")
    ap.add_argument("--held-out", nargs="*", help="score only these corpora")
    ap.add_argument("--tables", help="a folder for each held-out corpus's familiarity table")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--cache-seed", type=int, help="the augmented copies' seed (default --seed): another --seed on the same copies"
    )
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--fold-heads", type=int, default=1, help="score with the mean of this many fold heads")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="instead: join these runs' corpora into --out")
    ap.add_argument("--table", nargs="+", metavar="JSON", help="instead: print the ablation table of these runs")
    recipe_args(ap.add_argument_group("recipe"))
    head_args(ap.add_argument_group("whisper-base"))
    args = ap.parse_args(argv)
    if args.table:
        print(table(args.table))
        return 0
    if args.merge and args.out:
        try:
            run = merge([json.loads(Path(p).read_text()) for p in args.merge])
            run["name"] = args.name or Path(args.out).stem
        except ManifestError as exc:
            print(f"Cannot merge: {exc}", file=sys.stderr)
            return 1
        Path(args.out).write_text(json.dumps(run, indent=1) + "\n")
        return 0
    if not (args.manifest and args.out):
        ap.error("give --manifest and --out (or --table)")
    if args.threads:
        torch.set_num_threads(args.threads)
    args.select = "last"
    cache_seed = args.seed if args.cache_seed is None else args.cache_seed
    try:
        frame, labels, waves = read_manifest(args.manifest)
        config, recipe = head_setup(args, len(labels))
        t0 = time.time()
        corpora = leave_one_corpus_out(
            frame,
            waves,
            labels,
            config,
            recipe,
            args.seed,
            args.without,
            args.held_out,
            args.tables,
            args.cache_layers,
            cache_seed,
            args.fold_heads,
        )
    except ManifestError as exc:
        print(f"Cannot run leave-one-corpus-out: {exc}", file=sys.stderr)
        return 1
    run = dict(
        name=args.name or Path(args.out).stem,
        command="python -m emotion.training.loco " + " ".join(argv),
        labels=list(labels),
        recipe=recipe.to_dict(),
        config={k: list(v) if isinstance(v, tuple) else v for k, v in vars(config).items()},
        seed=args.seed,
        cache_seed=cache_seed,
        fold_heads=args.fold_heads,
        minutes=round((time.time() - t0) / 60, 1),
        **means(corpora),
        corpora=corpora,
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(run, indent=1) + "\n")
    print(f"mean over {len(corpora)} held-out corpora: accuracy {run['mean_accuracy']:.3f}, UAR {run['mean_uar']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

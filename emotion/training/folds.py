"""Speaker folds, written once: how speakers are split into folds, and the one fold loop both recipes use.

speaker_folds is the one splitter: k disjoint folds of consecutive speakers in natural order
(RAVDESS actors 1-20 and k=5 give 1-4, 5-8, ..., the folds of the shipped checkpoints).
corpus_folds splits each corpus of a joint frame on its own so every fold holds out speakers of
every corpus. train_folds trains one model per fold: split, train (the recipe's fit), record
(runs.fold_outputs) and collect the held-out clips' out-of-fold rows.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence

import numpy as np
import pandas as pd

from ..labels import natural_key, stored_speaker
from .manifest import ManifestError
from .runs import fold_outputs

# fit(fold, train_idx, val_idx, desc) -> (state_dict, info, val logits of the kept epoch, of the last epoch)
FitFn = Callable[[int, np.ndarray, np.ndarray, str], tuple]


def speaker_folds(speakers: Sequence, k: int) -> List[list]:
    """Split speakers into k disjoint folds of consecutive speakers (natural order). Every speaker is
    in exactly one fold, so no speaker can be in training and validation at once. Speakers come back as
    labels.stored_speaker gives them: numbers (RAVDESS actors) as ints, others as text."""
    plain = {stored_speaker(s) for s in speakers}
    ordered = sorted(plain, key=natural_key)
    if not 2 <= k <= len(ordered):
        raise ManifestError(f"Speaker-grouped folds need 2 <= k <= {len(ordered)} speakers, got k={k}.")
    return [[ordered[i] for i in chunk] for chunk in np.array_split(np.arange(len(ordered)), k)]


def default_folds(n_speakers: int) -> int:
    """Folds chosen from the speaker count: 5 when there are enough, else one per speaker."""
    return min(5, n_speakers)


def corpus_folds(frame: pd.DataFrame, k: int) -> List[list]:
    """k speaker folds of frame's `actor` column; with a corpus column, each corpus's speakers are split
    into k consecutive groups on their own and fold i joins the i-th group of every corpus, so every
    fold holds out speakers of every corpus (RAVDESS's folds stay actors 1-4, 5-8, ...)."""
    if "corpus" not in frame.columns or frame["corpus"].nunique() < 2:
        return speaker_folds(frame["actor"].unique(), k)
    if frame.groupby("actor")["corpus"].nunique().max() > 1:
        raise ManifestError("a speaker name appears in two corpora; name speakers per corpus (e.g. emodb-03).")
    folds: List[list] = [[] for _ in range(k)]
    for corpus, part in frame.groupby("corpus", sort=False):
        speakers = part["actor"].unique()
        if len(speakers) < k:
            raise ManifestError(
                f"corpus {corpus} has {len(speakers)} speakers; {k} folds need at least {k} "
                "in every corpus (use --folds with fewer)."
            )
        for i, group in enumerate(speaker_folds(speakers, k)):
            folds[i] += group
    return folds


def clip_folds(frame: pd.DataFrame, folds: Sequence[list]) -> np.ndarray:
    """The fold that holds each clip's speaker out; -1 for a speaker in no fold."""
    fold_of = {stored_speaker(a): i for i, fold in enumerate(folds) for a in fold}
    return np.array([fold_of.get(stored_speaker(a), -1) for a in frame["actor"]], dtype=int)


def train_rows(clip_fold: np.ndarray, speech: np.ndarray, held_out: Sequence[int], use_song: bool) -> np.ndarray:
    """The rows a model trains on when the folds held_out are held out: every clip of the other folds
    (speech, plus the other clips, song or split=train, when use_song)."""
    return np.flatnonzero(~np.isin(clip_fold, list(held_out)) & (speech | use_song))


def train_folds(
    frame: pd.DataFrame,
    folds: Sequence[list],
    fit: FitFn,
    use_song: bool = True,
    only_folds: Optional[List[int]] = None,
) -> dict:
    """One model per speaker fold (folds: corpus_folds of frame) on frame (columns id, actor, label,
    emotion, channel); fold i validates on its held-out speakers' speech and trains on train_rows.
    fit(i, train_idx, val_idx, desc) trains it: (state_dict, info, logits of the kept epoch, of the last).

    Returns dict(states, folds, oof): the kept state_dicts and fold records (runs.fold_outputs) of the
    folds trained, and oof, a DataFrame of the held-out speech clips sorted by id with their
    out-of-fold logits (kept epoch) and last-epoch predictions.
    """
    frame = frame.reset_index(drop=True)
    clip_fold = clip_folds(frame, folds)
    speech = frame["channel"].eq("speech").to_numpy()
    states, records, parts = [], [], []
    for i, val_actors in enumerate(folds):
        if only_folds is not None and i not in only_folds:
            continue
        train_idx = train_rows(clip_fold, speech, [i], use_song)
        val_idx = np.flatnonzero((clip_fold == i) & speech)
        desc = f"fold {i + 1}/{len(folds)} (held out {val_actors[0]}-{val_actors[-1]})"
        state, info, logits, last = fit(i, train_idx, val_idx, desc)
        record, part = fold_outputs(frame, i, val_actors, train_idx, val_idx, info, logits, last)
        states.append(state)
        records.append(record)
        parts.append(part)
    return dict(states=states, folds=records, oof=pd.concat(parts).sort_values("id"))

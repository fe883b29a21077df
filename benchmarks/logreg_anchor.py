"""The ablation's anchor: logistic regression on time-pooled frozen Whisper-base states.

    python benchmarks/logreg_anchor.py --data-dir ../shared/data/ravdess [--layers 2 3] [--no-song]

Mean and standard deviation over time of the chosen layers' states of each clean, centred 3-s
clip (the cached variant 0 that emotion.training.heads writes), standardised, into scikit-learn's
LogisticRegression; 5 actor folds over actors 01-20, out-of-fold scores on the speech clips.
No augmentation, no tuning, no ensemble: the measure a head has to beat.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from emotion.data.ravdess import index_dataset, load_waves
from emotion.training.encoder_cache import cached_states
from emotion.training.folds import speaker_folds
from emotion.training.recipes import HeadRecipe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument(
        "--layers",
        type=int,
        nargs="+",
        action="append",
        help="layers pooled into one feature vector; repeat the flag to compare sets",
    )
    ap.add_argument("--no-song", action="store_true")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    frame = index_dataset(args.data_dir)
    frame = frame[frame["actor"] <= 20].reset_index(drop=True)
    states = cached_states(frame, load_waves(list(frame["path"])), 0, HeadRecipe(), 6, 2, 0)
    speech = frame["channel"].eq("speech").to_numpy()
    labels = frame["label"].to_numpy()
    folds = speaker_folds(frame["actor"].unique(), args.folds)
    print("layers        accuracy  macro-F1  (out-of-fold, speech, n = %d)" % speech.sum())
    for layers in args.layers or [[k] for k in range(7)] + [[2, 3]]:
        x = np.asarray(states[:, layers], dtype=np.float32)  # (n, L, T, D)
        feats = np.concatenate([x.mean(axis=2), x.std(axis=2)], axis=-1).reshape(len(x), -1)
        pred = np.full(len(frame), -1)
        for val_actors in folds:
            val = frame["actor"].isin(val_actors).to_numpy()
            train = ~val & (speech | (not args.no_song))
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
            clf.fit(feats[train], labels[train])
            pred[val & speech] = clf.predict(feats[val & speech])
        y, p = labels[speech], pred[speech]
        print(f"{str(layers):13s} {accuracy_score(y, p):.3f}     {f1_score(y, p, average='macro'):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Regenerate assets/ravdess160/: a balanced sample of RAVDESS speech for the Examples tab.

    python assets/make_bundle.py [--source /work/shared/data/ravdess/speech] [--out assets/ravdess160]
    python assets/make_bundle.py --check   # the files on disk are exactly the selection, bit for bit
    python assets/make_bundle.py --verify  # + score them: predictions vs checkpoints/oof_predictions.csv

The choice (deterministic, no randomness): for each actor 01-20 and each of the 8 emotions one
take, repetition 01,
  * the take already bundled in assets/ravdess/ when there is one (16 pairs; tests use them);
  * else intensity strong when actor + emotion code is even, normal when odd (neutral has
    only normal); statement 01 when actor // 2 + emotion code is even, 02 when odd.
The files are the shared copy's 16 kHz FLACs, copied byte for byte: FLAC is lossless, so the
samples (and every prediction on them) equal those of the dataset copy the out-of-fold table
was computed on. Licence: CC BY-NC-SA 4.0 (assets/README.md).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent / "shared" / "data" / "ravdess" / "speech"
OUT = HERE / "ravdess160"
KEEP = HERE / "ravdess"  # the 18 clips the tests use


def selection() -> list:
    """The 160 clip ids, ordered by actor then emotion."""
    kept = {}
    for path in KEEP.glob("03-01-*.flac"):
        parts = path.stem.split("-")
        kept[(int(parts[6]), int(parts[2]))] = path.stem
    ids = []
    for actor in range(1, 21):
        for emotion in range(1, 9):
            if (actor, emotion) in kept:
                ids.append(kept[(actor, emotion)])
                continue
            intensity = 1 if emotion == 1 or (actor + emotion) % 2 else 2
            statement = 1 + (actor // 2 + emotion) % 2
            ids.append(f"03-01-{emotion:02d}-{intensity:02d}-{statement:02d}-01-{actor:02d}")
    return ids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=SOURCE, help="speech/ folder of the 16 kHz FLAC copy")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="compare, write nothing")
    ap.add_argument(
        "--verify",
        action="store_true",
        help="--check, then score the bundled clips with the "
        "checkpoint's fold models and compare with its out-of-fold table",
    )
    args = ap.parse_args(argv)
    args.check = args.check or args.verify
    ids = selection()
    wanted = {f"{i}.flac" for i in ids}
    bad = 0
    for clip_id in ids:
        src = args.source / f"Actor_{clip_id[-2:]}" / f"{clip_id}.flac"
        dst = args.out / f"{clip_id}.flac"
        if args.check:
            if not dst.is_file() or not filecmp.cmp(src, dst, shallow=False):
                print(f"differs or missing: {dst.name}")
                bad += 1
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    extra = sorted(p.name for p in args.out.glob("*") if p.name not in wanted)
    for name in extra:
        print(f"not in the selection: {name}")
    size = sum(p.stat().st_size for p in args.out.glob("*.flac"))
    count = Counter((i.split("-")[2], i.split("-")[3]) for i in ids)
    print(
        f"{len(ids)} clips, {size / 1e6:.2f} MB in {args.out}; (emotion, intensity) counts: "
        + ", ".join(f"{e}/{k}: {n}" for (e, k), n in sorted(count.items()))
    )
    if args.verify:
        bad += verify(args.out, ids) > 0.01
    return 1 if bad or extra else 0


def verify(folder: Path, ids: list) -> float:
    """Max |probability difference| between the bundled clips scored now (each by the fold model
    that never heard its actor) and the out-of-fold table computed on the dataset copy."""
    import numpy as np
    import pandas as pd
    import torch

    sys.path.insert(0, str(HERE.parent))
    from emotion import Predictor
    from emotion.data.ravdess import index_dataset
    from emotion.evaluation.scoring import out_of_fold_logits

    torch.set_num_threads(1)
    checkpoint = HERE.parent / "checkpoints" / "emotion.pt"
    predictor = Predictor.from_checkpoint(checkpoint)
    frame = index_dataset(folder, channels=("speech",))
    frame = frame[frame["id"].isin(ids)].reset_index(drop=True)
    logits, frame, _, _ = out_of_fold_logits(predictor, frame)
    probs = torch.softmax(logits / predictor.temperature, dim=-1).numpy()
    oof = pd.read_csv(checkpoint.with_name("oof_predictions.csv"), dtype={"id": str}).set_index("id")
    table = oof.loc[frame["id"], list(predictor.labels)].to_numpy(dtype=float)
    diff = np.abs(probs - table).max()
    same = (probs.argmax(axis=1) == table.argmax(axis=1)).mean()
    print(
        f"{len(frame)} bundled clips scored out of fold: max |p - p_oof| = {diff:.5f} "
        f"(oof table rounded to 4 decimals); same top emotion for {same:.1%}"
    )
    return float(diff)


if __name__ == "__main__":
    sys.exit(main())

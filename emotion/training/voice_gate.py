"""Fit and check the voice gate (emotion.model.gate) by leave-one-corpus-out, and store it in a checkpoint.

    python -m emotion.training.voice_gate --data-dir ../shared/data --out runs/gate [--write-to C...]

Speech: every clip of the four corpora in --data-dir (RAVDESS speech and song, all of EmoDB,
nEMO, the Korean set), clean and one degraded copy each (noise, a room, a telephone or a cheap
microphone). Not a voice: instrument music rendered from random MIDI by fluidsynth
(emotion.training.nonspeech; FluidR3 for fitting, TimGM6mb only for checking) and synthetic beeps,
melodies, chords, arpeggios, drums, hum and noise bursts (even seeds fit, odd seeds check). Every
item goes the way predict sends it: the level checks (emotion.audio.speech), the speech span, one
centred 3-s clip or the timeline's windows.

Leave one corpus out: fold k fits on the other three corpora and three of four groups of
instrument families, and reports the refusals on corpus k (clean and degraded) and the voices
given to the left-out families, the second soundfont and the checking seeds; each fold's threshold
comes from its own fitting data (THRESHOLD_RULE). The shipped gate is fitted on all the folds fitted
on, by the same rule; --write-to stores it in checkpoints, its report beside them (voice_gate.json);
Silero alone, on the same items: benchmarks/gate_silero.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .. import audio
from ..audio import AudioError, speech
from ..audio.corruptions import degrade
from ..longform import timeline
from ..model import checkpoint
from ..model.gate import VoiceGate, gate_features
from ..predictor import Predictor
from . import program
from .layouts import audio_files
from .nonspeech import FAMILIES, SYNTHETIC, render_music, synthetic

CORPORA = {  # corpus -> folders under --data-dir holding its clips
    "ravdess": ("ravdess/speech", "ravdess/song"),
    "emodb": ("emodb",),
    "nemo": ("nemo/samples",),
    "korean": ("korean",),
}
FAMILY_GROUPS = [list(FAMILIES)[k::4] for k in range(4)]  # fold k leaves out group k of the families
MUSIC_SEEDS = 16  # pieces per family and soundfont for fitting (FluidR3)
CHECK_SEEDS = 4  # pieces per family with the second soundfont (TimGM6mb), never fitted on
MUSIC_SECONDS = (3.0, 6.0)
SYNTH_SEEDS = 12
C = 0.01  # inverse regularisation of the logistic regression
SPEECH_QUANTILE = 0.001  # THRESHOLD_RULE: refuse at most 0.1% of the fitting speech (clean and degraded) ...
MAX_THRESHOLD = 0.5  # ... and never demand more than an even chance of a voice
THRESHOLD_RULE = (
    f"the {SPEECH_QUANTILE:.1%} quantile of the fitting speech's voice probability, at most {MAX_THRESHOLD}"
)


def windows_of(wave: np.ndarray) -> List[np.ndarray]:
    """The 3-s clips predict would judge (the centred span, or the timeline's windows for speech
    over SINGLE_WINDOW_SECONDS); AudioError when the level checks refuse the input."""
    start, end = speech.speech_bounds(wave)
    if end - start <= timeline.SINGLE_WINDOW_SECONDS * audio.SAMPLE_RATE:
        return [audio.pad_or_trim(wave[start:end])]
    db, bands = speech.frame_levels(wave)
    spans = timeline.windows(timeline.speech_segments(db, bands, len(wave)))
    return [audio.pad_or_trim(wave[s:e]) for s, e in spans]


def items(data_dir: Path) -> List[dict]:
    """Every item to judge: {set, group, name, make} where make() returns its 16 kHz wave."""
    out = []
    for corpus, folders in CORPORA.items():
        for folder in folders:
            for path in audio_files(data_dir / folder):
                out.append(dict(set="speech", group=corpus, name=str(path.relative_to(data_dir)), path=path))
    for k, group in enumerate(FAMILY_GROUPS):
        for family in group:
            for seed in range(MUSIC_SEEDS):
                out.append(
                    dict(set="music", group=f"families-{k}", name=f"fluidr3/{family}/{seed}", family=family, seed=seed)
                )
    for family in FAMILIES:
        for seed in range(CHECK_SEEDS):
            out.append(
                dict(set="music-check", group="timgm6mb", name=f"timgm6mb/{family}/{seed}", family=family, seed=seed)
            )
    for kind in SYNTHETIC:
        for seed in range(SYNTH_SEEDS):
            role = "synthetic" if seed % 2 == 0 else "synthetic-check"
            out.append(dict(set=role, group=kind, name=f"{kind}/{seed}", kind=kind, seed=seed))
    return out


def make_wave(item: dict) -> np.ndarray:
    if "path" in item:
        return audio.load_audio(item["path"])
    seconds = MUSIC_SECONDS[item["seed"] % 2] if item["set"] != "speech" else None
    if item["set"].startswith("music"):
        font = "timgm6mb" if item["set"] == "music-check" else "fluidr3"
        return render_music(1000 * list(FAMILIES).index(item["family"]) + item["seed"], item["family"], seconds, font)
    return synthetic(item["kind"], (3.0, 10.0)[item["seed"] // 2 % 2], item["seed"])


def encode_items(predictor: Predictor, rows: List[dict], cache: Path) -> pd.DataFrame:
    """One row per judged window: the item's set, group, name, variant (clean/degraded), window
    index, and its gate features (column "x"); items the level checks refuse get one row with
    x = None and the message. Cached in `cache` (a pickle-free .npz and a .csv)."""
    if cache.with_suffix(".csv").exists():
        table = pd.read_csv(cache.with_suffix(".csv"), keep_default_na=False)
        return _with_features(table, np.load(cache.with_suffix(".npz"))["x"])
    records, clips = [], []
    for n, item in enumerate(tqdm(rows, desc="windows", unit="item")):
        wave = make_wave(item)
        rng = np.random.default_rng(n)
        for variant, w in (("clean", wave), ("degraded", degrade(wave, rng))):
            base = {k: item[k] for k in ("set", "group", "name")} | {"variant": variant}
            try:
                cut = windows_of(w)[:6]
            except AudioError as exc:
                records.append(base | {"window": -1, "row": -1, "message": str(exc).split(":")[0]})
                continue
            for i, clip in enumerate(cut):
                records.append(base | {"window": i, "row": len(clips), "message": ""})
                clips.append(clip)
    feats = []
    with torch.inference_mode():
        for i in tqdm(range(0, len(clips), 16), desc="encoding", unit="batch"):
            mel = predictor.features(torch.from_numpy(np.stack(clips[i : i + 16])))
            feats.append(gate_features(predictor.models[0].select(predictor.states(mel))).numpy())
    table, feats = pd.DataFrame(records), np.concatenate(feats).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache.with_suffix(".npz"), x=feats)
    table.to_csv(cache.with_suffix(".csv"), index=False)
    return _with_features(table, feats)


def _with_features(table: pd.DataFrame, feats: np.ndarray) -> pd.DataFrame:
    table["x"] = [feats[i] if i >= 0 else None for i in table["row"]]
    return table


def fit(table: pd.DataFrame, layers=(1, 2, 3, 4), time_pool: int = 2) -> VoiceGate:
    """Logistic regression (balanced classes) on the judged windows of `table`; the threshold by
    THRESHOLD_RULE on the same windows. layers, time_pool: the states the features were read from."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    t = table[table["row"] >= 0]
    x, y = np.stack(t["x"].to_list()), (t["set"] == "speech").to_numpy()
    scaler = StandardScaler().fit(x)
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000).fit(scaler.transform(x), y)
    gate = VoiceGate(
        center=torch.tensor(scaler.mean_, dtype=torch.float32),
        scale=torch.tensor(scaler.scale_, dtype=torch.float32),
        coef=torch.tensor(lr.coef_[0], dtype=torch.float32),
        intercept=float(lr.intercept_[0]),
        threshold=1.0,
        layers=tuple(layers),
        time_pool=time_pool,
    )
    p = probabilities(gate, t)[y]
    gate.threshold = float(min(MAX_THRESHOLD, np.quantile(p, SPEECH_QUANTILE)))
    return gate


def probabilities(gate: VoiceGate, table: pd.DataFrame) -> np.ndarray:
    return gate.voice_from_features(torch.from_numpy(np.stack(table["x"].to_list()))).numpy()


def verdicts(gate: VoiceGate, table: pd.DataFrame) -> pd.DataFrame:
    """Per item and variant: refused (by the level checks, or every window below the threshold,
    as predict and the timeline refuse) and why."""
    t = table.copy()
    judged = t["row"] >= 0
    t["voice"] = np.nan
    t.loc[judged, "voice"] = probabilities(gate, t[judged])
    t["passes"] = judged & (t["voice"] >= gate.threshold)
    keys = ["set", "group", "name", "variant"]
    out = t.groupby(keys, sort=False).agg(passes=("passes", "any"), levels=("message", "first")).reset_index()
    out["refused"] = ~out["passes"]
    out["by_levels"] = out["levels"] != ""
    return out


def summary(v: pd.DataFrame) -> pd.DataFrame:
    """Refused share per set, group and variant."""
    g = v.groupby(["set", "group", "variant"])
    return pd.DataFrame(
        {"items": g.size(), "refused": g["refused"].sum(), "by_levels": g["by_levels"].sum()}
    ).reset_index()


def loco(table: pd.DataFrame) -> pd.DataFrame:
    """Leave one corpus out: fold k fits on the other corpora, the other family groups and the
    fitting synthetic seeds; it reports on corpus k, family group k, TimGM6mb and the checking seeds."""
    rows = []
    for k, corpus in enumerate(CORPORA):
        held = {corpus, f"families-{k}"}
        fitting = table[~table["group"].isin(held) & table["set"].isin(["speech", "music", "synthetic"])]
        gate = fit(fitting)
        checked = table[table["group"].isin(held) | table["set"].isin(["music-check", "synthetic-check"])]
        s = summary(verdicts(gate, checked))
        s.insert(0, "fold", corpus)
        s["threshold"] = gate.threshold
        rows.append(s)
    return pd.concat(rows, ignore_index=True)


NON_SPEECH = ("music", "music-check", "synthetic-check")  # held-out families, the second soundfont, odd seeds


def given(part: pd.DataFrame) -> tuple:
    """(items, items not refused) of summary rows."""
    return int(part["items"].sum()), int(part["items"].sum() - part["refused"].sum())


def headline(folds: pd.DataFrame) -> pd.DataFrame:
    """The README's table: per held-out corpus, its clips refused (clean; degraded, and how many
    of those by the level checks), and the non-speech the same fold gave a voice to."""
    rows = []
    for corpus, f in folds.groupby("fold", sort=False):

        def share(mask, column="refused"):
            part = f[mask]
            return int(part[column].sum()), int(part["items"].sum())

        speech_ = f["set"] == "speech"
        clean, degraded = speech_ & (f["variant"] == "clean"), speech_ & (f["variant"] == "degraded")
        rows.append(
            {
                "held-out corpus": corpus,
                "clips": share(clean)[1],
                "clean refused": share(clean)[0],
                "degraded refused": share(degraded)[0],
                "degraded refused by levels": share(degraded, "by_levels")[0],
                "threshold": float(f["threshold"].iloc[0]),
                **{f"{name} given a voice": "{1} of {0}".format(*given(f[f["set"] == name])) for name in NON_SPEECH},
            }
        )
    return pd.DataFrame(rows)


def main(argv: Sequence[str] = None) -> int:
    parser = program("voice_gate", __doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="the shared data folder (ravdess/, emodb/, ...)")
    parser.add_argument("--out", type=Path, default=Path("runs/gate"), help="cache and reports")
    parser.add_argument("--checkpoint", default=None, help="checkpoint whose encoder and layers the gate reads")
    parser.add_argument(
        "--write-to",
        nargs="*",
        default=None,
        metavar="CHECKPOINT",
        help="store the gate in these checkpoints (none named: --checkpoint's; the CNN's runs the encoder for it)",
    )
    args = parser.parse_args(argv)
    path = checkpoint.default_path(args.checkpoint)
    predictor = Predictor.from_checkpoint(path)
    table = encode_items(predictor, items(args.data_dir), args.out / "windows")
    folds = loco(table)
    folds.to_csv(args.out / "loco.csv", index=False)
    head = headline(folds)
    print(head.to_string(index=False))
    config = predictor.config
    gate = fit(table[table["set"].isin(["speech", "music", "synthetic"])], config.layers, config.time_pool)
    final = summary(verdicts(gate, table))
    final.to_csv(args.out / "final.csv", index=False)
    report: Dict = {
        "threshold": gate.threshold,
        "threshold_rule": THRESHOLD_RULE,
        "C": C,
        "leave_one_corpus_out": head.to_dict("records"),
        "leave_one_corpus_out_detail": folds.to_dict("records"),
        "final_fit": final.to_dict("records"),
    }
    (args.out / "voice_gate.json").write_text(json.dumps(report, indent=1))
    gate.note = f"fitted on {', '.join(CORPORA)} (clean and degraded), FluidR3 music and synthetic sounds"
    for target in [] if args.write_to is None else (args.write_to or [path]):
        ckpt = checkpoint.load(target)
        ckpt["voice_gate"] = gate.to_checkpoint()
        checkpoint.save(ckpt, target)
        Path(target).with_name("voice_gate.json").write_text(json.dumps(report, indent=1))
        print(f"stored the gate (threshold {gate.threshold:.3f}) in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

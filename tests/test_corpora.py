"""Two corpora under one label set: the manifests, folds that hold out speakers of every corpus,
balanced sampling, and the familiarity measure that flags recordings unlike the training clips."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from emotion.labels import EMOTIONS
from emotion.model.familiarity import Familiarity, pooled
from emotion.training.corpora import AS_RAVDESS, CORPORA, corpus_manifests, sampling_weights
from emotion.training.folds import corpus_folds, speaker_folds
from emotion.training.manifest import ManifestError
from emotion.training.unfamiliar import fit, fit_gamma, probabilities, report

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _frame(ravdess=20, emodb=10, per=6):
    rows = []
    for a in range(1, ravdess + 1):
        rows += [dict(actor=f"{a:02d}", corpus="ravdess", label=i % 8) for i in range(per * 2)]
    for s in range(emodb):
        rows += [dict(actor=f"emodb-{s:02d}", corpus="emodb", label=i % 6) for i in range(per)]
    return pd.DataFrame(rows)


def test_corpus_folds_hold_out_speakers_of_every_corpus():
    frame = _frame()
    folds = corpus_folds(frame, 5)
    flat = [a for f in folds for a in f]
    assert len(flat) == len(set(flat)) == 30  # every speaker in exactly one fold
    for fold in folds:
        assert sum(str(a).startswith("emodb") for a in fold) == 2 and len(fold) == 6
    # RAVDESS's part of each fold is what RAVDESS alone gets: actors 1-4, 5-8, ...
    alone = speaker_folds(frame.loc[frame.corpus == "ravdess", "actor"].unique(), 5)
    assert [[a for a in f if not str(a).startswith("emodb")] for f in folds] == alone
    assert alone[0] == ["01", "02", "03", "04"]


def test_corpus_folds_refuse_small_corpora_and_shared_names():
    with pytest.raises(ManifestError, match="at least 5"):
        corpus_folds(_frame(emodb=3), 5)
    clash = _frame()
    clash.loc[clash.corpus == "emodb", "actor"] = "01"
    with pytest.raises(ManifestError, match="two corpora"):
        corpus_folds(clash, 5)
    one = _frame(emodb=0)  # one corpus: the plain speaker folds
    assert corpus_folds(one, 5) == speaker_folds(one["actor"].unique(), 5)


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_sampling_weights_balance_corpora_and_labels(power):
    frame = _frame()
    frame = frame[~((frame.corpus == "ravdess") & (frame.label == 0) & (frame.index % 2 == 0))]  # fewer neutral
    idx = np.arange(len(frame))
    w = sampling_weights(frame, idx, power)
    assert w.min() > 0 and np.isclose(w.sum(), 1.0)
    part = frame.assign(w=w)
    n = part.groupby("corpus").size()
    share = part.groupby("corpus")["w"].sum()
    expected = n**power / (n**power).sum()
    assert np.allclose(share.sort_index(), expected.sort_index())
    per_label = part.groupby(["corpus", "label"])["w"].sum()
    for corpus, labels in per_label.groupby(level=0):
        assert np.allclose(labels, labels.iloc[0])  # every label of a corpus drawn equally often


def test_sampling_weights_by_speakers_count_voices_not_clips():
    few = [dict(actor=f"few-{s}", corpus="few", label=i % 4) for s in range(2) for i in range(100)]
    many = [dict(actor=f"many-{s}", corpus="many", label=i % 4) for s in range(10) for i in range(10)]
    frame = pd.DataFrame(few + many)  # 2 voices with 200 clips beside 10 voices with 100
    idx = np.arange(len(frame))
    share = frame.assign(w=sampling_weights(frame, idx, 1.0, by="speakers")).groupby("corpus")["w"].sum()
    assert np.isclose(share["many"], 10 / 12) and np.isclose(share["few"], 2 / 12)
    by_clips = frame.assign(w=sampling_weights(frame, idx, 1.0)).groupby("corpus")["w"].sum()
    assert np.isclose(by_clips["few"], 200 / 300)  # by clips the two voices outweigh the ten


@pytest.mark.skipif(not (SHARED / "korean").is_dir(), reason="needs ../shared/data")
def test_corpus_manifests_from_the_shared_copy(tmp_path):
    tables = corpus_manifests(SHARED, list(CORPORA), tmp_path)
    joint = tables["joint.csv"]
    counts = joint.groupby("corpus").size().to_dict()
    assert counts == dict(ravdess=2034, emodb=454, nemo=2255, korean=300)  # EmoDB's boredom (81) left out
    assert set(joint["label"]) == set(EMOTIONS)
    assert set(joint["label"]) >= set(v for v in AS_RAVDESS.values() if v)
    speakers = joint.groupby("corpus")["speaker"].nunique().to_dict()
    assert speakers == dict(ravdess=20, emodb=10, nemo=9, korean=15)
    for name in ("emodb", "nemo", "korean"):
        assert joint.loc[joint.corpus == name, "speaker"].str.startswith(f"{name}-").all()
    assert joint.groupby("speaker")["corpus"].nunique().max() == 1  # no speaker name in two corpora
    assert (tables["emodb-test.csv"]["split"] == "test").all() and len(tables["ravdess-test.csv"]) == 1200
    assert all((tmp_path / p).is_file() for p in joint["path"].head(3))  # paths relative to the folder
    # the file-name layouts agree with the corpora's own label tables
    korean = joint[joint.corpus == "korean"].assign(file=lambda t: t["path"].str.split("korean/").str[-1])
    truth = pd.read_csv(SHARED / "korean" / "labels.csv").set_index("file")["emotion"]
    assert (korean.set_index("file")["label"] == truth.reindex(korean["file"]).to_numpy()).all()
    nemo = joint[joint.corpus == "nemo"].assign(file=lambda t: t["path"].str.split("/").str[-1])
    table = pd.read_csv(SHARED / "nemo" / "data.tsv", sep="\t")
    truth = table.assign(label=table["emotion"].map(AS_RAVDESS)).set_index("file_id")["label"]
    assert (nemo.set_index("file")["label"] == truth.reindex(nemo["file"]).to_numpy()).all()


def test_familiarity_separates_a_shifted_corpus_and_tempers_it():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(400, 64)).astype(np.float32)
    near = rng.normal(size=(200, 64)).astype(np.float32)
    far = (rng.normal(size=(200, 64)) + 1.5).astype(np.float32)
    fam = fit(train)
    d_near = fam.distance(torch.tensor(near)[:, None, None, :]).numpy()  # (B, layers=1, T=1, D)
    fam.threshold = float(np.quantile(d_near, 0.95))
    fam.gamma = 2.0
    d_far = fam.distance(torch.tensor(far)[:, None, None, :]).numpy()
    assert np.mean(d_far > fam.threshold) > 0.95  # a shifted corpus is flagged
    t = fam.temper(torch.tensor([0.5, 1.0, 2.0]) * fam.threshold)
    assert torch.allclose(t, torch.tensor([1.0, 1.0, 4.0]))  # 1 up to the threshold, (d / threshold) ** gamma
    again = Familiarity.from_checkpoint(dict(familiarity=fam.to_checkpoint()))
    assert torch.allclose(again.distance(torch.tensor(far)[:, None, None, :]), torch.tensor(d_far))
    assert again.describe(fam.threshold * 2)["unfamiliar"] and not again.describe(fam.threshold / 2)["unfamiliar"]


def test_pooled_is_each_layers_mean_over_time():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    assert torch.equal(pooled(x), x.mean(dim=2).reshape(2, 15))


def test_gamma_tempers_confident_mistakes_on_a_foreign_corpus():
    """Overconfident wrong answers far from the training clips: the fitted gamma is > 0 and the
    tempered confident answers are fewer; clips under the threshold keep their probabilities."""
    rng = np.random.default_rng(1)
    n = 400
    label = rng.integers(0, 4, n)
    foreign = np.arange(n) >= n // 2
    logits = rng.normal(size=(n, 4))
    guess = np.where(foreign & (rng.random(n) < 0.6), (label + 1) % 4, label)  # foreign: mostly wrong
    logits[np.arange(n), guess] += 5.0
    table = pd.DataFrame(
        dict(
            role=np.where(foreign, "foreign", "oof"),
            label=label,
            threshold=1.0,
            temperature=1.0,
            distance=np.where(foreign, 2.0, 0.5),
        )
    )
    for j in range(4):
        table[f"logit_{j}"] = logits[:, j]
    gamma = fit_gamma([table])
    assert gamma > 0
    r = report(table, gamma)
    assert r["foreign"]["confident_share_tempered"] < r["foreign"]["confident_share_raw"]
    assert r["oof"]["confident_share_tempered"] == r["oof"]["confident_share_raw"]
    p = probabilities(table, gamma)
    assert np.allclose(p.sum(axis=1), 1.0) and (p.argmax(1) == logits.argmax(1)).all()  # tempering keeps the top


def test_predictor_reports_and_tempers_unfamiliar_audio(shipped_predictor, tmp_path):
    """The same checkpoint with a familiarity whose threshold everything exceeds: same top label,
    lower confidence, the analysis says "unfamiliar"; with a huge threshold nothing changes."""
    from emotion.predictor import Predictor

    clip = next(Path(__file__).resolve().parents[1].glob("assets/ravdess160/**/*.flac"))
    ckpt = dict(shipped_predictor.checkpoint_info, models=[m.state_dict() for m in shipped_predictor.models])
    base = Familiarity(
        mean=torch.zeros(2048),
        components=torch.eye(8, 2048),
        precision=torch.eye(8),
        threshold=1e9,
        gamma=3.0,
        accuracy=0.55,
    )
    plain = Predictor({**ckpt, "familiarity": base.to_checkpoint()})
    a = plain.analyze(clip)
    far = Familiarity(**{**base.__dict__, "threshold": a.familiarity["distance"] / 1.5})  # temper 1.5 ** 3
    tempered = Predictor({**ckpt, "familiarity": far.to_checkpoint()})
    b = tempered.analyze(clip)
    assert a.probabilities == shipped_predictor.analyze(clip).probabilities  # under the threshold: unchanged
    assert a.familiarity["unfamiliar"] is False and b.familiarity["unfamiliar"] is True
    assert b.familiarity["accuracy_when_unfamiliar"] == 0.55
    assert a.top == b.top and max(b.probabilities.values()) < max(a.probabilities.values())
    assert np.isclose(sum(b.probabilities.values()), 1.0)
    p, d = tempered.probabilities(torch.from_numpy(b.clip)[None], distances=True)  # the clip the model saw
    assert np.isclose(float(d[0]), b.familiarity["distance"], atol=0.01)
    assert np.allclose(p[0].numpy(), [b.probabilities[k] for k in tempered.labels], atol=1e-5)


# ----- two synthetic corpora, end to end -------------------------------------------------------


@pytest.fixture(scope="module")
def two_corpora(tmp_path_factory):
    """Corpus "a" (4 speakers) and corpus "b" (4 other speakers through a darker channel: every
    clip low-passed), 3 labels; a joint manifest trained with --balance --adversary, and a model
    of corpus a alone."""
    import soundfile as sf
    from scipy.signal import butter, sosfilt
    from test_manifest import _corpus

    from emotion.training import encoder_cache, train

    folder = tmp_path_factory.mktemp("two")
    a = _corpus(folder / "a").assign(corpus="a")
    a["path"] = "a/" + a["path"]
    b = _corpus(folder / "b").assign(corpus="b")
    sos = butter(4, 1500, fs=16000, output="sos")
    for rel in b["path"]:
        wave, sr = sf.read(folder / "b" / rel)
        sf.write(folder / "b" / rel, (sosfilt(sos, wave) * 1.5).astype(np.float32), sr)
    b["path"] = "b/" + b["path"]
    b["speaker"] = "b-" + b["speaker"]
    pd.concat([a, b]).to_csv(folder / "joint.csv", index=False)
    a.to_csv(folder / "a.csv", index=False)
    b.assign(split="test").to_csv(folder / "b-test.csv", index=False)
    common = [
        "--epochs",
        "20",
        "--variants",
        "1",
        "--no-corrupt",
        "--batch-size",
        "8",
        "--lr",
        "3e-3",
        "--proj-dim",
        "32",
        "--lstm-hidden",
        "16",
        "--select",
        "last",
        "--threads",
        "1",
        "--folds",
        "2",
    ]
    mp = pytest.MonkeyPatch()
    mp.setattr(encoder_cache, "CACHE_DIR", folder / "cache")
    try:
        assert (
            train.main(
                [
                    "--manifest",
                    str(folder / "joint.csv"),
                    "--out",
                    str(folder / "joint" / "emotion.pt"),
                    "--balance",
                    "--adversary",
                    "0.5",
                ]
                + common
            )
            == 0
        )
        assert (
            train.main(["--manifest", str(folder / "a.csv"), "--out", str(folder / "a" / "emotion.pt")] + common) == 0
        )
    finally:
        mp.undo()
    return folder


def test_joint_training_holds_out_speakers_of_both_corpora_and_learns(two_corpora):
    import json

    metrics = json.loads((two_corpora / "joint" / "metrics.json").read_text())
    assert metrics["n"] == 72 and metrics["accuracy"] > 0.6  # chance 1/3, speakers never heard
    for fold in metrics["split"]["folds"]:
        held = fold["val_actors"]
        assert any(str(s).startswith("b-") for s in held) and any(not str(s).startswith("b-") for s in held)
        assert not set(fold["train_actors"]) & set(held)


def test_crosscorpus_scores_speakers_and_corpora_never_heard(two_corpora):
    from emotion.training.crosscorpus import cross_corpus

    result = cross_corpus(
        str(two_corpora / "joint.csv"),
        {"a only": str(two_corpora / "a" / "emotion.pt"), "joint": str(two_corpora / "joint" / "emotion.pt")},
    )
    rows = {(r["model"], r["corpus"]): r for r in result["results"]}
    assert rows[("a only", "a")]["test"] == "speakers never heard"
    assert rows[("a only", "b")]["test"] == "corpus never heard" and rows[("a only", "b")]["n"] == 36
    assert rows[("joint", "b")]["test"] == "speakers never heard"
    assert rows[("a only", "b")]["trained_on"] == {"a": 4, "b": 0}
    for r in result["results"]:
        assert 0.0 <= r["accuracy"] <= r["accuracy_corpus_labels"] + 1e-9 <= 1.0 + 1e-9
        assert sum(c["n"] for c in r["per_class"].values()) == r["n"]


def test_unfamiliar_flags_the_corpus_a_model_never_heard_and_stores_it(two_corpora):
    from emotion.predictor import Predictor
    from emotion.training import unfamiliar

    table_path = two_corpora / "a-to-b.csv"
    assert (
        unfamiliar.main(
            [
                "score",
                "--checkpoint",
                str(two_corpora / "a" / "emotion.pt"),
                "--train",
                str(two_corpora / "a.csv"),
                "--foreign",
                str(two_corpora / "b-test.csv"),
                "--out",
                str(table_path),
            ]
        )
        == 0
    )
    table = pd.read_csv(table_path)
    foreign, oof = table[table.role == "foreign"], table[table.role == "oof"]
    assert len(foreign) == 36 and len(oof) == 36
    assert (foreign.distance > foreign.threshold).mean() > (oof.distance > oof.threshold).mean()
    summary = two_corpora / "summary.json"
    assert (
        unfamiliar.main(
            [
                "store",
                "--checkpoint",
                str(two_corpora / "a" / "emotion.pt"),
                "--train",
                str(two_corpora / "a.csv"),
                "--tables",
                str(table_path),
                "--out",
                str(summary),
            ]
        )
        == 0
    )
    predictor = Predictor.from_checkpoint(two_corpora / "a" / "emotion.pt")  # checksum still right
    assert predictor.familiarity is not None and predictor.familiarity.gamma >= 0
    result = predictor.analyze(two_corpora / "b" / foreign["id"].iloc[0].removeprefix("b/"))
    assert set(result.familiarity) == {"distance", "threshold", "unfamiliar", "accuracy_when_unfamiliar"}


def test_evaluate_oof_reproduces_the_shipped_out_of_fold_table(tmp_path):
    """The shipped oof_predictions.csv (what the Metrics and Examples tabs show) is what
    `evaluate --folds 5 --oof` writes: here on the bundled clips, each scored by its held-out fold head."""
    from support import require_checkpoint

    from emotion.training import evaluate

    require_checkpoint()
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "oof.csv"
    assert (
        evaluate.main(
            [
                "--data-dir",
                str(root / "assets" / "ravdess160"),
                "--folds",
                "5",
                "--channel",
                "speech",
                "--oof",
                str(out),
            ]
        )
        == 0
    )
    mine = pd.read_csv(out).set_index("id")
    shipped = pd.read_csv(root / "checkpoints" / "oof_predictions.csv").set_index("id").loc[mine.index]
    assert len(mine) == 160 and (mine["fold"] == shipped["fold"]).all()
    assert np.abs(mine[list(EMOTIONS)].to_numpy() - shipped[list(EMOTIONS)].to_numpy()).max() < 2e-3
    assert np.allclose(mine[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-3)


def test_the_page_names_the_corpora_a_checkpoint_trained_on():
    from ui.crosscorpus import trained_on_text, training_speakers

    joint = list(range(1, 21)) + [f"emodb-{s:02d}" for s in (3, 8, 9, 10, 11, 12, 13, 14, 15, 16)]
    assert {k: len(v) for k, v in training_speakers(joint).items()} == {"ravdess": 20, "emodb": 10}
    assert trained_on_text(joint) == ("RAVDESS actors 01–20 (North-American English) and EmoDB's 10 speakers (German)")
    assert trained_on_text([1, 2, 5]) == "RAVDESS actors 01, 02, 05 (North-American English)"
    assert trained_on_text([]) == ""


def test_across_corpora_tables_carry_the_stored_figures():
    """The Metrics tab's tables are the crosscorpus.json figures: one row per (model, corpus), F1 per
    emotion in columns (blank where the corpus lacks the emotion), narrow enough for a laptop."""
    import json

    from ui.crosscorpus import per_class_table, summary_table

    result = json.loads((Path(__file__).resolve().parents[1] / "checkpoints" / "crosscorpus.json").read_text())
    summary, classes = summary_table(result), per_class_table(result)
    assert len(summary) == len(classes) == len(result["results"])
    assert list(classes.columns) == ["model → corpus", *EMOTIONS]
    for (_, row), r in zip(classes.iterrows(), result["results"]):
        for emotion in EMOTIONS:
            stored = r["per_class"].get(emotion)
            assert row[emotion] == (f"{100 * stored['f1']:.0f}" if stored else "")
    assert list(summary["accuracy"]) == [f"{r['accuracy']:.1%}" for r in result["results"]]
    tested = {(r["model"], r["corpus"]): r for r in result["results"]}
    shipped = [m for m, _ in tested if m.endswith("(shipped)")]
    assert len(set(shipped)) == 1, "crosscorpus.json names one model (shipped)"
    for (model, corpus), r in tested.items():  # a corpus is "never heard" exactly when no speaker of it trained
        assert (r["test"] == "corpus never heard") == (r["trained_on"].get(corpus, 0) == 0), (model, corpus)


def test_held_out_scores_restrict_the_answer_to_the_shared_labels():
    from emotion.training.loco import held_out_scores

    logits = np.log(
        np.array(
            [
                [0.80, 0.10, 0.05, 0.05],  # label 0 at 80%: right and confident
                [0.05, 0.75, 0.10, 0.10],  # label 1 at 75% for a 2: confident and wrong
                [0.05, 0.10, 0.25, 0.60],  # argmax 3 is not shared: the shared answer is 2 (right)
                [0.30, 0.30, 0.35, 0.05],  # 2, not confident
            ]
        )
    )
    s = held_out_scores(logits, np.array([0, 2, 2, 2]), shared=[0, 1, 2])
    assert s["n"] == 4 and s["accuracy"] == 0.75  # answers 0, 1, 2, 2 against 0, 2, 2, 2
    assert s["recall"] == {0: 1.0, 2: round(2 / 3, 4)}
    assert s["uar"] == round((1.0 + 2 / 3) / 2, 4)  # over the labels the corpus has (0 and 2)
    assert s["confident_share"] == 0.5 and s["confident_wrong"] == 0.5


def test_leave_one_corpus_out_never_trains_on_the_corpus_it_scores(two_corpora, tmp_path, monkeypatch):
    import json

    from emotion.training import encoder_cache, loco

    monkeypatch.setattr(encoder_cache, "CACHE_DIR", two_corpora / "cache")
    out = tmp_path / "loco.json"
    flags = ["--epochs", "20", "--variants", "1", "--no-corrupt", "--batch-size", "8", "--lr", "3e-3"]
    flags += ["--proj-dim", "32", "--lstm-hidden", "16", "--threads", "1", "--balance", "--balance-by", "speakers"]
    tables = tmp_path / "tables"
    args = ["--manifest", str(two_corpora / "joint.csv"), "--out", str(out), "--tables", str(tables)]
    assert loco.main(args + flags) == 0
    run = json.loads(out.read_text())
    assert set(run["corpora"]) == {"a", "b"}
    assert run["corpora"]["a"]["trained_on"] == ["b"] and run["corpora"]["b"]["trained_on"] == ["a"]
    assert run["corpora"]["a"]["n"] == run["corpora"]["b"]["n"] == 36  # each corpus's speech clips
    assert run["recipe"]["balance_by"] == "speakers" and run["recipe"]["select"] == "last"
    assert run["mean_accuracy"] == round((run["corpora"]["a"]["accuracy"] + run["corpora"]["b"]["accuracy"]) / 2, 4)
    assert run["mean_accuracy"] > 0.5  # 3 labels: chance 1/3; the channels differ, the labels' sounds do not
    for name in ("a", "b"):  # both corpora have the three labels: the common score is the score
        common = run["corpora"][name]["common"]
        assert common["labels"] == ["high", "low", "mid"] and common["accuracy"] == run["corpora"][name]["accuracy"]
    from ui.crosscorpus import loco_table  # the Metrics tab's table of the run (loco.json beside a checkpoint)

    shown = loco_table(run)
    assert list(shown["never heard"]) == ["a", "b"] and list(shown["trained on"]) == ["b", "a"]
    assert list(shown["accuracy"]) == [f"{run['corpora'][c]['accuracy']:.1%}" for c in ("a", "b")]
    markdown = loco.table([str(out)])
    assert markdown.splitlines()[0].startswith("| recipe | a | b | mean") and "loco" in markdown
    with pytest.raises(SystemExit):  # neither a run nor a table asked for
        loco.main([])
    # each held-out corpus's clips with their raw logits and familiarity distance, in unfamiliar's format
    for name in ("a", "b"):
        table = pd.read_csv(tables / f"without-{name}.csv")
        assert len(table) == 36 and (table["role"] == "foreign").all() and table["threshold"].nunique() == 1
        assert set(table["speaker"].astype(str).str.startswith("b-")) == {name == "b"}
        logits = table.filter(like="logit_").to_numpy()
        right = logits.argmax(1) == table["label"].to_numpy()
        shared = run["corpora"][name]
        assert np.isclose(right.mean(), shared["accuracy"], atol=1e-4)  # the same head, the same clips
    from emotion.training import unfamiliar

    checked = tmp_path / "tempering.json"
    argv = ["loco", "--tables", str(tables / "without-a.csv"), str(tables / "without-b.csv"), "--out", str(checked)]
    assert unfamiliar.main(argv) == 0
    result = json.loads(checked.read_text())
    assert set(result) == {"without-a", "without-b"}
    for name, r in result.items():
        other = "without-b" if name == "without-a" else "without-a"
        assert r["gamma"] == unfamiliar.fit_gamma([pd.read_csv(tables / f"{other}.csv")])  # fitted without it
        assert r["n"] == 36 and r["confident_share_tempered"] <= r["confident_share_raw"]


def test_cached_states_read_from_the_files_what_one_array_would_hold(tmp_path):
    from emotion.training.encoder_cache import CachedStates

    rng = np.random.default_rng(0)
    dense = rng.normal(size=(10, 3, 4, 5)).astype(np.float16)  # 10 clips, 3 cached layers
    idx_a, idx_b = np.array([0, 2, 3, 7, 9]), np.array([1, 4, 5, 6, 8])  # two corpora, interleaved
    parts = []
    for name, idx in (("a", idx_a), ("b", idx_b)):
        np.save(tmp_path / f"{name}.npy", dense[idx])
        parts.append((idx, np.load(tmp_path / f"{name}.npy", mmap_mode="r")))
    states = CachedStates(10, parts, layers=[1, 2])
    want = dense[:, [1, 2]]
    assert states.shape == want.shape and len(states) == 10 and states.dtype == np.float16
    for i in range(10):
        np.testing.assert_array_equal(states[i], want[i])
    for idx in (np.array([9, 0, 4, 4, 1]), np.arange(10), np.array([], dtype=int)):  # unsorted, repeated, empty
        np.testing.assert_array_equal(states[idx], want[idx])
    np.testing.assert_array_equal(states[2:7], want[2:7])


def test_warp_keys_the_augmented_copies_only(tmp_path, monkeypatch):
    """--warp re-encodes the augmented copies under their own names; the clean clips (variant 0), and
    every cache written before the knob existed, keep theirs."""
    from emotion.training import encoder_cache
    from emotion.training.recipes import HeadRecipe

    encoded = []

    def fake_encode(clips, n_layers, time_pool, desc):
        encoded.append((desc, clips.clone()))
        return np.zeros((len(clips), 1, 1, 1), dtype=np.float16)

    monkeypatch.setattr(encoder_cache, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(encoder_cache, "encode_clips", fake_encode)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(dict(id=["a", "b"], path=["a", "b"], label=[0, 1]))
    waves = [rng.normal(0, 0.1, 40000).astype(np.float32) for _ in range(2)]
    for warp in (0.0, 0.1):
        for variant in (0, 1):
            encoder_cache.cached_states(frame, waves, variant, HeadRecipe(warp=warp), 4, 2, seed=0)
    assert [d for d, _ in encoded] == ["encoding variant 0", "encoding variant 1", "encoding variant 1"]
    assert len(list(tmp_path.glob("*-v0-*.npy"))) == 1 and len(list(tmp_path.glob("*-v1-*.npy"))) == 2
    assert not torch.equal(encoded[1][1], encoded[2][1])  # the warped copies differ from the speed-perturbed


@pytest.mark.parametrize(
    "argv, seeds", [([], (0, 0)), (["--seed", "1"], (1, 1)), (["--seed", "1", "--cache-seed", "0"], (1, 0))]
)
def test_loco_cache_seed_keeps_the_copies_while_the_head_seed_moves(two_corpora, monkeypatch, argv, seeds):
    """--cache-seed: the augmented copies' seed (default --seed), so another head seed reuses the cache."""
    from emotion.training import loco

    seen = {}

    class Stop(Exception):
        pass

    def fake_states(frame, waves, variant, recipe, config, *, seed, n_layers=None):
        seen["cache"] = seed
        return np.zeros((len(frame), 1, 1, 1), dtype=np.float16)

    def fake_train(bank, y, train_idx, val_idx, config, recipe, seed, *rest):
        seen["head"] = seed
        raise Stop

    monkeypatch.setattr(loco, "corpus_states", fake_states)
    monkeypatch.setattr(loco, "train_head", fake_train)
    with pytest.raises(Stop):
        loco.main(["--manifest", str(two_corpora / "joint.csv"), "--out", "unused.json", "--variants", "1"] + argv)
    assert (seen["head"], seen["cache"]) == seeds


def test_fold_heads_score_a_corpus_as_the_shipped_predictor_would(two_corpora, tmp_path, monkeypatch):
    """--fold-heads 2: the held-out corpus is scored by the mean logits of two heads, each trained on
    the pool without one speaker fold (seeds as train gives its folds); --merge joins runs over other
    held-out corpora into one, and refuses runs of another recipe or the same corpus twice."""
    import json

    from emotion.training import encoder_cache, loco
    from emotion.training.manifest import ManifestError

    monkeypatch.setattr(encoder_cache, "CACHE_DIR", two_corpora / "cache")
    trained, scored = [], []
    train_head, logits = loco.train_head, loco._logits
    monkeypatch.setattr(
        loco, "train_head", lambda bank, y, idx, *a: trained.append((idx, a[3])) or train_head(bank, y, idx, *a)
    )
    monkeypatch.setattr(loco, "_logits", lambda *a: scored.append(logits(*a)) or scored[-1])
    frame = pd.read_csv(two_corpora / "joint.csv")
    flags = ["--epochs", "3", "--variants", "1", "--no-corrupt", "--batch-size", "8", "--proj-dim", "32"]
    flags += ["--lstm-hidden", "16", "--threads", "1", "--manifest", str(two_corpora / "joint.csv")]
    out_a, out_b = tmp_path / "a.json", tmp_path / "b.json"
    args = ["--fold-heads", "2", "--seed", "3", "--tables", str(tmp_path / "t")]
    assert loco.main(flags + args + ["--held-out", "a", "--out", str(out_a)]) == 0
    assert [seed for _, seed in trained] == [3, 4] and len(scored) == 2
    speakers = [set(frame["speaker"].iloc[idx]) for idx, _ in trained]
    assert all(s <= set(frame.loc[frame["corpus"] == "b", "speaker"]) for s in speakers)  # never corpus a
    assert len(speakers[0]) == len(speakers[1]) == 2 and not speakers[0] & speakers[1]  # each without one fold
    table = pd.read_csv(tmp_path / "t" / "without-a.csv")
    np.testing.assert_allclose(table.filter(like="logit_").to_numpy(), np.mean(scored, 0), atol=1e-3)
    run_a = json.loads(out_a.read_text())
    assert run_a["fold_heads"] == 2 and set(run_a["corpora"]) == {"a"}
    assert loco.main(flags + args + ["--held-out", "b", "--out", str(out_b)]) == 0
    merged = tmp_path / "ab.json"
    assert loco.main(["--merge", str(out_a), str(out_b), "--out", str(merged)]) == 0
    run = json.loads(merged.read_text())
    assert set(run["corpora"]) == {"a", "b"} and run["fold_heads"] == 2 and run["name"] == "ab"
    assert run["mean_accuracy"] == round((run["corpora"]["a"]["accuracy"] + run["corpora"]["b"]["accuracy"]) / 2, 4)
    with pytest.raises(ManifestError, match="same held-out corpus"):
        loco.merge([run_a, run_a])
    with pytest.raises(ManifestError, match="one recipe"):
        loco.merge([run_a, dict(json.loads(out_b.read_text()), fold_heads=1)])
    assert loco.main(["--merge", str(out_a), str(out_a), "--out", str(tmp_path / "x.json")]) == 1  # said, not raised

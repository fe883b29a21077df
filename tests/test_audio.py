"""emotion.audio: loading, resampling, downmixing, trimming, padding, and every refusal."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from emotion import audio
from emotion.audio import N_SAMPLES, SAMPLE_RATE, AudioError, load_audio, pad_or_trim, speech
from emotion.audio.speech import HOP, frame_db, prepare, speech_bounds
from emotion.model.features import log_mel_spectrogram

# The loud 48 kHz original used for the format variants (peak-normalised first, as a recorder
# or editor exporting 8-bit audio would; see test_format_variant_predicts_like_original).
VARIANT_SOURCE = "03-01-05-02-01-01-05.wav"


def sine(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(wave: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1.0 / sr)[np.argmax(spec)])


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-20)


# --------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("freq", [440.0, 3000.0])
def test_resampling_keeps_duration_pitch_and_level(tmp_path, sr, freq):
    x = sine(freq, sr, 2.0)
    path = tmp_path / "tone.wav"
    sf.write(path, np.stack([x, x], axis=1), sr, subtype="FLOAT")  # stereo, as uploads often are
    y = load_audio(path)
    assert y.dtype == np.float32
    assert abs(len(y) - len(x) * SAMPLE_RATE / sr) <= 1  # same duration
    assert abs(peak_frequency(y, SAMPLE_RATE) - freq) <= 1.0  # same pitch
    inner = y[1000:-1000]  # away from the filter's edge transients
    assert abs(rms_db(inner) - rms_db(x)) < 0.1  # same level (passband gain 1)


@pytest.mark.parametrize(
    "freq, lo_db, hi_db",
    [
        (7000.0, -0.5, 0.5),  # passband: untouched
        (7900.0, -200.0, -30.0),  # top band: steep filter, as sox made the training FLACs
        (10000.0, -200.0, -80.0),  # above 8 kHz: removed, not aliased down to 6 kHz
    ],
)
def test_resampling_filter_response(freq, lo_db, hi_db):
    x = sine(freq, 48000, 2.0)
    y = load_audio(x, 48000)[2000:-2000]
    gain = rms_db(y) - rms_db(x)
    assert lo_db <= gain <= hi_db, f"{freq} Hz: gain {gain:.1f} dB"


def test_resample_same_rate_is_identity():
    x = sine(440, SAMPLE_RATE, 1.0)
    np.testing.assert_array_equal(audio.resample(x, SAMPLE_RATE), x)


# --------------------------------------------------------------------------- channels, dtypes, sources


def test_stereo_and_mono_give_identical_audio_and_features(tmp_path):
    rng = np.random.default_rng(0)
    env = np.repeat(rng.uniform(0.05, 0.5, 20), 44100 // 10)[: 2 * 44100]  # syllable-like envelope
    x = (sine(220, 44100, 2.0, 1.0) * env).astype(np.float32)
    sf.write(tmp_path / "mono.wav", x, 44100)
    sf.write(tmp_path / "stereo.wav", np.stack([x, x], axis=1), 44100)
    mono, stereo = load_audio(tmp_path / "mono.wav"), load_audio(tmp_path / "stereo.wav")
    np.testing.assert_array_equal(mono, stereo)
    assert torch.equal(log_mel_spectrogram(mono), log_mel_spectrogram(stereo))


def test_one_sided_stereo_gives_the_same_features(example_wavs):
    """Speech on the left channel only is downmixed to half the level: features ignore gain."""
    x, sr = sf.read(example_wavs[0], dtype="float32")
    both = load_audio(np.stack([x, x], axis=1), sr)
    left = load_audio(np.stack([x, np.zeros_like(x)], axis=1), sr)
    np.testing.assert_allclose(left, both / 2, atol=1e-6)
    a, b = log_mel_spectrogram(pad_or_trim(both)), log_mel_spectrogram(pad_or_trim(left))
    assert float((a - b).abs().max()) < 0.01


def test_integer_and_float_arrays_agree(asset_flacs):
    x, sr = sf.read(asset_flacs[10], dtype="float32")  # a fairly loud clip, peak ~0.57
    assert sr == SAMPLE_RATE
    ref = load_audio(x, sr)
    as_int = {
        "int16": (np.round(x * 32767).astype(np.int16), 1e-4),
        "int32": (np.round(x.astype(np.float64) * (2**31 - 1)).astype(np.int32), 1e-6),
        "int8": (np.round(x * 127).astype(np.int8), 1 / 127),
        "uint8": (np.round(x * 127 + 128).astype(np.uint8), 1 / 127),
        "float64": (x.astype(np.float64), 1e-7),
        "tensor": (torch.from_numpy(x), 0.0),
    }
    for name, (arr, atol) in as_int.items():
        out = load_audio(arr, sr)
        assert out.dtype == np.float32, name
        np.testing.assert_allclose(out, ref, atol=atol + 1e-7, err_msg=name)
    # (channels, samples), as torchaudio returns it, reads like (samples, channels)
    np.testing.assert_array_equal(load_audio(np.stack([x, x]), sr), load_audio(np.stack([x, x], 1), sr))


def test_path_bytes_and_array_agree(example_wavs):
    path = example_wavs[1]  # 48 kHz: the resampler runs in every branch
    ref = load_audio(path)
    samples, sr = sf.read(path, dtype="int16")
    for name, out in {
        "str": load_audio(str(path)),
        "bytes": load_audio(Path(path).read_bytes()),
        "int16 array": load_audio(samples, sr),
        "float array": load_audio(samples / 32768.0, sr),
        "tensor": load_audio(torch.from_numpy(samples.copy()), sr),
    }.items():
        np.testing.assert_allclose(out, ref, atol=1e-6, err_msg=name)


def test_speech_comes_out_float32_in_range(asset_flacs, example_wavs):
    for path in asset_flacs + example_wavs:
        w = load_audio(path)
        assert w.dtype == np.float32 and w.ndim == 1
        assert np.abs(w).max() <= 1.0
        assert 0 < w.std() < 1
        assert abs(float(w.mean())) < 1e-5  # DC removed


def test_dc_offset_and_unnormalised_float_input(asset_flacs):
    x, sr = sf.read(asset_flacs[0], dtype="float32")  # quiet clip, peak 0.04
    ref = load_audio(x, sr)
    np.testing.assert_allclose(load_audio(x + 0.25, sr), ref, atol=1e-5)  # DC removed
    big = load_audio(x * (4.0 / np.abs(x).max()), sr)  # float input far outside [-1, 1]
    assert np.abs(big).max() <= 1.0
    np.testing.assert_allclose(big, ref / np.abs(x).max(), atol=1e-5)  # scaled, not clipped


# --------------------------------------------------------------------------- pad_or_trim


def test_pad_or_trim_pads_centred_and_exact():
    x = np.arange(1, 11, dtype=np.float32)
    out = pad_or_trim(x, length=16)
    assert out.dtype == np.float32 and len(out) == 16
    np.testing.assert_array_equal(out, np.r_[np.zeros(3), x, np.zeros(3)])
    out = pad_or_trim(x, length=15)  # odd slack: the extra zero goes after
    np.testing.assert_array_equal(out, np.r_[np.zeros(2), x, np.zeros(3)])
    assert len(pad_or_trim(np.ones(1000, np.float32))) == N_SAMPLES


def test_pad_or_trim_crops_centred():
    x = np.arange(20, dtype=np.float32)
    np.testing.assert_array_equal(pad_or_trim(x, length=10), np.arange(5, 15))
    np.testing.assert_array_equal(pad_or_trim(x, length=9), np.arange(5, 14))
    np.testing.assert_array_equal(pad_or_trim(x, length=20), x)


def test_pad_or_trim_offset_semantics():
    x = np.arange(1, 21, dtype=np.float32)
    # longer than length: offset is the first sample kept
    np.testing.assert_array_equal(pad_or_trim(x, length=10, offset=0), x[:10])
    np.testing.assert_array_equal(pad_or_trim(x, length=10, offset=10), x[10:])
    np.testing.assert_array_equal(pad_or_trim(x, length=10, offset=3), x[3:13])
    # shorter: offset is the number of zeros before it
    out = pad_or_trim(x, length=30, offset=7)
    np.testing.assert_array_equal(out, np.r_[np.zeros(7), x, np.zeros(3)])
    np.testing.assert_array_equal(pad_or_trim(x, length=30, offset=0)[:20], x)
    np.testing.assert_array_equal(pad_or_trim(x, length=30, offset=10)[10:], x)


def test_pad_or_trim_is_deterministic_and_leaves_input_alone():
    x = np.random.default_rng(0).standard_normal(70000).astype(np.float32)
    before = x.copy()
    a, b = pad_or_trim(x), pad_or_trim(x)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(a, x[11000:59000])


def test_pad_or_trim_out_of_range_offset_never_returns_a_short_clip():
    x = np.arange(100, dtype=np.float32)
    try:
        out = pad_or_trim(x, length=50, offset=80)
    except ValueError:
        return
    assert len(out) == 50


# --------------------------------------------------------------------------- speech detection


def test_speech_bounds_trims_the_silence_of_a_real_clip(asset_flacs):
    trimmed_both_sides = 0
    for path in asset_flacs:
        w = load_audio(path)
        start, end = speech_bounds(w)
        assert 0 <= start < end <= len(w)
        assert end - start < 0.9 * len(w), path.name  # every RAVDESS take starts or ends in silence
        trimmed_both_sides += 0 < start and end < len(w)
        loudest = int(np.argmax(frame_db(w))) * HOP
        assert start <= loudest < end, path.name
        # what was cut is far quieter than the speech that was kept
        for cut in (w[:start], w[end:]):
            if len(cut) > HOP:
                assert rms_db(cut) < rms_db(w[start:end]) - 20, path.name
        np.testing.assert_array_equal(speech.trim_silence(w), w[start:end])
    assert trimmed_both_sides >= 12


def test_speech_span_finds_a_synthetic_utterance():
    """The level locator alone: a tone with syllable-rate swells between -75 dBFS room noise.
    (speech_bounds, which judges levels only, finds the same span; the Predictor's voice gate
    refuses it as no voice: tests/test_nonspeech.py.)"""
    from emotion.audio.speech import frame_levels, speech_span

    rng = np.random.default_rng(7)
    sr = SAMPLE_RATE
    wave = rng.normal(0, 10 ** (-75 / 20), 4 * sr).astype(np.float32)  # -75 dBFS room noise
    t = np.arange(int(1.5 * sr)) / sr
    syllables = 0.5 * (1 - np.cos(2 * np.pi * 4 * t))  # 4 syllables per second
    wave[sr : sr + len(t)] += (0.3 * syllables * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    start, end = speech_span(frame_levels(wave)[0], len(wave))
    pad = int(speech.PAD_SECONDS * sr)
    assert abs(start - (sr - pad)) <= 0.05 * sr
    assert abs(end - (sr + len(t) + pad)) <= 0.05 * sr
    assert speech_bounds(wave) == (start, end)


def test_speech_bounds_finds_a_real_sentence_set_in_silence(asset_flacs):
    rng = np.random.default_rng(7)
    sr = SAMPLE_RATE
    w = load_audio(asset_flacs[0])
    s0, s1 = speech_bounds(w)
    sentence = w[s0:s1]
    wave = rng.normal(0, 10 ** (-75 / 20), 2 * sr + len(sentence)).astype(np.float32)
    wave[sr : sr + len(sentence)] += sentence  # one second of room noise either side
    start, end = speech_bounds(wave)
    # the sentence keeps its own padding; the located span sits where it was put, within 50 ms
    assert abs(start - sr) <= 0.05 * sr + (s0 > 0) * speech.PAD_SECONDS * sr
    assert abs(end - (sr + len(sentence))) <= 0.05 * sr + speech.PAD_SECONDS * sr
    assert end - start < len(sentence) + 2 * speech.PAD_SECONDS * sr + 0.1 * sr


# --------------------------------------------------------------------------- refusals


def _write(path, data, sr=SAMPLE_RATE, **kw):
    sf.write(path, data, sr, **kw)
    return path


def _speechless(kind: str, sr: int = SAMPLE_RATE, seconds: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    n = int(sr * seconds)
    if kind == "silence":
        return np.zeros(n, np.float32)
    if kind == "quiet noise":
        return rng.normal(0, 10 ** (-70 / 20), n).astype(np.float32)
    if kind == "loud noise":
        return rng.normal(0, 0.3, n).astype(np.float32)
    if kind == "tone":
        return sine(1000, sr, seconds, 0.5)
    if kind == "square":
        return np.clip(5 * sine(200, sr, seconds, 1.0), -0.8, 0.8)
    raise KeyError(kind)


def _error_case(case: str, d: Path):
    """Build the input for one refusal case in folder d; return a call that must raise AudioError."""
    tone = sine(200, SAMPLE_RATE, 1.0)
    if case == "missing file":
        return lambda: load_audio(d / "nope.wav")
    if case == "0-byte file":
        (d / "empty.wav").write_bytes(b"")
        return lambda: load_audio(d / "empty.wav")
    if case == "empty bytes":
        return lambda: load_audio(b"")
    if case == "header only":
        _write(d / "h.wav", np.zeros((0, 1), np.float32))
        return lambda: load_audio(d / "h.wav")
    if case == "random bytes .wav":
        (d / "r.wav").write_bytes(np.random.default_rng(1).bytes(4096))
        return lambda: load_audio(d / "r.wav")
    if case == "random bytes":
        return lambda: load_audio(np.random.default_rng(1).bytes(4096))
    if case == "text file":
        (d / "notes.txt").write_text("Kids are talking by the door.\n" * 50)
        return lambda: load_audio(d / "notes.txt")
    if case == "NaN float WAV":
        _write(d / "nan.wav", np.r_[tone, [np.nan]], subtype="FLOAT")
        return lambda: load_audio(d / "nan.wav")
    if case == "Inf float WAV":
        _write(d / "inf.wav", np.r_[[np.inf], tone], subtype="FLOAT")
        return lambda: load_audio(d / "inf.wav")
    if case == "10 ms":
        _write(d / "short.wav", tone[:160])
        return lambda: load_audio(d / "short.wav")
    if case == "silence":
        _write(d / "s.wav", _speechless("silence"))
        return lambda: prepare(d / "s.wav")
    if case == "quiet white noise":
        return lambda: prepare(_speechless("quiet noise"), SAMPLE_RATE)
    if case == "loud steady noise":
        return lambda: prepare(_speechless("loud noise", 44100), 44100)
    if case == "pure tone":
        return lambda: prepare(_speechless("tone", 48000), 48000)
    if case == "clipped square wave":
        return lambda: prepare(_speechless("square"), SAMPLE_RATE)
    if case == "array without rate":
        return lambda: load_audio(tone)
    if case == "too long":
        return lambda: load_audio(np.tile(tone, 3), SAMPLE_RATE, max_seconds=1.0)
    if case == "rate too low":
        return lambda: load_audio(sine(200, 1000, 2.0), 1000)
    if case == "3-D array":
        return lambda: load_audio(np.zeros((2, 2, 16000), np.float32), SAMPLE_RATE)
    if case == "non-numeric array":
        return lambda: load_audio(np.array(["a", "b"] * 8000), SAMPLE_RATE)
    raise KeyError(case)


ERROR_CASES = {  # case: what the message must say (regex, case-insensitive)
    "missing file": r"no such|not found|exist",
    "0-byte file": r"empty|0 bytes",
    "empty bytes": r"empty",
    "header only": r"no samples|empty",
    "random bytes .wav": r"could not read",
    "random bytes": r"could not read",
    "text file": r"could not read",
    "NaN float WAV": r"nan|invalid",
    "Inf float WAV": r"infinit|invalid",
    "10 ms": r"too short",
    "silence": r"silent|no speech",
    "quiet white noise": r"silent|no speech",
    "loud steady noise": r"steady|noise",
    "pure tone": r"steady|tone",
    "clipped square wave": r"steady|tone",
    "array without rate": r"sample.?rate",
    "too long": r"too long",
    "rate too low": r"sample rate 1000 Hz; use audio sampled at 4 kHz to 384 kHz",
    "3-D array": r"shape",
    "non-numeric array": r"dtype|number",
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_unusable_input_raises_audio_error_with_a_message(tmp_path, case):
    call, pattern = _error_case(case, tmp_path), ERROR_CASES[case]
    with pytest.raises(AudioError) as info:
        call()
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.strip(), "empty message"
    assert re.search(pattern, message, re.IGNORECASE), message


# --------------------------------------------------------------------------- formats


def _variant(kind: str, x: np.ndarray, sr: int, d: Path) -> Path:
    from scipy.signal import resample_poly

    if kind in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"):
        return _write(d / f"{kind}.wav", x, sr, subtype=kind)
    if kind in ("22050", "96000"):
        new = int(kind)
        g = np.gcd(new, sr)
        return _write(d / f"{kind}.wav", resample_poly(x, new // g, sr // g).astype(np.float32), new, subtype="PCM_16")
    if kind == "6ch":
        return _write(d / "six.wav", np.tile(x[:, None], (1, 6)), sr, subtype="PCM_16")
    if kind == "FLAC":
        return _write(d / "v.flac", x, sr, subtype="PCM_16")
    if kind == "OGG":
        return _write(d / "v.ogg", x, sr, format="OGG", subtype="VORBIS")
    if kind == "MP3":
        return _write(d / "v.mp3", x, sr, format="MP3", subtype="MPEG_LAYER_III")
    raise KeyError(kind)


U8_ATOL = 0.1
VARIANTS = ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "22050", "96000", "6ch", "FLAC", "OGG", "MP3"]


@pytest.fixture(scope="module")
def variant_source(example_wavs):
    path = next(p for p in example_wavs if p.name == VARIANT_SOURCE)
    x, sr = sf.read(path, dtype="float32")
    assert sr == 48000 and x.ndim == 1
    return path, 0.9 * x / np.abs(x).max(), sr


@pytest.fixture(scope="module")
def variant_reference(variant_source, tiny_predictor):
    path, x, sr = variant_source
    return path, x, sr, tiny_predictor.predict(path)


def _check_variant(predictor, path, variant, ref, kind, atol):
    wave, orig = load_audio(variant), load_audio(path)
    lossy = kind in ("OGG", "MP3")
    assert abs(len(wave) - len(orig)) <= (0.1 * SAMPLE_RATE if lossy else 2)  # same duration
    assert 0 < wave.std() < 1 and np.abs(wave).max() <= 1
    probs = predictor.predict(variant)
    assert max(probs, key=probs.get) == max(ref, key=ref.get)
    np.testing.assert_allclose(list(probs.values()), list(ref.values()), atol=atol)
    if lossy:  # encoded bytes decode like the file
        np.testing.assert_array_equal(load_audio(variant.read_bytes()), wave)


@pytest.mark.parametrize("kind", VARIANTS)
def test_format_variant_predicts_like_original(tmp_path, variant_reference, tiny_predictor, kind):
    path, x, sr, ref = variant_reference
    # 8-bit quantisation noise (about -50 dBFS) lies above the 70 dB floor of the log-mel and
    # moves it by ~1.6 dB on average; the tiny test model, trained on 18 clean clips without
    # noise augmentation, shifts by up to ~0.06 there. 8-bit is a real degradation of the
    # signal, so both models get 0.1 there (same top label still required); 0.05 elsewhere.
    atol = U8_ATOL if kind == "PCM_U8" else 0.05
    _check_variant(tiny_predictor, path, _variant(kind, x, sr, tmp_path), ref, kind, atol)


@pytest.mark.parametrize("kind", VARIANTS)
def test_format_variant_predicts_like_original_shipped(tmp_path, variant_source, shipped_predictor, kind):
    path, x, sr = variant_source
    ref = shipped_predictor.predict(path)
    atol = U8_ATOL if kind == "PCM_U8" else 0.05  # the shipped model moves by ~0.06 on 8-bit
    _check_variant(shipped_predictor, path, _variant(kind, x, sr, tmp_path), ref, kind, atol)


def test_format_check_can_fail(example_wavs, asset_flacs, variant_reference, tiny_predictor):
    """Control for the test above: other recordings do NOT pass its check (same top emotion and
    probabilities within 0.05), so passing it means something. (The tiny model is near chance, so
    one other clip may by luck come close; most must not.)"""
    _, _, _, ref = variant_reference
    others = [p for p in list(example_wavs) + list(asset_flacs) if p.name != VARIANT_SOURCE]
    passes = 0
    for path in others:
        probs = tiny_predictor.predict(path)
        same_top = max(probs, key=probs.get) == max(ref, key=ref.get)
        passes += same_top and np.abs(np.subtract(list(probs.values()), list(ref.values()))).max() <= 0.05
    assert passes <= len(others) // 4, f"{passes} of {len(others)} other clips pass the check"


# --------------------------------------------------------------------------- 48 kHz originals vs FLAC twins


def _twins(shared: Path):
    originals = sorted((shared / "original-48k").glob("*.wav"))
    if not originals:
        pytest.skip(f"no 48 kHz originals in {shared / 'original-48k'}")
    pairs = []
    for wav in originals:
        flac = shared / "speech" / f"Actor_{wav.stem[-2:]}" / f"{wav.stem}.flac"
        assert flac.is_file(), f"FLAC twin of {wav.name} missing"
        pairs.append((wav, flac))
    return pairs


def test_48k_originals_match_their_flac_twins_in_log_mel(shared_ravdess):
    pairs = _twins(shared_ravdess)
    assert len(pairs) == 10
    for wav, flac in pairs:
        assert sf.info(wav).samplerate == 48000 and sf.info(flac).samplerate == 16000
        a, b = prepare(wav), prepare(flac)
        diff = float((log_mel_spectrogram(a) - log_mel_spectrogram(b)).abs().mean())
        assert diff < 0.5, f"{wav.name}: mean |log-mel difference| {diff:.2f} dB"


def test_48k_originals_predict_like_their_flac_twins(shared_ravdess, shipped_predictor):
    for wav, flac in _twins(shared_ravdess):
        p, q = shipped_predictor.predict(wav), shipped_predictor.predict(flac)
        assert max(p, key=p.get) == max(q, key=q.get), wav.name
        assert max(abs(p[k] - q[k]) for k in p) < 0.1, wav.name


def test_48k_originals_predict_like_their_flac_twins_tiny(shared_ravdess, tiny_predictor):
    for wav, flac in _twins(shared_ravdess):
        p, q = tiny_predictor.predict(wav), tiny_predictor.predict(flac)
        assert max(abs(p[k] - q[k]) for k in p) < 0.1, wav.name


@pytest.mark.parametrize("rate", [48000, 44100, 32000, 22050, 8000, 96000, 11025])
def test_resampler_gives_torchaudio_s_samples(rate):
    """emotion.audio.resampling lays torchaudio's Kaiser-sinc filter out for a faster conv1d (48 kHz: one
    409-tap phase becomes 16); the samples must be torchaudio's own at every length, to float32
    rounding (conv1d may sum in another order for another layout)."""
    import torchaudio

    from emotion.audio.resampling import _resampler, resample

    # the transform the front end used before (its kernel differs from functional.resample's in the last bits)
    reference = torchaudio.transforms.Resample(
        rate,
        16000,
        resampling_method="sinc_interp_kaiser",
        lowpass_filter_width=64,
        rolloff=0.9475,
        beta=14.769656459379492,
    )
    gen = torch.Generator().manual_seed(rate)
    for n in (rate // 2, rate // 2 + 1, 3 * rate + 7):
        x = torch.rand(n, generator=gen) * 2 - 1
        with torch.inference_mode():
            expected = reference(x)
        got = torch.from_numpy(resample(x.numpy(), rate))
        assert got.shape == expected.shape, (rate, n)
        torch.testing.assert_close(got, expected, atol=2e-6, rtol=0)
    if rate == 48000:
        assert _resampler(rate, 16000).kernel.shape[0] == 16  # the widened layout is the one used

"""The audio front end: whatever the user gives (a path, encoded bytes, an array, a stream) becomes
float32 mono at 16 kHz in [-1, 1], DC removed, and we learn where its speech is. No model here.

    io           the one module that opens audio (soundfile): read, decode block by block, seek,
                 mono, DC, the waveform's envelope, the model's 3-s window (pad_or_trim, clip_batch)
    resampling   Kaiser-sinc resampling to 16 kHz, whole or block by block with the same result
    speech       where the speech is, at what level and SNR; whether there is speech to judge (prepare)
    corruptions  seedable noise, reverberation, codecs and band limits (training's augmentation and
                 the robustness table)

The front end's API is exported here: `from emotion import audio; audio.load_audio(path)`.
May import: emotion.errors and emotion.labels only. Everything else in the library builds on it.
"""

from .io import (
    BLOCK_SECONDS,
    CLIP_SECONDS,
    MAX_SECONDS,
    MIN_SECONDS,
    N_SAMPLES,
    AudioError,
    AudioSource,
    Envelope,
    TooLongError,
    check_rate,
    clip_batch,
    clip_offset,
    duration,
    iter_blocks,
    load_audio,
    pad_or_trim,
    read_audio,
    read_seconds,
    to_mono,
)
from .resampling import SAMPLE_RATE, StreamResampler, resample

__all__ = [
    "SAMPLE_RATE",
    "CLIP_SECONDS",
    "N_SAMPLES",
    "MIN_SECONDS",
    "MAX_SECONDS",
    "BLOCK_SECONDS",
    "AudioError",
    "TooLongError",
    "AudioSource",
    "Envelope",
    "load_audio",
    "read_audio",
    "duration",
    "read_seconds",
    "iter_blocks",
    "check_rate",
    "to_mono",
    "pad_or_trim",
    "clip_offset",
    "clip_batch",
    "resample",
    "StreamResampler",
]

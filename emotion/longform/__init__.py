"""Recordings longer than one window (long-form audio): emotion over time, who spoke when, what was said.
Predictor.timeline and Predictor.transcript are the way in; the modules:

    timeline       a long recording window by window in bounded memory (decoded a minute at a time)
    long_input     the arithmetic of windows: the seconds each stands for, the speech-weighted
                   headline, what the model heard, the summary per speaker
    speakers       who spoke when: speaker turns over the speech (diarisation)
    voice_encoder  the GE2E voice encoder (resemblyzer's weights) that tells speakers apart
    transcript     what was said and how: faster-whisper's utterances, each with its emotion
    subtitles      a transcript written out: JSON, CSV, SubRip (SRT) and WebVTT

May import: emotion.audio, emotion.model, emotion.errors, emotion.labels (not the Predictor: it is
handed in).
"""

from .long_input import speaker_summary
from .subtitles import as_json, srt, vtt

__all__ = ["speaker_summary", "as_json", "srt", "vtt"]

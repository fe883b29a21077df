"""What one prediction holds for a user interface to show (Predictor.analyze returns it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from .clarity import DEFAULT_MARGIN, Verdict, verdict


@dataclass
class Analysis:
    """Everything about one prediction that a user interface may want to show."""

    probabilities: Dict[str, float]  # every label of the checkpoint -> probability, summing to 1
    wave: Optional[np.ndarray]  # the whole input, 16 kHz mono (samples,); None over PREDICT_MAX_SECONDS
    speech: tuple  # (start, end) sample indices of the detected speech (long input: of all windows)
    clip: Optional[np.ndarray]  # what the model saw (long input: window `window`), (N_SAMPLES,)
    mel: Optional[np.ndarray]  # the spectrogram the model read, shape = (n_mels, n_frames): the CNN's
    # 64-band log-mel in dB [-TOP_DB, 0], or Whisper's 80-band log-mel (about [-1.5, 1.5])
    saliency: Optional[np.ndarray] = None  # with analyze(explain=True): like mel, in [0, 1]
    judged: tuple = ()  # ((start, end), ...) in s: every span of the input the model heard
    timeline: Optional[object] = None  # speech longer than one window: Predictor.timeline's rows
    window: Optional[int] = None  # long input: the row whose clip, mel and saliency are kept
    seconds: float = 0.0  # the input's duration
    familiarity: Optional[dict] = None  # Familiarity.describe: how unlike the training clips it sounds
    margin: float = DEFAULT_MARGIN  # the checkpoint's near-tie margin (emotion.clarity)

    @property
    def top(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def verdict(self) -> Verdict:
        """What the model says about the recording, by the rule every other answer follows (emotion.clarity)."""
        return verdict(self.probabilities, self.familiarity, self.margin)

"""Predictor: the single entry point to inference (the app and the command-line programs use it).
Its command line is emotion.predict (`python -m emotion.predict FILE...`).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from . import audio
from .analysis import Analysis
from .audio import AudioError, AudioSource
from .audio.speech import speech_bounds
from .clarity import DEFAULT_MARGIN, load_margin, verdict
from .labels import speaker_id
from .longform import long_input
from .longform.timeline import SINGLE_WINDOW_SECONDS
from .longform.timeline import timeline as _timeline
from .model import HeadStack
from .model import checkpoint as checkpoint_format
from .model.checkpoint import CheckpointError
from .model.familiarity import Familiarity
from .model.gate import MUSIC, VoiceGate, voiced

# Input up to this long is decoded whole (for the display of its waveform); longer input (up to
# audio.MAX_SECONDS) only by the timeline, block by block (30 min at 8 kHz whole took 1.2 GB).
PREDICT_MAX_SECONDS = 60.0


class Predictor:
    """Loads a checkpoint (one model or an ensemble of fold models) and predicts emotions."""

    def __init__(self, checkpoint: dict, int8: Optional[bool] = None, precision: Optional[str] = None, margin=None):
        """int8: run the Whisper encoder's linear layers in int8 (default: as the checkpoint says);
        precision: fp32/bf16/auto for the encoder (default EMOTION_PRECISION, else fp32); margin:
        the near-tie margin of every verdict (emotion.clarity; from_checkpoint reads near_tie.json)."""
        from .model.precision import resolve

        self.precision = resolve(precision)
        self.margin = DEFAULT_MARGIN if margin is None else float(margin)
        self.backbone = checkpoint_format.validate(checkpoint)  # emotion.model.backbone: chosen here, once
        self.labels = tuple(checkpoint["labels"])
        self.checkpoint_info = {k: v for k, v in checkpoint.items() if k != "models"}
        try:
            self.config = self.backbone.config(checkpoint["model_config"])
        except TypeError as exc:
            raise CheckpointError(f"Checkpoint model config does not fit this code: {exc}") from None
        if int8 is None:
            int8 = bool(checkpoint.get("encoder", {}).get("int8", False))
        # None: the model reads the spectrogram; bf16: its weights stored in bf16 (encoder.load_encoder)
        self.encoder = self.backbone.load_encoder(int8=bool(int8), bf16=self.precision == "bf16" and not int8)
        self.int8 = bool(int8) and self.encoder is not None
        self.models: List[torch.nn.Module] = []
        for state in checkpoint["models"]:
            model = self.backbone.build(self.config)
            try:
                model.load_state_dict(state)
            except (RuntimeError, TypeError, AttributeError) as exc:
                raise CheckpointError(f"Checkpoint weights do not fit its model config: {exc}") from None
            self.models.append(model.eval())
        self._stacks: Dict[tuple, HeadStack] = {}  # Whisper heads run as one (model.HeadStack)
        self.temperature = float(checkpoint.get("temperature", 1.0))
        # speakers as the library shows them (labels.speaker_id): RAVDESS actors are ints, others text
        self.train_actors = [speaker_id(a) for a in checkpoint.get("train_actors", [])]
        self.folds = [
            {**f, **{k: [speaker_id(a) for a in f[k]] for k in ("train_actors", "val_actors") if k in f}}
            for f in checkpoint.get("folds", [])
        ]
        self.familiarity = Familiarity.from_checkpoint(checkpoint) if self.encoder is not None else None
        # is it a voice? the learned gate on the encoder states (emotion.model.gate); None: nothing refused as music
        self.gate = VoiceGate.from_checkpoint(checkpoint)

    @property
    def description(self) -> str:
        """One line for users: which model this is."""
        return self.backbone.describe(self.config, len(self.models))

    @classmethod
    def from_checkpoint(cls, path=None, int8: Optional[bool] = None, precision: Optional[str] = None) -> "Predictor":
        """Load a checkpoint file (default: the shipped checkpoints/emotion.pt) and its near-tie margin."""
        path = checkpoint_format.default_path(path)
        return cls(checkpoint_format.load(path), int8=int8, precision=precision, margin=load_margin(path))

    def features(self, waves: torch.Tensor) -> torch.Tensor:
        """The spectrogram the model reads, for fixed-length 16 kHz waves (batch, N_SAMPLES):
        shape = (batch, n_mels, n_frames)."""
        with torch.inference_mode():
            return self.backbone.features(waves)

    def logits_from_features(
        self,
        mel: torch.Tensor,
        models: Optional[Sequence[int]] = None,
        distance: bool = False,
        info: Optional[dict] = None,
    ):
        """Mean logits of the chosen models (default all) for features(); differentiable when
        called with gradients enabled. The encoder runs once for all heads. distance=True:
        (logits, each clip's Familiarity distance, or None without one in the checkpoint).
        info, when given, receives "voice": each clip's voice probability from the gate
        (emotion.model.gate; None without one), read from the same encoder states."""
        chosen = [self.models[i] for i in (models if models is not None else range(len(self.models)))]
        if self.encoder is None:
            logits = torch.stack([m(mel)[0] for m in chosen]).mean(dim=0)
            if info is not None:
                info["voice"] = None
            return (logits, None) if distance else logits
        x = chosen[0].select(self.states(mel))
        logits = self._stack(chosen)(x).mean(dim=0)
        if info is not None:
            info["voice"] = None if self.gate is None else self.gate.voice(x)
        dist = None if self.familiarity is None or not distance else self.familiarity.distance(x.detach())
        return (logits, dist) if distance else logits

    def voiced(self, waves: torch.Tensor, voice: Optional[torch.Tensor]) -> List[bool]:
        """Which clips sound like a voice: the gate's verdict on info["voice"] of logits_from_features
        (the CNN: on the waves; emotion.model.gate.voiced)."""
        return voiced(self.gate, waves, voice)

    def states(self, mel: torch.Tensor) -> torch.Tensor:
        """The encoder's hidden states for features() in float32, (n_layers + 1, batch, frames, 512),
        computed in this Predictor's precision; with gradients on (saliency) always by the fp32
        encoder, since int8 layers have no gradient and the bf16 weights are for inference."""
        from .model.precision import context

        if not torch.is_grad_enabled():
            with context(self.precision):
                return self.encoder(mel, n_layers=self.config.n_layers).float()
        return self.backbone.load_encoder()(mel, n_layers=self.config.n_layers)  # the cached fp32 encoder

    def _stack(self, heads: Sequence[torch.nn.Module]) -> HeadStack:
        """The chosen heads as one HeadStack (built on first use, kept per choice of heads)."""
        key = tuple(heads)  # the modules themselves: a list replaced later gives new keys
        if key not in self._stacks:
            self._stacks[key] = HeadStack(heads).eval()
        return self._stacks[key]

    def scale(self, distance: Optional[torch.Tensor]):
        """What the logits are divided by: the temperature, times Familiarity.temper beyond its threshold."""
        return self.temperature * (1.0 if distance is None else self.familiarity.temper(distance)[:, None])

    def logits(self, waves: torch.Tensor, models: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Mean logits of the chosen models (default all) for fixed-length 16 kHz waves.

        waves : shape = (batch, N_SAMPLES); returns shape = (batch, len(self.labels)).
        """
        with torch.inference_mode():
            return self.logits_from_features(self.features(waves), models)

    def probabilities(self, waves: torch.Tensor, distances: bool = False, info: Optional[dict] = None):
        """Calibrated probabilities, shape = (batch, len(self.labels)), rows summing to 1 (tempered
        for unfamiliar audio); distances=True: (probabilities, distances or None). info, when
        given, receives "voiced": which clips sound like a voice (Predictor.voiced)."""
        inner = {}
        with torch.inference_mode():
            logits, dist = self.logits_from_features(self.features(waves), distance=True, info=inner)
        probs = torch.softmax(logits / self.scale(dist), dim=-1)
        if info is not None:
            info["voiced"] = self.voiced(waves, inner["voice"])
        return (probs, dist) if distances else probs

    def analyze(
        self, source: AudioSource, sample_rate: Optional[int] = None, explain: bool = False, display: bool = True
    ) -> Analysis:
        """Predict one recording and keep the intermediate signals for display; explain=True
        also computes the saliency map (emotion.explain) from the same forward pass.
        display=False (predict, the JSON API): for long input no clip or mel (one more model pass).
        Detected speech of up to SINGLE_WINDOW_SECONDS is one clip (centred, cropped or padded
        to 3 s); longer speech, and input over PREDICT_MAX_SECONDS, is judged by the timeline:
        the speech-weighted mean of its windows (emotion.longform.long_input)."""
        try:  # a file is decoded once: here, or block by block by the timeline when it is longer
            wave = audio.load_audio(source, sample_rate, max_seconds=PREDICT_MAX_SECONDS)
        except audio.TooLongError as long:
            return self._analyze_long(source, sample_rate, explain, None, long.seconds, display)
        seconds, (start, end) = len(wave) / audio.SAMPLE_RATE, speech_bounds(wave)
        if end - start > SINGLE_WINDOW_SECONDS * audio.SAMPLE_RATE:
            try:
                return self._analyze_long(source, sample_rate, explain, wave, seconds, display)
            except AudioError:
                pass  # the timeline finds no stretch of speech: the one span, as a clip
        clip = audio.pad_or_trim(wave[start:end])
        probs, mel, sal, dist = self._judge(clip, explain)
        judged = long_input.judged_span(start / audio.SAMPLE_RATE, end / audio.SAMPLE_RATE)
        return Analysis(
            probabilities=dict(zip(self.labels, probs)),
            wave=wave,
            speech=(start, end),
            clip=clip,
            mel=mel,
            saliency=sal,
            judged=(judged,),
            seconds=seconds,
            familiarity=self._familiar(dist),
            margin=self.margin,
        )

    def _familiar(self, distance, weights=None) -> Optional[dict]:  # long input: the windows' weighted mean
        ok = distance is not None and self.familiarity is not None
        return self.familiarity.describe(float(np.average(distance, weights=weights))) if ok else None

    def verdicts(self, probabilities: np.ndarray, distances=None) -> list:
        """The Verdict (emotion.clarity) of each row of probabilities (n, labels) and distance (or None)."""
        rows = [dict(zip(self.labels, map(float, p))) for p in probabilities]
        dists = [None] * len(rows) if distances is None else list(distances)
        return [verdict(r, self._familiar(None if d is None else [float(d)]), self.margin) for r, d in zip(rows, dists)]

    def _judge(self, clip: np.ndarray, explain: bool):
        """(probabilities as a list, the mel, the saliency or None, the distance or None) of one 3-s clip."""
        mel = self.features(torch.from_numpy(clip)[None])
        sal, info = None, {}
        if explain and not self.int8:
            from .explain import explain_features

            logp, sal = explain_features(self, mel, info=info)
            probs, dist = logp.double().exp(), info.get("distance")
        else:
            with torch.inference_mode():
                logits, dist = self.logits_from_features(mel, distance=True, info=info)
                probs = torch.softmax(logits / self.scale(dist), dim=-1)[0].double()
        if not self.voiced(torch.from_numpy(clip)[None], info["voice"])[0]:
            raise AudioError(MUSIC)  # the same states said: no voice (emotion.model.gate)
        if explain and self.int8:  # an int8 encoder has no gradient: the map comes from the float one
            from .explain import explain_features

            sal = explain_features(self, mel)[1]
        return (probs / probs.sum()).tolist(), mel[0].numpy(), sal, None if dist is None else float(dist[0])

    def _analyze_long(
        self, source, sample_rate, explain: bool, wave: Optional[np.ndarray], seconds: float, display: bool = True
    ) -> Analysis:
        """Speech longer than one window: the timeline, its speech-weighted mean, and the
        window that best shows the headline (its clip, mel and saliency for display)."""
        frame = _timeline(self, source, sample_rate, wave=wave)  # the decoded wave, when there is one
        probs, row = long_input.summarise(frame, [c for c in self.labels if c in frame.columns])
        s, e = float(frame["start"].iloc[row]), float(frame["end"].iloc[row])
        clip = mel = sal = None
        if display:
            if wave is not None:
                segment = wave[int(round(s * audio.SAMPLE_RATE)) : int(round(e * audio.SAMPLE_RATE))]
            else:
                segment = audio.read_seconds(source, sample_rate, s, e)  # seeks: decodes these seconds only
            clip = audio.pad_or_trim(segment)
            _, mel, sal, _ = self._judge(clip, explain)
        span = (
            int(round(frame["start"].min() * audio.SAMPLE_RATE)),
            int(round(frame["end"].max() * audio.SAMPLE_RATE)),
        )
        return Analysis(
            probabilities={k: probs.get(k, 0.0) for k in self.labels},
            wave=wave,
            speech=span,
            clip=clip,
            mel=mel,
            saliency=sal,
            judged=tuple(long_input.judged_spans(frame)),
            timeline=frame,
            window=row,
            seconds=seconds,
            familiarity=self._familiar(
                frame.attrs.get("distance"), long_input.speech_weights(frame["start"], frame["end"]) + 1e-9
            ),
            margin=self.margin,
        )

    def predict(self, source: AudioSource, sample_rate: Optional[int] = None) -> Dict[str, float]:
        """{label: probability} for every label of the checkpoint (Predictor.labels), summing to 1:
        the speech as one clip, or for speech longer than one window the speech-weighted mean of
        the timeline's windows (Predictor.analyze, emotion.longform.long_input).
        source : a path, encoded bytes, or an array of shape (samples,) or (samples, channels)
            (then sample_rate is required). Raises AudioError for input that holds no usable speech.
        """
        return self.analyze(source, sample_rate, display=False).probabilities

    def timeline(self, source: AudioSource, sample_rate: Optional[int] = None, speakers=None):
        """Emotion over time for a recording of any length (see emotion.longform.timeline): a pandas DataFrame,
        one row per window of speech: start, end (s), a probability column per label, emotion, verdict;
        speakers "auto" or N adds the speaker of each window (emotion.longform.speakers)."""
        return _timeline(self, source, sample_rate, speakers=speakers)

    def transcript(self, source: AudioSource, sample_rate: Optional[int] = None, language=None, speakers=None):
        """What was said, and how (see emotion.longform.transcript): a pandas DataFrame, one row per utterance:
        start, end (s), text, emotion, a probability column per label, note, verdict (judged on its share);
        speakers "auto" or N adds who said it (utterances cut where the speaker changes)."""
        from .longform.transcript import transcript

        return transcript(self, source, sample_rate, language, speakers)

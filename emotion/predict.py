"""Predictor: the single entry point to inference (the app and the command-line programs use it).

    python -m emotion.predict FILE... [--checkpoint P]   # top-3 emotions per file
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import audio, long_input
from . import checkpoint as checkpoint_format
from .audio import AudioError, AudioSource
from .checkpoint import CheckpointError, feature_config  # noqa: F401  (re-exported: emotion.CheckpointError)
from .timeline import SINGLE_WINDOW_SECONDS, timeline as _timeline
from .features import log_mel_spectrogram
from .labels import EMOTIONS
from .model import EmotionNet, EncoderHead, HeadConfig, ModelConfig

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "emotion.pt"
# Input up to this long is decoded whole (for the display of its waveform); longer input (up to
# audio.MAX_SECONDS) only by the timeline, block by block (30 min at 8 kHz whole took 1.2 GB).
PREDICT_MAX_SECONDS = 60.0


def backbone_features(backbone: str, waves: torch.Tensor) -> torch.Tensor:
    """The spectrogram a backbone reads: (batch, N_SAMPLES) 16 kHz -> (batch, n_mels, n_frames)."""
    if backbone == "cnn":
        return log_mel_spectrogram(waves)
    from . import encoder
    return encoder.features(waves)


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

    @property
    def top(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)


class Predictor:
    """Loads a checkpoint (one model or an ensemble of fold models) and predicts emotions."""

    def __init__(self, checkpoint: dict, int8: Optional[bool] = None):
        """int8: run the Whisper encoder's linear layers in int8 (default: as the checkpoint says)."""
        self.backbone = checkpoint_format.validate(checkpoint)
        self.labels = tuple(checkpoint["labels"])
        self.checkpoint_info = {k: v for k, v in checkpoint.items() if k != "models"}
        self.encoder, self.int8 = None, False
        if self.backbone == "cnn":
            self.config = ModelConfig(**checkpoint["model_config"])
            build = EmotionNet
        else:
            from . import encoder
            self.config = HeadConfig(**{**checkpoint["model_config"], "layers": tuple(checkpoint["model_config"]["layers"])})
            if int8 is None:
                int8 = bool(checkpoint["encoder"].get("int8", False))
            self.int8 = bool(int8)
            self.encoder = encoder.load_encoder(int8=self.int8)  # EncoderWeightsError names the pip fix
            build = EncoderHead
        self.models: List[torch.nn.Module] = []
        for state in checkpoint["models"]:
            model = build(self.config)
            try:
                model.load_state_dict(state)
            except (RuntimeError, TypeError, AttributeError) as exc:
                raise CheckpointError(f"Checkpoint weights do not fit its model config: {exc}") from None
            self.models.append(model.eval())
        self.temperature = float(checkpoint.get("temperature", 1.0))
        # RAVDESS actors are ints; a manifest's speakers may be any text (numbers read as ints: "03" is actor 3)
        self.train_actors = [int(a) if str(a).isdigit() else str(a) for a in checkpoint.get("train_actors", [])]
        self.folds = checkpoint.get("folds", [])

    @property
    def description(self) -> str:
        """One line for users: which model this is."""
        n = len(self.models)
        if self.backbone == "cnn":
            return f"CNN-BiLSTM on a 64-band log-mel, trained from scratch ({n} fold models)"
        return (f"frozen Whisper-base encoder (layers {', '.join(map(str, self.config.layers))}) "
                f"+ BiLSTM head ({n} fold heads)")

    @classmethod
    def from_checkpoint(cls, path=None, int8: Optional[bool] = None) -> "Predictor":
        """Load a checkpoint file (default: the shipped checkpoints/emotion.pt)."""
        return cls(checkpoint_format.load(path if path is not None else DEFAULT_CHECKPOINT), int8=int8)

    def features(self, waves: torch.Tensor) -> torch.Tensor:
        """The spectrogram the model reads, for fixed-length 16 kHz waves (batch, N_SAMPLES):
        shape = (batch, n_mels, n_frames)."""
        with torch.inference_mode():
            return backbone_features(self.backbone, waves)

    def logits_from_features(self, mel: torch.Tensor, models: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Mean logits of the chosen models (default all) for features(); differentiable when
        called with gradients enabled. The encoder runs once for all heads."""
        chosen = [self.models[i] for i in (models if models is not None else range(len(self.models)))]
        if self.encoder is None:
            return torch.stack([m(mel)[0] for m in chosen]).mean(dim=0)
        enc = self.encoder
        if torch.is_grad_enabled():  # saliency: int8 layers have no gradient, the float encoder has
            from .encoder import load_encoder
            enc = load_encoder(int8=False)
        x = chosen[0].select(enc(mel, n_layers=self.config.n_layers))
        return torch.stack([m(x)[0] for m in chosen]).mean(dim=0)

    def logits(self, waves: torch.Tensor, models: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Mean logits of the chosen models (default all) for fixed-length 16 kHz waves.

        waves : shape = (batch, N_SAMPLES); returns shape = (batch, len(self.labels)).
        """
        with torch.inference_mode():
            return self.logits_from_features(self.features(waves), models)

    def probabilities(self, waves: torch.Tensor) -> torch.Tensor:
        """Calibrated probabilities, shape = (batch, len(self.labels)), rows summing to 1."""
        return torch.softmax(self.logits(waves) / self.temperature, dim=-1)

    def analyze(self, source: AudioSource, sample_rate: Optional[int] = None, explain: bool = False,
                display: bool = True) -> Analysis:
        """Predict one recording and keep the intermediate signals for display; explain=True
        also computes the saliency map (emotion.explain) from the same forward pass.
        display=False (predict, the JSON API): for long input no clip or mel (one more model pass).
        Detected speech of up to SINGLE_WINDOW_SECONDS is one clip (centred, cropped or padded
        to 3 s); longer speech, and input over PREDICT_MAX_SECONDS, is judged by the timeline:
        the speech-weighted mean of its windows (emotion.long_input)."""
        seconds = long_input.duration(source, sample_rate)
        if seconds is not None and seconds > PREDICT_MAX_SECONDS:
            return self._analyze_long(source, sample_rate, explain, None, seconds, display)
        wave = audio.load_audio(source, sample_rate, max_seconds=PREDICT_MAX_SECONDS)
        seconds, (start, end) = len(wave) / audio.SAMPLE_RATE, audio.speech_bounds(wave)
        if end - start > SINGLE_WINDOW_SECONDS * audio.SAMPLE_RATE:
            try:
                return self._analyze_long(source, sample_rate, explain, wave, seconds, display)
            except AudioError:
                pass  # the timeline finds no stretch of speech: the one span, as a clip
        clip = audio.pad_or_trim(wave[start:end])
        probs, mel, sal = self._judge(clip, explain)
        judged = long_input.judged_span(start / audio.SAMPLE_RATE, end / audio.SAMPLE_RATE)
        return Analysis(probabilities=dict(zip(self.labels, probs)), wave=wave, speech=(start, end), clip=clip,
                        mel=mel, saliency=sal, judged=(judged,), seconds=seconds)

    def _judge(self, clip: np.ndarray, explain: bool):
        """(probabilities as a list, the mel, the saliency or None) of one 3-s clip."""
        mel = self.features(torch.from_numpy(clip)[None])
        sal = None
        if explain and not self.int8:
            from .explain import explain_features
            logp, sal = explain_features(self, mel)
            probs = logp.double().exp()
        else:
            with torch.inference_mode():
                probs = torch.softmax(self.logits_from_features(mel) / self.temperature, dim=-1)[0].double()
            if explain:  # an int8 encoder has no gradient: the map comes from the float one
                from .explain import explain_features
                sal = explain_features(self, mel)[1]
        return (probs / probs.sum()).tolist(), mel[0].numpy(), sal

    def _analyze_long(self, source, sample_rate, explain: bool, wave: Optional[np.ndarray], seconds: float,
                      display: bool = True) -> Analysis:
        """Speech longer than one window: the timeline, its speech-weighted mean, and the
        window that best shows the headline (its clip, mel and saliency for display)."""
        frame = self.timeline(source, sample_rate)
        probs, row = long_input.summarise(frame, [c for c in self.labels if c in frame.columns])
        s, e = float(frame["start"].iloc[row]), float(frame["end"].iloc[row])
        clip = mel = sal = None
        if display:
            if wave is not None:
                segment = wave[int(round(s * audio.SAMPLE_RATE)):int(round(e * audio.SAMPLE_RATE))]
            else:
                segment = long_input.read_seconds(source, sample_rate, s, e)
            clip = audio.pad_or_trim(segment)
            _, mel, sal = self._judge(clip, explain)
        span = (int(round(frame["start"].min() * audio.SAMPLE_RATE)), int(round(frame["end"].max() * audio.SAMPLE_RATE)))
        return Analysis(probabilities={k: probs.get(k, 0.0) for k in self.labels}, wave=wave, speech=span,
                        clip=clip, mel=mel, saliency=sal, judged=tuple(long_input.judged_spans(frame)),
                        timeline=frame, window=row, seconds=seconds)

    def predict(self, source: AudioSource, sample_rate: Optional[int] = None) -> Dict[str, float]:
        """{label: probability} for every label of the checkpoint (Predictor.labels), summing to 1:
        the speech as one clip, or for speech longer than one window the speech-weighted mean of
        the timeline's windows (Predictor.analyze, emotion.long_input).
        source : a path, encoded bytes, or an array of shape (samples,) or (samples, channels)
            (then sample_rate is required). Raises AudioError for input that holds no usable speech.
        """
        return self.analyze(source, sample_rate, display=False).probabilities

    def timeline(self, source: AudioSource, sample_rate: Optional[int] = None):
        """Emotion over time for a recording of any length (see emotion.timeline).

        Returns a pandas DataFrame, one row per analysed window of speech: start and end in
        seconds, one probability column per label, and emotion (the top label).
        """
        return _timeline(self, source, sample_rate)


def top_k(probabilities: Dict[str, float], k: int = 3) -> List[tuple]:
    return sorted(probabilities.items(), key=lambda kv: -kv[1])[:k]


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def expand_paths(paths: Sequence[str]) -> List[Path]:
    """Files as given, folders searched recursively for audio files (sorted)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_SUFFIXES and f.is_file()))
        else:
            out.append(p)
    return out


def predict_rows(predictor: Predictor, files: Sequence[Path], timeline: bool = False,
                 progress: bool = True):
    """One row per file (or per analysed segment with timeline=True); unreadable files get a
    row with their error message instead of stopping the batch. Returns a pandas DataFrame."""
    rows = []
    for path in tqdm(files, desc="predicting", unit="file", disable=not progress or len(files) < 5):
        try:
            if timeline:
                table = predictor.timeline(path)
                table.insert(0, "file", str(path))
                rows.extend(table.to_dict("records"))
            else:
                probs = predictor.predict(path)
                rows.append(dict(file=str(path), emotion=top_k(probs, 1)[0][0], **probs))
        except AudioError as exc:
            rows.append(dict(file=str(path), error=str(exc)))
    frame = pd.DataFrame(rows)
    if "error" not in frame:
        frame["error"] = None
    return frame


def format_table(frame, timeline: bool, labels: Sequence[str] = EMOTIONS) -> str:
    lines = []
    for row in frame.to_dict("records"):
        if isinstance(row.get("error"), str):
            lines.append(f"{row['file']}\terror: {row['error']}")
            continue
        probs = {name: row[name] for name in labels if name in row}
        where = f"\t{row['start']:7.2f}-{row['end']:7.2f} s" if timeline else ""
        lines.append(f"{row['file']}{where}\t" + "  ".join(f"{n} {p:.0%}" for n, p in top_k(probs)))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m emotion.predict",
        description="Emotion of each audio file (files or folders, searched recursively).")
    ap.add_argument("paths", nargs="+", help="audio files or folders")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--format", choices=["table", "csv", "json"], default="table",
                    help="table: top-3 per line; csv/json: every probability")
    ap.add_argument("--timeline", action="store_true", help="one row per speech segment, for long recordings")
    args = ap.parse_args(argv)
    predictor = Predictor.from_checkpoint(args.checkpoint)
    files = expand_paths(args.paths)
    if not files:
        print("No audio files found (looked for " + ", ".join(AUDIO_SUFFIXES) + ").", file=sys.stderr)
        return 1
    frame = predict_rows(predictor, files, timeline=args.timeline)
    if args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False, float_format="%.4f"))
    elif args.format == "json":
        print(frame.to_json(orient="records", indent=1, double_precision=4))
    else:
        print(format_table(frame, args.timeline, predictor.labels))
    failed = frame["error"].notna().sum() if len(frame) else 0
    if failed:
        print(f"{failed} of {len(files)} file(s) could not be analysed (see 'error').", file=sys.stderr)
    return 1 if frame["error"].notna().all() else 0


if __name__ == "__main__":
    sys.exit(main())

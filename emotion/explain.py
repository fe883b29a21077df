"""Which parts of the spectrogram drove the prediction: a saliency map over the log-mel.

Method: gradients (not occlusion): gradient × input, with the spectrogram floor as the
baseline. For every time-frequency bin of the spectrogram the model read (the CNN's log-mel, or
the Whisper log-mel under the encoder), the gradient of the top
emotion's log-probability (through the whole ensemble: the models' logits averaged, then
calibrated; so the gradient is the average of the models' gradients) is multiplied by how far
the bin lies above the clip's floor (silence). That product is the first-order estimate
of how much the top emotion's log-probability would fall if the bin were silenced. The map
keeps its positive part, the evidence *for* the emotion (the absolute value would also light
up bins that speak against it: silencing those raises the score), lightly smoothed (SMOOTH
mel bins × frames box) and scaled to [0, 1] by its maximum. One forward and backward pass
through the ensemble: about 15 ms per CNN model on one core; for the Whisper heads, through the
encoder once, about 90 ms on 2 cores (benchmarks/bench_live.py).

Checked by deletion: silencing the 10 % most salient bins lowers the top emotion's
probability far more than silencing a random 10 % (tests/test_explain.py), for a trained
checkpoint; a checkpoint near chance level gives maps without that meaning.

    sal = saliency(predictor, analysis.clip)   # shape = (n_mels, n_frames), values in [0, 1]
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

SMOOTH = (3, 5)  # box filter: mel bins × frames (30 ms)
METHOD = "gradient × input (baseline: silence; positive part), averaged over the ensemble"


def log_probabilities(predictor, mel: torch.Tensor, info: Optional[dict] = None) -> torch.Tensor:
    """Calibrated log-probabilities of the ensemble for the spectrograms the model reads
    (Predictor.features), shape (batch, n_mels, n_frames) -> (batch, len(predictor.labels));
    differentiable: Predictor.logits_from_features with gradients on, through the encoder too.
    Tempered like Predictor.probabilities; info, when given, receives the clips' "distance" and
    "voice" (Predictor.logits_from_features)."""
    logits, distance = predictor.logits_from_features(mel, distance=True, info=info)
    if info is not None:
        info["distance"] = distance
    return F.log_softmax(logits / predictor.scale(distance), dim=-1)


def saliency(predictor, clip, target: Optional[str] = None) -> np.ndarray:
    """Saliency of the clip's log-mel for `target` (default: the top emotion).

    clip : the model's input, a 16 kHz wave of N_SAMPLES (Analysis.clip), numpy or tensor.
    Returns float32, shape = (n_mels, n_frames) like the clip's log-mel, in [0, 1]
    (all zeros when nothing has any influence). Deterministic.
    """
    wave = torch.as_tensor(np.asarray(clip, dtype=np.float32)).reshape(1, -1)
    mel = predictor.features(wave)  # (1, n_mels, n_frames), the spectrogram the model reads
    return explain_features(predictor, mel, target)[1]


def explain_features(predictor, mel: torch.Tensor, target: Optional[str] = None, info: Optional[dict] = None) -> tuple:
    """One forward and one backward pass: (calibrated log-probabilities, shape (len(predictor.labels),),
    and the saliency map of `target`, default the top emotion) for one spectrogram (1, n_mels,
    n_frames). Predictor.analyze(explain=True) takes both from here, so the app runs the model once."""
    floor = mel.amin()  # its silence level: -TOP_DB for the CNN's log-mel, Whisper's clip floor
    with torch.inference_mode(False), torch.enable_grad():
        x = mel.clone().requires_grad_(True)
        logp = log_probabilities(predictor, x, info)[0]
        k = int(logp.argmax()) if target is None else list(predictor.labels).index(target)
        (grad,) = torch.autograd.grad(logp[k], x)  # only w.r.t. the input: no parameter grads
    attribution = (grad * (mel - floor)).clamp(min=0.0)  # gradient × (input - silence), evidence for
    fh, fw = SMOOTH
    smooth = F.avg_pool2d(attribution[None], (fh, fw), stride=1, padding=(fh // 2, fw // 2), count_include_pad=False)[
        0, 0
    ]
    top = float(smooth.max())
    out = smooth / top if top > 0 else torch.zeros_like(smooth)
    return logp.detach(), out.clamp(0.0, 1.0).numpy().astype(np.float32)

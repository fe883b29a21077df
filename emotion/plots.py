"""The figures of one analysis (the Analyze tab), in the style of emotion.plot_base.

    waveform(wave, sr, judged=[(s, e)])       # the input, with what the model heard shaded
    spectrogram(mel)                           # the log-mel spectrogram the model saw
    probabilities({label: p})                  # horizontal bars for every label
    saliency_overlay(mel, sal)                 # the spectrogram with a saliency map over it

Probabilities over time are emotion.timeline_plots, the Metrics tab's figures emotion.metric_plots.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from .plot_base import ACCENT, BASE, MAX_POINTS, SMALL, SPEECH, WIDTH, envelope, figure, readable

__all__ = ["waveform", "spectrogram", "probabilities", "saliency_overlay", "SALIENT"]

SALIENT = (1.0, 0.22, 0.05)  # colour of the saliency overlay (its opacity is the saliency)


@readable
def waveform(
    wave,
    sr: int,
    speech: Optional[Sequence[int]] = None,
    title: str = "Waveform",
    judged: Sequence[Sequence[float]] = (),
    highlight: Optional[Sequence[float]] = None,
    xlim: Optional[Sequence[float]] = None,
) -> Figure:
    """The signal against time in seconds; `speech` = (start, end) samples is shaded, or else
    `judged` = [(start, end) s, ...]: what the model heard, with `highlight` (s) outlined.

    wave : shape = (samples,), or its envelope (times, low, high) (audio.Envelope.columns). Long
    signals are drawn as their min/max envelope (the same picture at screen resolution).
    """
    fig = figure(WIDTH, 2.2, left=0.15, bottom=0.5, top=0.35)
    ax = fig.add_subplot()
    is_envelope = isinstance(wave, tuple)
    if is_envelope:
        t, lo, hi = envelope(wave, sr)
        ax.fill_between(t, lo, hi, color=BASE, linewidth=0.4)
        seconds = float(t[-1] + (t[1] - t[0]) / 2) if len(t) > 1 else 0.0
        wave = np.concatenate([lo, hi]).astype(np.float32)
    n = len(wave) if is_envelope else np.asarray(wave).size
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    seconds = seconds if is_envelope else (n / float(sr) if n else 0.0)
    if not is_envelope and n > MAX_POINTS:
        cols = MAX_POINTS // 2
        usable = (n // cols) * cols
        blocks = wave[:usable].reshape(cols, -1)
        t = (np.arange(cols) + 0.5) * (usable / cols) / sr
        ax.fill_between(t, blocks.min(axis=1), blocks.max(axis=1), color=BASE, linewidth=0.4)
    elif not is_envelope and n:
        ax.plot(np.arange(n) / sr, wave, color=BASE, linewidth=0.6)
    if speech is not None and n and not judged:
        start, end = (float(s) / sr for s in speech)
        ax.axvspan(start, end, color=SPEECH, alpha=0.2, label="detected speech")
    for i, (start, end) in enumerate(judged):
        ax.axvspan(start, end, color=SPEECH, alpha=0.3, linewidth=0, label=None if i else "what the model heard")
    if highlight is not None:
        ax.axvspan(*highlight, facecolor="none", edgecolor=ACCENT, linewidth=1.5, label="in the spectrogram")
    if (speech is not None or judged) and n:
        ax.legend(
            loc="lower right",
            bbox_to_anchor=(1.0, 0.98),
            frameon=False,
            ncols=2,
            fontsize=SMALL - 1,
            handlelength=1.0,
            columnspacing=0.8,
            borderaxespad=0.0,
        )
    ax.set_xlim(*(xlim if xlim is not None else (0, max(seconds, 1e-3))))
    peak = float(np.abs(wave).max()) if n else 1.0
    ax.set_ylim(-max(peak, 1e-3) * 1.1, max(peak, 1e-3) * 1.1)
    ax.set_xlabel("time (s)")
    ax.set_yticks([])
    ax.set_title(title, loc="left")
    return fig


@readable
def spectrogram(
    mel: np.ndarray,
    hop_seconds: float = 0.01,
    vmin: Optional[float] = None,
    vmax: Optional[float] = None,
    title: str = "What the model heard (log-mel)",
    unit: str = "dB",
) -> Figure:
    """A log-mel spectrogram, shape = (n_mels, n_frames), time in seconds along x; the colour
    range is the spectrogram's own unless vmin/vmax are given (the CNN's log-mel is dB in
    [-70, 0], Whisper's log10 power scaled to about [-1.5, 1.5])."""
    mel = np.asarray(mel)
    n_mels, n_frames = mel.shape
    fig = figure(WIDTH, 2.5, left=0.7, right=1.0, bottom=0.5)
    ax = fig.add_subplot()
    im = ax.imshow(
        mel,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=vmin,
        vmax=vmax,
        extent=(0.0, n_frames * hop_seconds, 0, n_mels),
        interpolation="nearest",
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel bin")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=unit, pad=0.015, fraction=0.05)
    return fig


@readable
def probabilities(probs: Mapping[str, float], title: str = "Probability of each emotion") -> Figure:
    """Horizontal bars for every label, in the mapping's order (top to bottom); the highest in colour."""
    labels = list(probs)
    values = np.array([float(probs[k]) for k in labels])
    fig = figure(WIDTH, 0.3 * len(labels) + 0.8, left=1.15, right=0.1, bottom=0.35)
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    top = int(values.argmax()) if len(values) else -1
    colors = [ACCENT if i == top else BASE for i in range(len(labels))]
    ax.barh(y, values, color=colors, height=0.7)
    for i, v in enumerate(values):
        ax.text(min(v, 1.0) + 0.01, i, f"{v:.0%}", va="center", fontsize=SMALL)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xticks([0, 0.5, 1.0], ["0", "50%", "100%"])
    ax.set_title(title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


@readable
def saliency_overlay(
    mel: ArrayLike,
    sal: ArrayLike,
    hop_seconds: float = 0.01,
    vmin: Optional[float] = None,
    vmax: Optional[float] = None,
    title: str = "What the model heard; highlighted: what drove the prediction",
    t0: float = 0.0,
    xlim: Optional[Sequence[float]] = None,
) -> Figure:
    """The log-mel spectrogram (grey) with a saliency map in [0, 1] over it (opaque = salient).

    mel, sal : shape = (n_mels, n_frames), the same for both. t0: the time (s) of the first frame,
    so that the axis is the input's (as the waveform's); xlim: the range shown.
    """
    mel, sal = np.asarray(mel, dtype=float), np.clip(np.asarray(sal, dtype=float), 0.0, 1.0)
    if mel.shape != sal.shape:
        raise ValueError(f"saliency shape {sal.shape} differs from the spectrogram's {mel.shape}")
    n_mels, n_frames = mel.shape
    fig = figure(WIDTH, 2.5, left=0.7, right=1.0, bottom=0.5)
    ax = fig.add_subplot()
    extent = (t0, t0 + n_frames * hop_seconds, 0, n_mels)
    lo = float(mel.min()) if vmin is None else vmin
    hi = float(mel.max()) if vmax is None else vmax
    grey = np.clip((mel - lo) / max(hi - lo, 1e-9), 0.0, 1.0)[..., None]  # the spectrogram in grey
    alpha = (0.9 * sal**0.75)[..., None]  # a little stronger than linear: the salient parts stand out
    # composited here ("over", as two stacked images would be) and drawn as one RGB image: half the rendering
    ax.imshow(
        grey * (1.0 - alpha) + np.asarray(SALIENT) * alpha,
        origin="lower",
        aspect="auto",
        extent=extent,
        interpolation="nearest",
    )
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel bin")
    ax.set_title(title)
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    cmap = LinearSegmentedColormap.from_list("saliency", [(0.5, 0.5, 0.5), SALIENT])
    fig.colorbar(
        ScalarMappable(Normalize(0, 1), cmap), ax=ax, label="saliency", pad=0.015, fraction=0.05, ticks=[0, 0.5, 1]
    )
    return fig

"""Small matplotlib figures for the app: drawing only, no signal processing.

Every function returns a new `matplotlib.figure.Figure`, made without pyplot (`Figure(...)`):
none is in pyplot's global list, so one that nobody closes is freed like any other object.

    waveform(wave, sr, judged=[(s, e)])       # the input, with what the model heard shaded
    spectrogram(mel)                           # the log-mel spectrogram the model saw
    probabilities({label: p})                  # horizontal bars for every label
    timeline(frame, wave=None)                 # probabilities over time (Predictor.timeline rows)
    saliency_overlay(mel, sal)                 # the spectrogram with a saliency map over it

The figures of the Metrics tab (confusion matrix, reliability diagram) are in emotion.metric_plots.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import matplotlib

matplotlib.use("Agg")  # no display: render to images only (before anything imports pyplot)

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .long_input import window_spans  # noqa: E402  (how the timeline's windows share time)

DPI = 100
ACCENT = "#e4572e"  # highlighted bar (the top label)
BASE = "#4c72b0"  # other bars, the waveform
SPEECH = "#55a868"  # shading of the detected speech
MAX_POINTS = 4000  # longer waves are drawn as a min/max envelope of this many columns
SALIENT = (1.0, 0.22, 0.05)  # colour of the saliency overlay (its opacity is the saliency)
# One colour per emotion, in the order of emotion.EMOTIONS (calm/sad cool, angry/happy warm).
EMOTION_COLORS = {
    "neutral": "#9e9e9e",
    "calm": "#8fd3e8",
    "happy": "#f2c12e",
    "sad": "#3b6fb6",
    "angry": "#d62728",
    "fearful": "#8c5fb5",
    "disgust": "#5a9e4b",
    "surprised": "#f28e2b",
}
# Labels of other checkpoints (a manifest's own label set) get these, in the checkpoint's order.
OTHER_COLORS = (
    "#4c72b0",
    "#dd8452",
    "#55a868",
    "#c44e52",
    "#8172b3",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
)


def label_colors(labels: Sequence[str]) -> dict:
    """A colour per label: the emotion colours for RAVDESS's names, a fixed cycle for the others."""
    others = [name for name in labels if name not in EMOTION_COLORS]
    return {name: EMOTION_COLORS.get(name) or OTHER_COLORS[others.index(name) % len(OTHER_COLORS)] for name in labels}


# Readable at phone width (390 px): the PNGs are WIDTH inches at DPI (500 px), scaled to their
# column, so text is sized for a ~320-px one (12 pt = 17 px in the PNG: ~11 px there).
WIDTH = 5.0
# The emotion timeline spans a whole panel (about 1,200 px on a laptop): a 5-in figure there was a
# 300-px strip in which minutes of windows became a barcode. On a phone the page lets it scroll
# sideways inside its box at no less than TIMELINE_MIN_PX (ui/common.py CSS), text >= 10 px.
TIMELINE_WIDTH = 12.0
TIMELINE_MIN_PX = 860
TEXT, TITLE, SMALL = 12, 12, 11
RC = {
    "font.size": TEXT,
    "axes.titlesize": TITLE,
    "axes.labelsize": TEXT,
    "xtick.labelsize": TEXT,
    "ytick.labelsize": TEXT,
    "legend.fontsize": SMALL,
}


def _readable(draw):
    """Draw under RC (matplotlib reads the sizes when text is created), not changing global rcParams."""
    import functools

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return draw(*args, **kwargs)

    return wrapper


def _figure(
    width: float, height: float, left: float = 0.6, right: float = 0.15, bottom: float = 0.45, top: float = 0.3
) -> Figure:
    """A figure with fixed margins in inches (no layout engine: it costs more than the drawing)."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)
    return fig


@_readable
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

    wave : shape = (samples,), or its envelope (times, low, high) (timeline.file_envelope). Long
    signals are drawn as their min/max envelope (the same picture at screen resolution).
    """
    fig = _figure(WIDTH, 2.2, left=0.15, bottom=0.5, top=0.35)
    ax = fig.add_subplot()
    envelope = isinstance(wave, tuple)
    if envelope:
        t, lo, hi = _envelope(wave, sr)
        ax.fill_between(t, lo, hi, color=BASE, linewidth=0.4)
        seconds = float(t[-1] + (t[1] - t[0]) / 2) if len(t) > 1 else 0.0
        wave = np.concatenate([lo, hi]).astype(np.float32)
    n = len(wave) if envelope else np.asarray(wave).size
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    seconds = seconds if envelope else (n / float(sr) if n else 0.0)
    if not envelope and n > MAX_POINTS:
        cols = MAX_POINTS // 2
        usable = (n // cols) * cols
        blocks = wave[:usable].reshape(cols, -1)
        t = (np.arange(cols) + 0.5) * (usable / cols) / sr
        ax.fill_between(t, blocks.min(axis=1), blocks.max(axis=1), color=BASE, linewidth=0.4)
    elif not envelope and n:
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


@_readable
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
    fig = _figure(WIDTH, 2.5, left=0.7, right=1.0, bottom=0.5)
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


@_readable
def probabilities(probs: Mapping[str, float], title: str = "Probability of each emotion") -> Figure:
    """Horizontal bars for every label, in the mapping's order (top to bottom); the highest in colour."""
    labels = list(probs)
    values = np.array([float(probs[k]) for k in labels])
    fig = _figure(WIDTH, 0.3 * len(labels) + 0.8, left=1.15, right=0.1, bottom=0.35)
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


def _envelope(wave, sr: int):
    """(times, low, high): a wave (samples,) reduced to at most MAX_POINTS // 2 columns, or an
    envelope given as such a tuple already."""
    if isinstance(wave, tuple):
        t, lo, hi = (np.asarray(a, dtype=float) for a in wave)
        return t, lo, hi
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    cols = max(1, min(MAX_POINTS // 2, len(wave)))
    per = max(1, len(wave) // cols)
    usable = (len(wave) // per) * per
    blocks = wave[:usable].reshape(-1, per)
    t = (np.arange(len(blocks)) + 0.5) * per / sr
    return t, blocks.min(axis=1), blocks.max(axis=1)


@_readable
def timeline(
    frame,
    wave=None,
    sr: int = 16000,
    xlim: Optional[Sequence[float]] = None,
    title: str = "Emotion over time",
    width: float = WIDTH,
) -> Figure:
    """Probabilities over time, stacked (one colour per emotion), under the waveform envelope.

    frame : rows as Predictor.timeline returns them: start, end (s), a probability column per
        emotion (NaN rows: no speech, left blank), emotion. Overlapping windows share their overlap.
    wave : optional, the whole signal (samples,) at `sr`, or its envelope (times, low, high).
    xlim : the time range shown (default: the whole wave, or the rows).
    width : inches (at DPI); the margins stay the same, the time axis gets the rest.
    """
    # the probability columns: those between end and emotion, in the predictor's label order
    labels = [
        c for c in frame.columns if c not in ("start", "end", "duration") and getattr(frame[c].dtype, "kind", "") == "f"
    ]
    colors = label_colors(labels)
    starts = frame["start"].to_numpy(dtype=float) if len(frame) else np.zeros(0)
    ends = frame["end"].to_numpy(dtype=float) if len(frame) else np.zeros(0)
    probs = frame[labels].to_numpy(dtype=float) if len(frame) else np.zeros((0, len(labels)))
    height = 2.9 if wave is not None else 2.2
    fig = _figure(width, height + 0.3, left=0.7, right=1.35, bottom=0.5, top=0.3)
    if wave is not None:
        gs = fig.add_gridspec(2, 1, height_ratios=(1, 2.6), hspace=0.08)
        ax_wave = fig.add_subplot(gs[0])
        ax = fig.add_subplot(gs[1], sharex=ax_wave)
        t, lo, hi = _envelope(wave, sr)
        if len(t):
            ax_wave.fill_between(t, lo, hi, color=BASE, linewidth=0.4)
            peak = max(float(np.nanmax(np.abs(np.concatenate([lo, hi])))), 1e-3)
            ax_wave.set_ylim(-peak * 1.1, peak * 1.1)
        ax_wave.set_yticks([])
        ax_wave.tick_params(labelbottom=False)
        ax_wave.set_title(title)
        if xlim is None and len(t):
            xlim = (0.0, float(t[-1] + (t[1] - t[0] if len(t) > 1 else 0.0) / 2))
    else:
        ax = fig.add_subplot()
        ax.set_title(title)
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    left, right = window_spans(starts, ends)
    keep = np.isfinite(probs).all(axis=1)  # rows without speech stay blank
    left, right, probs = left[keep], right[keep], probs[keep]
    tops = np.cumsum(probs, axis=1)
    for k, name in enumerate(labels):  # one collection of rectangles per emotion (fast to draw)
        low = tops[:, k] - probs[:, k]
        verts = np.stack(
            [
                np.stack([left, low], 1),
                np.stack([right, low], 1),
                np.stack([right, tops[:, k]], 1),
                np.stack([left, tops[:, k]], 1),
            ],
            axis=1,
        )
        ax.add_collection(PolyCollection(verts, facecolors=colors[name], linewidths=0))
    if xlim is None:
        xlim = (float(starts.min()), float(ends.max())) if len(frame) else (0.0, 1.0)
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 1)
    ax.set_yticks([0, 0.5, 1.0], ["0", "50%", "100%"])
    ax.set_xlabel("time (s)")
    handles = [Patch(color=colors[name], label=name) for name in reversed(labels)]  # stacking order
    ax.legend(
        handles=handles,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=SMALL - 1,
        frameon=False,
        handlelength=1.0,
    )
    return fig


@_readable
def saliency_overlay(
    mel: np.ndarray,
    sal: np.ndarray,
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
    fig = _figure(WIDTH, 2.5, left=0.7, right=1.0, bottom=0.5)
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


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (for tests and saving); the figure stays usable."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()

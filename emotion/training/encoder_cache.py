"""The Whisper heads' encoder cache: the frozen encoder's hidden states of every clip, computed once per
clip and per augmentation variant and kept on disk (runs/cache/, float16, every layer up to the
deepest one used, pooled in time as the head pools them); training a head then reads only the cache.

Variant 0 is the clip exactly as the predictor prepares it (trimmed, centred in 3 s); variants 1..
are random copies: speed perturbation (or pitch and tempo perturbed apart, recipe.warp), a random
place in the 3-s window, and emotion.audio.corruptions.random_corruption (noise at 5-30 dB SNR,
reverberation, a telephone band).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .. import audio
from ..model import EncoderHead, HeadConfig, encoder, whisper_weights
from .data import Augment, ClipDataset
from .recipes import HeadRecipe

CACHE_DIR = Path("runs/cache")
ENCODE_BATCH = 16


def encode_clips(clips: torch.Tensor, n_layers: int, time_pool: int, desc: str) -> np.ndarray:
    """Encoder states of fixed-length clips (n, N_SAMPLES): (n, n_layers + 1, T / time_pool, 512), float16."""
    enc = encoder.load_encoder()
    head = EncoderHead(HeadConfig(layers=tuple(range(n_layers + 1)), time_pool=time_pool))
    out = None
    with torch.inference_mode():
        for i in tqdm(range(0, len(clips), ENCODE_BATCH), desc=desc, unit="batch", leave=False):
            x = head.select(enc(encoder.features(clips[i : i + ENCODE_BATCH]), n_layers=n_layers))
            if out is None:
                out = np.empty((len(clips),) + tuple(x.shape[1:]), dtype=np.float16)
            out[i : i + len(x)] = x.numpy().astype(np.float16)
    return out


def variant_clips(
    frame: pd.DataFrame, waves: List[np.ndarray], variant: int, recipe: HeadRecipe, seed: int
) -> torch.Tensor:
    """The fixed-length clips of one variant: 0 clean and centred, others augmented (seeded)."""
    if variant == 0:
        return audio.clip_batch(waves)
    from ..audio.corruptions import random_corruption

    data = ClipDataset(
        frame,
        Augment(speed_prob=recipe.speed_prob, warp=recipe.warp, gain_db=0.0, noise_prob=0.0),
        seed=seed * 1000 + variant,
        waves=waves,
    )
    rng = np.random.default_rng(seed * 1000 + variant)
    clips = []
    for i in range(len(data)):
        clip = data[i][0].numpy()
        if recipe.corrupt:
            clip = random_corruption(clip, rng)
        clips.append(torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32)))
    return torch.stack(clips)


def cached_states(
    frame: pd.DataFrame,
    waves: List[np.ndarray],
    variant: int,
    recipe: HeadRecipe,
    n_layers: int,
    time_pool: int,
    seed: int,
) -> np.ndarray:
    """Encoder states of one variant of every clip, from the disk cache when it holds them.
    Keyed by the clip ids, or for a manifest's clips (which have a speaker column) by their full paths."""
    names = list(frame["path"]) if "speaker" in frame.columns else list(frame["id"])
    key = hashlib.sha256(
        repr(
            (
                names,
                variant,
                n_layers,
                time_pool,
                seed,
                recipe.speed_prob,
                recipe.corrupt,
                whisper_weights.MODEL_SHA256,
                encoder.FEATURE_CONFIG,
            )
            + ((recipe.warp,) if recipe.warp and variant else ())  # the clean clips, and caches made before, keep names
        ).encode()
    ).hexdigest()[:16]
    path = CACHE_DIR / f"{encoder.NAME}-v{variant}-{key}.npy"
    if path.is_file():
        return np.load(path, mmap_mode="r")
    states = encode_clips(
        variant_clips(frame, waves, variant, recipe, seed), n_layers, time_pool, desc=f"encoding variant {variant}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, states)
    tmp.replace(path)
    return np.load(path, mmap_mode="r")


class CachedStates:
    """The cached states of a frame's clips, read from each corpus's cache file (memory-mapped) on
    demand instead of copied into memory: indexing by a clip number, a slice or an array of clip
    numbers gives what indexing one (n, len(layers), T', D) array would. Processes that train on the
    same corpora share the files' pages."""

    def __init__(self, n: int, parts: list, layers: list):
        self.where = np.zeros((n, 2), dtype=np.int64)  # (part, row in the part's file) of each clip
        self.parts = [mm for _, mm in parts]
        for k, (idx, _) in enumerate(parts):
            self.where[idx] = np.stack([np.full(len(idx), k), np.arange(len(idx))], axis=1)
        self.layers = list(layers)
        first = self.parts[0]
        self.shape = (n, len(self.layers)) + tuple(first.shape[2:])
        self.dtype = first.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx):
        if isinstance(idx, (int, np.integer)):
            part, row = self.where[idx]
            return np.asarray(self.parts[part][row, self.layers])
        rows = np.arange(len(self))[idx]
        out = np.empty((len(rows),) + self.shape[1:], dtype=self.dtype)
        for k, mm in enumerate(self.parts):
            mine = np.flatnonzero(self.where[rows, 0] == k)
            if len(mine):
                file_rows = self.where[rows[mine], 1]
                order = np.argsort(file_rows)  # read the file in order, then put rows back where asked
                out[mine[order]] = mm[file_rows[order]][:, self.layers]
        return out


def corpus_states(
    frame: pd.DataFrame,
    waves: List[np.ndarray],
    variant: int,
    recipe: HeadRecipe,
    config: HeadConfig,
    *,
    seed: int,
    n_layers: Optional[int] = None,
) -> CachedStates:
    """cached_states of the head's layers (config.layers, pooled by config.time_pool), cached corpus by
    corpus when the frame has a corpus column, so a manifest of one corpus reuses what a joint
    manifest of two already encoded. n_layers: cache the blocks up to this one (default
    config.n_layers; deeper, so that runs with other layers reuse the cache)."""
    n_layers = n_layers or config.n_layers
    groups = frame.groupby("corpus", sort=False).indices if "corpus" in frame.columns else {"": np.arange(len(frame))}
    parts = []
    for idx in groups.values():
        part = frame.iloc[idx].reset_index(drop=True)
        part_waves = [waves[i] for i in idx]
        parts.append((idx, cached_states(part, part_waves, variant, recipe, n_layers, config.time_pool, seed)))
    return CachedStates(len(frame), parts, config.layers)

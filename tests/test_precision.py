"""Issue 25: the precision switch (fp32 default, bf16 by argument or EMOTION_PRECISION)."""

import pytest

from emotion import precision


def test_resolve_default_and_env(monkeypatch):
    monkeypatch.delenv("EMOTION_PRECISION", raising=False)
    assert precision.resolve() == "fp32"
    monkeypatch.setenv("EMOTION_PRECISION", "bf16")
    assert precision.resolve() == "bf16"
    assert precision.resolve("fp32") == "fp32"
    assert precision.resolve("auto") in ("fp32", "bf16")
    with pytest.raises(ValueError):
        precision.resolve("fp16")

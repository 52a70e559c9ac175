"""The engine's load-time decisions (pure functions, no model)."""

from __future__ import annotations

import pytest

from tingxie.engine.loader import EngineConfig
from tingxie.engine.precision import DEFAULT_PRECISION, choose_precision


@pytest.mark.parametrize(
    ("requested", "device", "chosen"),
    [
        ("auto", "cpu", "int8"),
        ("auto", "cuda", "fp32"),
        ("auto", "cuda:1", "fp32"),
        ("fp32", "cpu", "fp32"),
        ("int8", "cpu", "int8"),
        ("fp32", "cuda", "fp32"),
    ],
)
def test_precision_auto_is_int8_on_the_cpu_and_fp32_on_a_gpu(
    requested: str, device: str, chosen: str
) -> None:
    assert choose_precision(requested, device) == chosen


def test_the_default_precision_is_auto() -> None:
    assert EngineConfig().precision == DEFAULT_PRECISION == "auto"

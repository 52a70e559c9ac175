"""Which numeric precision a FunASR model runs in: the one place that decides it."""

from __future__ import annotations

from .errors import ModelLoadError

PRECISIONS = ("auto", "int8", "fp32")
"""FunASR weights: int8 = Linear layers in int8, activations quantized at run time (CPU
only; see docs/performance.md for its speed and its agreement with fp32); fp32 = as
published, FunASR's exact output; auto = int8 on the CPU, fp32 on a GPU."""

DEFAULT_PRECISION = "auto"


def choose_precision(requested: str, device: str) -> str:
    """The precision to load for ``requested`` (one of ``PRECISIONS``) on ``device``:
    ``int8`` or ``fp32``.

    ``auto`` picks int8 on the CPU, as FunASR's own CPU runtime does (it serves the
    quantized ``model_quant.onnx`` by default): it halves the compute per chunk and the
    memory; on a GPU, fp32 (the int8 kernels are CPU only).

    Raises ``ModelLoadError`` for an unknown precision, or int8 on a GPU."""
    if requested not in PRECISIONS:
        raise ModelLoadError(f"unknown precision {requested!r}: use one of {', '.join(PRECISIONS)}")
    on_cpu = device.startswith("cpu")
    if requested == "auto":
        return "int8" if on_cpu else "fp32"
    if requested == "int8" and not on_cpu:
        raise ModelLoadError("int8 precision runs on the CPU only; use --precision fp32 on GPUs")
    return requested

"""int8 Linear layers whose result for one utterance never depends on another's audio.

torch's dynamic quantization (``quantize_dynamic``) quantizes a layer's whole input with one
scale, so when utterances share a batch, a loud one would coarsen a quiet one's activations
and one user's text would depend on another's audio. ``Int8Linear`` avoids that; a pass that
decodes several utterances together says so (``decoding_together``):

- one utterance (a lone speaker, the common case): fbgemm's dynamic int8 kernel as is, one
  activation scale for the utterance's rows;
- several: each row gets its own scale on the same kernel, in one call. Each row is mapped
  affinely onto [0, 1] (its minimum to 0, its maximum to exactly 1), so the kernel's
  per-tensor range is [0, 1] whatever the batch holds, and the row's offset and scale are
  applied again to the result: ``W x = span * (W u) + low * (W 1)``, ``u = (x - low) / span``.

So an utterance's text never depends on what the others in its batch say (tested), though
it may differ by quantization noise between a chunk decoded alone and one decoded in a
batch. One call per utterance instead would make the two identical, but measured on 2 AVX2
cores it makes 16 batched streams 27 % slower; the per-row arithmetic on every call would
make a lone speaker's final 25 % slower (docs/performance.md). Weights: int8, one scale
per output channel.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch

_SEVERAL: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tingxie_several_utterances", default=False
)


@contextlib.contextmanager
def decoding_together(utterances: int) -> Iterator[None]:
    """Within this block ``utterances`` utterances are decoded in one pass: with more than
    one, every ``Int8Linear`` call in the pass quantizes per row, whether or not a given
    call sees rows of several (the decoder sees only those whose predictor fired)."""
    token = _SEVERAL.set(utterances > 1)
    try:
        yield
    finally:
        _SEVERAL.reset(token)


class Int8Linear(torch.nn.Module):
    """A drop-in for an ``nn.Linear`` (CPU): int8 weights, one scale per output channel;
    activations quantized at run time, 7 bits (fbgemm's ``reduce_range``, which avoids
    overflow on CPUs without VNNI), with one scale for a lone utterance and one per row
    when several share the call."""

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        zero_points = torch.zeros(weight.shape[0], dtype=torch.int64)
        quantized = torch.quantize_per_channel(weight, scales, zero_points, 0, torch.qint8)
        self._packed = torch.ops.quantized.linear_prepack(quantized, None)
        # W·1 of the weights the kernel really uses, for the rows' offsets
        self.register_buffer("row_sums", quantized.dequantize().sum(dim=1).unsqueeze(0))
        bias = linear.bias
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        if not _SEVERAL.get():
            y = torch.ops.quantized.linear_dynamic(rows, self._packed, True)
            if self.bias is not None:
                y.add_(self.bias)
        else:
            y = self._per_row(rows)
        return y.reshape(*x.shape[:-1], self.out_features)

    def _per_row(self, rows: torch.Tensor) -> torch.Tensor:
        low = rows.amin(dim=1, keepdim=True)  # (amin, amax: 15x faster than aminmax here)
        span = (rows.amax(dim=1, keepdim=True) - low).clamp_(min=1e-30)  # constant row: 0s
        unit = (rows - low).div_(span)
        if not bool(torch.isfinite(span).all()):
            # a row with inf/NaN: its own output is non-finite (as in fp32), and it must not
            # widen the kernel's range for the other rows
            unit = torch.nan_to_num(unit, nan=0.0, posinf=0.0, neginf=0.0)
        y = torch.ops.quantized.linear_dynamic(unit, self._packed, True)
        # the rows' offsets, low * (W 1), broadcast (a rank-1 addmm is 3x slower here)
        if self.bias is None:
            offset = low * self.row_sums
        else:
            offset = torch.addcmul(self.bias, low, self.row_sums)
        return offset.addcmul_(y, span)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


MIN_OUTPUTS = 16
"""Narrower layers (the CIF predictor's 512→1 output) stay fp32: int8 saves nothing there."""


def will_quantize(module: torch.nn.Module) -> bool:
    """Whether ``quantize_linear_layers`` replaces ``module``."""
    return type(module) is torch.nn.Linear and module.out_features >= MIN_OUTPUTS


def quantize_linear_layers(model: torch.nn.Module) -> int:
    """Replace every ``nn.Linear`` in ``model`` with at least ``MIN_OUTPUTS`` outputs by an
    ``Int8Linear``, in place. Returns how many were replaced."""
    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if will_quantize(child):
                setattr(module, name, Int8Linear(child))
                replaced += 1
    return replaced

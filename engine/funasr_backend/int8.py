"""int8 Linear layers whose result for one row never depends on the other rows.

torch's dynamic quantization (``quantize_dynamic``) quantizes a layer's whole input with one
scale, so when utterances share a batch, a loud one coarsens a quiet one's activations and
one user's text would depend on another's audio. ``RowInt8Linear`` gives each row its own
scale instead, on the same int8 kernel: each row is mapped affinely onto [0, 1] (its
minimum to 0, its maximum to exactly 1), so the kernel's per-tensor range is [0, 1] for any
batch, and the row's offset and scale are applied again to the int32 result:

    W x = span * (W u) + low * (W 1),   u = (x - low) / span

Weights are int8 with one scale per output channel. Per-row activation and per-channel
weight scales are also finer than ``quantize_dynamic``'s per-tensor ones.
"""

from __future__ import annotations

import torch


class RowInt8Linear(torch.nn.Module):
    """A drop-in for an ``nn.Linear`` (CPU): int8 weights per output channel, activations
    quantized per row (7 bits, fbgemm's ``reduce_range``, which avoids overflow on CPUs
    without VNNI)."""

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
        shape = x.shape
        rows = x.reshape(-1, self.in_features)
        low = rows.amin(dim=1, keepdim=True)  # (amin, amax: 15x faster than aminmax here)
        span = (rows.amax(dim=1, keepdim=True) - low).clamp_(min=1e-30)  # constant row: all 0
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
        return offset.addcmul_(y, span).reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per row"


MIN_OUTPUTS = 16
"""Narrower layers (the CIF predictor's 512→1 output) stay fp32: int8 saves nothing there."""


def quantize_linear_layers(model: torch.nn.Module) -> int:
    """Replace every ``nn.Linear`` in ``model`` with at least ``MIN_OUTPUTS`` outputs by a
    ``RowInt8Linear``, in place. Returns how many were replaced."""
    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is torch.nn.Linear and child.out_features >= MIN_OUTPUTS:
                setattr(module, name, RowInt8Linear(child))
                replaced += 1
    return replaced

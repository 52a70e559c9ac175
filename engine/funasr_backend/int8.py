"""int8 Linear layers whose result for one utterance never depends on another's audio.

torch's dynamic quantization (``quantize_dynamic``) quantizes a layer's whole input with one
scale, so when utterances share a batch, a loud one would coarsen a quiet one's activations
and one user's text would depend on another's audio. ``Int8Linear`` gives every row its
own scale, on fbgemm's dynamic int8 kernel, in one call: each row is mapped affinely onto
[0, 1] (its minimum to 0, its maximum to exactly 1), so the kernel's per-tensor range is
[0, 1] whatever the call holds, and the row's offset and scale are applied again to the
result: ``W x = span * (W u) + low * (W 1)``, ``u = (x - low) / span``.

The kernel accumulates in int32, exactly, so a row's result is the same bits whichever rows
share the call and however many threads run it: an utterance decoded alone and one decoded
beside others get identical tokens and probabilities (tested). A lone speaker pays for the
per-row arithmetic too; what that costs is in docs/performance.md. Weights: int8, one scale
per output channel.
"""

from __future__ import annotations

import torch


class Int8Linear(torch.nn.Module):
    """A drop-in for an ``nn.Linear`` (CPU): int8 weights, one scale per output channel;
    activations quantized at run time, 7 bits (fbgemm's ``reduce_range``, which avoids
    overflow on CPUs without VNNI), with one scale per row."""

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
        y = self._per_row(x.reshape(-1, self.in_features))
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

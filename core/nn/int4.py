"""The 4-bit weight format: group-wise asymmetric quantization of a linear's weight, and its exact dequantization.

Each group of `group` consecutive inputs of an output row gets a scale and a zero (gpt-fast's scheme, the one
`aten._weight_int4pack_mm_for_cpu` computes with): scale = (max - min) / 15, zero = min + 8 * scale, both
rounded to bfloat16 (the kernel's fast path reads them so), q = round((w - zero) / scale + 8) in 0..15, and
w ~= (q - 8) * scale + zero. Worked example, one group [0.0, 0.5, 1.875]: scale 0.125, zero 1.0,
q = [0, 4, 15], dequantized [0.0, 0.5, 1.875].

Stored form (the cache keeps it; the kernel's packed layout may differ per CPU): q4 [N, K / 2] uint8 with two
values per byte, low nibble first, and scale_zeros [K / group, N, 2] float32.
"""

from __future__ import annotations

import torch

GROUP = 64  # inputs per scale and zero: chosen by measurement (benchmarks/README.md, int4 group size)
SMALLEST_GROUP = 32


def group_for(inputs: int) -> int | None:
    """The group size of a weight with `inputs` columns: GROUP, else 32 where that divides them, else None."""
    return next((g for g in (GROUP, SMALLEST_GROUP) if inputs % g == 0), None)


def fits(outputs: int, inputs: int) -> bool:
    """Whether a weight [outputs, inputs] takes the 4-bit kernel (it packs outputs by 16, inputs by group)."""
    return outputs % 16 == 0 and group_for(inputs) is not None


def quantize_int4(weight: torch.Tensor, group: int = GROUP) -> tuple[torch.Tensor, torch.Tensor]:
    """weight [N, K] -> (q4 [N, K / 2] uint8, scale_zeros [K / group, N, 2] float32); K a multiple of `group`."""
    n, k = weight.shape
    if k % group:
        raise ValueError(f"{k} inputs are not a multiple of the 4-bit group size {group}")
    w = weight.detach().to(torch.float32).reshape(n, k // group, group)
    low, high = w.amin(-1, keepdim=True), w.amax(-1, keepdim=True)  # [N, G, 1]
    scale = (high - low) / 15
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # a constant group: q = 8, zero = its value
    scale, zero = _bf16_exact(scale), _bf16_exact(low + 8 * scale)  # the kernel reads them in bfloat16
    q = torch.round((w - zero) / scale + 8).clamp_(0, 15).to(torch.uint8).reshape(n, k)
    scale_zeros = torch.stack([scale[..., 0].T, zero[..., 0].T], dim=-1).contiguous()  # [G, N, 2]
    return (q[:, 0::2] | (q[:, 1::2] << 4)).contiguous(), scale_zeros


def _bf16_exact(t: torch.Tensor) -> torch.Tensor:
    """t rounded to the nearest bfloat16, kept as float32: the kernel's bfloat16 copy then holds it exactly."""
    return t.to(torch.bfloat16).to(torch.float32)


def unpack_int4(q4: torch.Tensor) -> torch.Tensor:
    """q4 [N, K / 2] uint8 -> the values [N, K] uint8 in 0..15."""
    return torch.stack([q4 & 15, q4 >> 4], dim=-1).reshape(q4.shape[0], -1)


def dequantize_int4(q4: torch.Tensor, scale_zeros: torch.Tensor) -> torch.Tensor:
    """The float32 weight [N, K] the stored form holds (what the kernel multiplies by)."""
    q = unpack_int4(q4).to(torch.float32)  # [N, K]
    n, k = q.shape
    groups = scale_zeros.shape[0]
    scale, zero = scale_zeros[..., 0].T[..., None], scale_zeros[..., 1].T[..., None]  # [N, G, 1]
    return ((q.reshape(n, groups, k // groups) - 8) * scale + zero).reshape(n, k)


def group_size(q4: torch.Tensor, scale_zeros: torch.Tensor) -> int:
    """The group size of a stored form: inputs per scale."""
    return q4.shape[1] * 2 // scale_zeros.shape[0]

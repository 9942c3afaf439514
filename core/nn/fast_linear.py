"""Linear layers at decode time on the CPU: a decoding step multiplies 1-4 rows by each weight matrix.

That shape is memory-bound, and the generic GEMM paths read the weights slowly for it. Measured on this
project's 2-core AMD EPYC, streaming 0.3 GB of weights with 2 rows (the CFG batch of one step):

    float32  F.linear 9-11 GB/s   weight @ x.T 27-41 GB/s
    bfloat16 F.linear 16-25 GB/s  oneDNN with a pre-packed weight 35-50 GB/s

So float32 uses `weight @ x.T`, and bfloat16 uses oneDNN's linear on a weight packed once per model
(`pack_weight`). Small weights keep F.linear, so the tiny fixture models keep its exact numerics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MIN_WEIGHT = 1 << 18
MAX_ROWS = 4


def _onednn_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def pack_weight(weight: torch.Tensor) -> torch.Tensor | None:
    """The oneDNN-packed copy of a large bfloat16 CPU weight, or None when packing does not apply."""
    if weight.dtype != torch.bfloat16 or weight.device.type != "cpu" or weight.numel() < MIN_WEIGHT:
        return None
    if not _onednn_available():
        return None
    with torch.no_grad():
        return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), 2)


def linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, packed: torch.Tensor | None = None
) -> torch.Tensor:
    """`F.linear(x, weight, bias)`, through the fast path when x has only a few rows on the CPU."""
    rows = x.numel() // x.shape[-1]
    if rows > MAX_ROWS or x.device.type != "cpu" or weight.numel() < MIN_WEIGHT or x.requires_grad:
        return F.linear(x, weight, bias)
    flat = x.reshape(rows, x.shape[-1])
    if packed is not None and x.dtype == torch.bfloat16:
        out = torch.ops.mkldnn._linear_pointwise(flat, packed, bias, "none", [], "")
    elif x.dtype == torch.float32:
        out = (weight @ flat.T).T
        if bias is not None:
            out = out + bias
    else:
        return F.linear(x, weight, bias)
    return out.reshape(*x.shape[:-1], weight.shape[0])

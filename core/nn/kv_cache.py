"""An explicit key/value cache for autoregressive decoding: preallocated, written in place, one per layer."""

from __future__ import annotations

import torch
from torch import nn


class KVCache(nn.Module):
    """Keys and values of past positions for one self-attention layer.  # k, v: [B, H, max_len, Dh]"""

    def __init__(
        self,
        batch: int,
        heads: int,
        max_len: int,
        head_dim: int,
        dtype: torch.dtype,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__()
        shape = (batch, heads, max_len, head_dim)
        self.register_buffer("k", torch.zeros(shape, dtype=dtype, device=device), persistent=False)
        self.register_buffer("v", torch.zeros(shape, dtype=dtype, device=device), persistent=False)

    @property
    def max_len(self) -> int:
        return self.k.shape[2]

    def update(self, start: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store k, v [B, H, T, Dh] at positions start..start+T; return all keys/values so far."""
        return write_cache(self.k, self.v, start, k, v)


def write_cache(
    k_cache: torch.Tensor, v_cache: torch.Tensor, start: int, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:  # scriptable: the decoding step (core.nn.decode_step) compiles it
    """`KVCache.update` on the cache's tensors [B, H, max_len, Dh]."""
    end = start + k.shape[2]
    if end > k_cache.shape[2]:
        raise RuntimeError(f"KV cache overflow: {end} > {k_cache.shape[2]} positions")
    k_cache[:, :, start:end] = k
    v_cache[:, :, start:end] = v
    return k_cache[:, :, :end], v_cache[:, :, :end]

"""The transformer of audiocraft's LM (pre-norm, sinusoidal positions, optional cross-attention), in pure torch.

Parameter names match audiocraft's `StreamingTransformer` so released state dicts load unchanged:
`layers.{i}.self_attn.in_proj_weight` (packed q, k, v), `.out_proj`, `linear1`, `linear2`, `norm1`, `norm2`,
`cross_attention.*`, `norm_cross`. Attention is `scaled_dot_product_attention`; the cross-attention keys and
values of the text are computed once per generation, not at every step.

A bfloat16 model on the CPU keeps its cached keys and values (self- and cross-attention) in float32 and attends
in float32: torch's CPU attention for one bfloat16 query is 3-4x slower than for a float32 one (B 2, 16 heads,
250 keys: 491 against 122 us), and widening bfloat16 values is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.nn.fast_linear import PreparedLinear, int8_values_kept, linear, made_together
from core.nn.kv_cache import KVCache


@dataclass(frozen=True)
class TransformerConfig:
    dim: int
    num_heads: int
    num_layers: int
    hidden_scale: float = 4
    causal: bool = True
    cross_attention: bool = False
    bias_ff: bool = False
    bias_attn: bool = False
    layer_scale: float | None = None
    max_period: float = 10_000.0
    positional_scale: float = 1.0

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads


def sin_embedding(positions: torch.Tensor, dim: int, max_period: float, dtype: torch.dtype) -> torch.Tensor:
    """audiocraft's sinusoidal embedding: cat([cos, sin]) of positions / max_period ** (i / (half - 1))."""
    half = dim // 2
    positions = positions.to(torch.float32)[..., None]  # [..., T, 1]
    adim = torch.arange(half, device=positions.device, dtype=torch.float32)
    phase = positions / (torch.tensor(max_period, dtype=torch.float32) ** (adim / (half - 1)))
    return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1).to(dtype)


class LayerScale(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    B, T, D = x.shape
    return x.view(B, T, heads, D // heads).transpose(1, 2)  # [B, H, T, Dh]


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)  # [B, T, D]


class _Attention(nn.Module):
    """The weights of audiocraft's multi-head attention: packed q/k/v input projection, output projection."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.heads = cfg.num_heads
        self.dim = cfg.dim
        self.in_proj_weight = nn.Parameter(torch.empty(3 * cfg.dim, cfg.dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * cfg.dim)) if cfg.bias_attn else None
        self.out_proj = nn.Linear(cfg.dim, cfg.dim, bias=cfg.bias_attn)
        self.packed: dict[
            int | str, PreparedLinear
        ] = {}  # decode-time forms (core.nn.fast_linear): Transformer.prepare


class SelfAttention(_Attention):
    """Multi-head self-attention with packed projections and an optional KV cache."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__(cfg)
        self.causal = cfg.causal
        self.cache: KVCache | None = None

    def forward(self, x: torch.Tensor, start: int, attn_mask: torch.Tensor | None) -> torch.Tensor:
        B, T, D = x.shape
        qkv = linear(x, self.in_proj_weight, self.in_proj_bias, self.packed.get("in"))  # [B, T, 3D]
        q, k, v = qkv.view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4).unbind(0)  # [B, H, T, Dh]
        if self.cache is not None:
            k, v = self.cache.update(start, k, v)
            q = q if q.dtype == k.dtype else q.to(k.dtype)  # a float32 cache of a bfloat16 model
        is_causal = False
        if self.causal and attn_mask is None and T > 1:
            if k.shape[2] == T:
                is_causal = True
            else:  # a chunk after cached positions: each query sees the past and itself
                attn_mask = _causal_mask(T, k.shape[2], x.device)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal).to(x.dtype)
        return linear(_merge_heads(out), self.out_proj.weight, self.out_proj.bias, self.packed.get("out"))


def _causal_mask(queries: int, keys: int, device: torch.device) -> torch.Tensor:
    q_pos = torch.arange(keys - queries, keys, device=device).view(-1, 1)
    return q_pos >= torch.arange(keys, device=device).view(1, -1)  # [T, S] bool, True = attend


class CrossAttention(_Attention):
    """Attention from the audio stream to the condition (text) sequence; no padding mask, as audiocraft."""

    def _proj(self, x: torch.Tensor, part: int) -> torch.Tensor:
        d, prepared = self.dim, self.packed.get(part)
        bias = None if self.in_proj_bias is None else self.in_proj_bias[part * d : (part + 1) * d]
        weight = self.in_proj_weight if prepared is not None else self.in_proj_weight[part * d : (part + 1) * d]
        return linear(x, weight, bias, prepared)  # a prepared part carries its own rows of the weight

    def project_kv(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of the condition src [B, L, D] -> two [B, H, L, Dh]."""
        return _split_heads(self._proj(src, 1), self.heads), _split_heads(self._proj(src, 2), self.heads)

    def forward(
        self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor], weight_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        k, v = kv
        q = _split_heads(self._proj(x, 0), self.heads).to(k.dtype)  # [B, H, T, Dh]
        if weight_mask is None:
            out = F.scaled_dot_product_attention(q, k, v)
        else:  # AudioGenX: scale the post-softmax weights of each condition token
            weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)  # [B, H, T, L]
            out = (weights * _per_query(weight_mask).to(weights.dtype)) @ v
        return linear(_merge_heads(out.to(x.dtype)), self.out_proj.weight, self.out_proj.bias, self.packed.get("out"))


def attention_dtype(dtype: torch.dtype, device: torch.device) -> torch.dtype:
    """The dtype cached keys / values and attention use: float32 for a bfloat16 model on the CPU (module doc)."""
    return torch.float32 if dtype == torch.bfloat16 and device.type == "cpu" else dtype


def _per_query(weight_mask: torch.Tensor) -> torch.Tensor:
    """A cross-weight mask [B, L] (same for every query) or [B, T, L] (one row per query) -> [B, 1, T|1, L]."""
    return weight_mask[:, None, None, :] if weight_mask.dim() == 2 else weight_mask[:, None, :, :]


class TransformerLayer(nn.Module):
    """Pre-norm block: x + self_attn(norm1 x), x + cross(norm_cross x), x + ff(norm2 x)."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        hidden = int(cfg.hidden_scale * cfg.dim)
        self.self_attn = SelfAttention(cfg)
        self.linear1 = nn.Linear(cfg.dim, hidden, bias=cfg.bias_ff)
        self.linear2 = nn.Linear(hidden, cfg.dim, bias=cfg.bias_ff)
        self.norm1 = nn.LayerNorm(cfg.dim, eps=1e-5)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=1e-5)
        self.cross_attention = CrossAttention(cfg) if cfg.cross_attention else None
        self.norm_cross = nn.LayerNorm(cfg.dim, eps=1e-5) if cfg.cross_attention else None
        scaled = self.scaled = cfg.layer_scale is not None
        self.layer_scale_1 = LayerScale(cfg.dim) if scaled else nn.Identity()
        self.layer_scale_2 = LayerScale(cfg.dim) if scaled else nn.Identity()
        self.packed: dict[int, PreparedLinear] = {}
        if cfg.cross_attention:
            self.layer_scale_cross = LayerScale(cfg.dim) if scaled else nn.Identity()

    def forward(
        self,
        x: torch.Tensor,
        start: int,
        attn_mask: torch.Tensor | None,
        cross_kv: tuple[torch.Tensor, torch.Tensor] | None,
        cross_weight_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        scaled = self.scaled  # without layer scale (MusicGen, AudioGen) the identity is not even called
        attended = self.self_attn(self.norm1(x), start, attn_mask)
        x = x + (self.layer_scale_1(attended) if scaled else attended)
        if self.cross_attention is not None:
            assert cross_kv is not None, "this LM needs a cross-attention condition"
            attended = self.cross_attention(self.norm_cross(x), cross_kv, cross_weight_mask)
            x = x + (self.layer_scale_cross(attended) if scaled else attended)
        hidden = F.gelu(linear(self.norm2(x), self.linear1.weight, self.linear1.bias, self.packed.get(1)))
        out = linear(hidden, self.linear2.weight, self.linear2.bias, self.packed.get(2))
        return x + (self.layer_scale_2(out) if scaled else out)


class Transformer(nn.Module):
    """A stack of layers with sinusoidal positions added at the input."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.layers = nn.ModuleList(TransformerLayer(cfg) for _ in range(cfg.num_layers))

    def setup_caches(self, batch: int, max_len: int, dtype: torch.dtype, device: torch.device) -> None:
        """Give every self-attention layer a fresh KV cache for `batch` rows and `max_len` positions."""
        dtype = attention_dtype(dtype, torch.device(device))
        for layer in self.layers:
            layer.self_attn.cache = KVCache(batch, self.cfg.num_heads, max_len, self.cfg.head_dim, dtype, device)

    def clear_caches(self) -> None:
        for layer in self.layers:
            layer.self_attn.cache = None

    def prepare(self, make: Callable[[str, torch.Tensor], PreparedLinear], prefix: str = "") -> None:
        """Give every linear its decode-time form: `make(state-dict name, weight)` (core.nn.fast_linear)."""
        forms = made_together(make, self.linear_weights(prefix))
        for i, layer in enumerate(self.layers):
            layer.self_attn.packed = {"in": forms[i, "in"], "out": forms[i, "out"]}
            layer.packed = {1: forms[i, 1], 2: forms[i, 2]}
            if layer.cross_attention is not None:
                cross, d, whole = layer.cross_attention, layer.cross_attention.dim, forms[i, "cross"]
                with int8_values_kept([whole]):  # an int8 weight is unpacked once for its three parts, not thrice
                    cross.packed = {part: whole.part(part * d, (part + 1) * d) for part in range(3)}
                cross.packed["out"] = forms[i, "cross out"]

    def linear_weights(self, prefix: str = "") -> dict[tuple[int, str | int], tuple[str, torch.Tensor]]:
        """Every linear's weight with its state-dict name, keyed by (layer, role)."""
        weights = {}
        for i, layer in enumerate(self.layers):
            name, attn = f"{prefix}layers.{i}.", layer.self_attn
            weights[i, "in"] = (f"{name}self_attn.in_proj_weight", attn.in_proj_weight)
            weights[i, "out"] = (f"{name}self_attn.out_proj.weight", attn.out_proj.weight)
            weights[i, 1] = (f"{name}linear1.weight", layer.linear1.weight)
            weights[i, 2] = (f"{name}linear2.weight", layer.linear2.weight)
            if layer.cross_attention is not None:
                cross = layer.cross_attention
                weights[i, "cross"] = (f"{name}cross_attention.in_proj_weight", cross.in_proj_weight)
                weights[i, "cross out"] = (f"{name}cross_attention.out_proj.weight", cross.out_proj.weight)
        return weights

    def cross_kv(self, src: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        """Per-layer keys/values of the cross-attention source, computed once."""
        if not self.cfg.cross_attention:
            return None
        dtype = attention_dtype(src.dtype, src.device)
        return [tuple(t.to(dtype) for t in layer.cross_attention.project_kv(src)) for layer in self.layers]

    def forward(
        self,
        x: torch.Tensor,
        start: int = 0,
        attn_mask: torch.Tensor | None = None,
        cross_kv: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
        cross_weight_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        B, T, C = x.shape
        positions = torch.arange(start, start + T, device=x.device)
        x = x + self.cfg.positional_scale * sin_embedding(positions, C, self.cfg.max_period, x.dtype)
        for i, layer in enumerate(self.layers):
            x = layer(x, start, attn_mask, None if cross_kv is None else cross_kv[i], cross_weight_mask)
        return x

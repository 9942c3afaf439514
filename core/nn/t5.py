"""The T5 text encoder in plain torch: token ids -> hidden states, as transformers' `T5EncoderModel` computes them.

Per block: RMS-normed self-attention (no 1/sqrt(d) scaling; a learnt relative position bias, bucketed, computed by
the first block and shared by all) and an RMS-normed feed-forward (ReLU, or gated GELU for `gated-gelu`), each
added to its input; a final RMS norm. Parameter names are transformers' (`encoder.block.{i}.layer.0.SelfAttention.q`
...), so a T5 checkpoint's state dict loads as it is (`core.models.text_encoder`).

Shapes: `T5Encoder(input_ids [B, L], attention_mask [B, L]).last_hidden_state -> [B, L, d_model]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from core.nn.meta import embedding


@dataclass(frozen=True)
class T5Config:
    """The encoder half of a transformers T5 config.json."""

    vocab_size: int
    d_model: int
    d_kv: int
    d_ff: int
    num_layers: int
    num_heads: int
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    layer_norm_epsilon: float = 1e-6
    feed_forward_proj: str = "relu"

    @property
    def activation(self) -> str:
        return self.feed_forward_proj.split("-")[-1]

    @property
    def gated(self) -> bool:
        return self.feed_forward_proj.startswith("gated-")


_ACTIVATIONS = {
    "relu": F.relu,
    "gelu": lambda x: F.gelu(x, approximate="tanh"),  # T5 v1.1's "gated-gelu" means transformers' gelu_new
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
}


class T5LayerNorm(nn.Module):
    """RMS norm: x / sqrt(mean(x^2) + eps) * weight (no mean subtracted, no bias)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps)).to(self.weight.dtype)


class T5Attention(nn.Module):
    def __init__(self, config: T5Config, has_bias: bool):
        super().__init__()
        inner = config.num_heads * config.d_kv
        self.heads, self.d_kv = config.num_heads, config.d_kv
        self.q = nn.Linear(config.d_model, inner, bias=False)
        self.k = nn.Linear(config.d_model, inner, bias=False)
        self.v = nn.Linear(config.d_model, inner, bias=False)
        self.o = nn.Linear(inner, config.d_model, bias=False)
        self.buckets, self.max_distance = config.relative_attention_num_buckets, config.relative_attention_max_distance
        if has_bias:
            self.relative_attention_bias = embedding(self.buckets, self.heads)

    def position_bias(self, length: int, device: torch.device) -> torch.Tensor:  # [1, H, L, L]
        position = torch.arange(length, dtype=torch.long, device=device)
        relative = position[None, :] - position[:, None]  # key - query
        bucket = relative_position_bucket(relative, self.buckets, self.max_distance)
        return self.relative_attention_bias(bucket).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:  # bias: position bias + mask [B, H, L, L]
        batch, length, _ = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, self.d_kv).transpose(1, 2)

        scores = torch.matmul(heads(self.q(x)), heads(self.k(x)).transpose(2, 3)) + bias  # unscaled, as T5
        weights = F.softmax(scores.float(), dim=-1).type_as(scores)
        out = torch.matmul(weights, heads(self.v(x))).transpose(1, 2).reshape(batch, length, -1)
        return self.o(out)


class T5LayerSelfAttention(nn.Module):
    def __init__(self, config: T5Config, has_bias: bool):
        super().__init__()
        self.SelfAttention = T5Attention(config, has_bias)
        self.layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return x + self.SelfAttention(self.layer_norm(x), bias)


class T5DenseReluDense(nn.Module):
    """wo(act(wi x)), or wo(act(wi_0 x) * wi_1 x) when gated."""

    def __init__(self, config: T5Config):
        super().__init__()
        if config.activation not in _ACTIVATIONS:
            raise ValueError(f"feed_forward_proj '{config.feed_forward_proj}' is not a T5 activation")
        self.act = _ACTIVATIONS[config.activation]
        self.gated = config.gated
        if self.gated:
            self.wi_0 = nn.Linear(config.d_model, config.d_ff, bias=False)
            self.wi_1 = nn.Linear(config.d_model, config.d_ff, bias=False)
        else:
            self.wi = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.act(self.wi_0(x)) * self.wi_1(x) if self.gated else self.act(self.wi(x))
        return self.wo(hidden.to(self.wo.weight.dtype))


class T5LayerFF(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.DenseReluDense = T5DenseReluDense(config)
        self.layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.DenseReluDense(self.layer_norm(x))


class T5Block(nn.Module):
    def __init__(self, config: T5Config, has_bias: bool):
        super().__init__()
        self.layer = nn.ModuleList([T5LayerSelfAttention(config, has_bias), T5LayerFF(config)])

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.layer[1](self.layer[0](x, bias))


class T5Stack(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.block = nn.ModuleList([T5Block(config, has_bias=i == 0) for i in range(config.num_layers)])
        self.final_layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)


@dataclass
class T5Output:
    last_hidden_state: torch.Tensor  # [B, L, d_model]


class T5Encoder(nn.Module):
    """The frozen text encoder: `shared` token embedding, then `encoder` (the blocks and the final norm)."""

    def __init__(self, config: T5Config):
        super().__init__()
        self.config = config
        self.shared = embedding(config.vocab_size, config.d_model)
        self.encoder = T5Stack(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> T5Output:
        x = self.shared(input_ids)
        first = self.encoder.block[0].layer[0].SelfAttention
        bias = first.position_bias(input_ids.shape[1], input_ids.device).to(x.dtype)
        if attention_mask is not None:  # masked keys: the dtype's most negative number added, as transformers
            bias = bias + (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for block in self.encoder.block:
            x = block(x, bias)
        return T5Output(self.encoder.final_layer_norm(x))


def relative_position_bucket(relative: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """Bidirectional T5 buckets: half for each direction; exact below num_buckets / 4, logarithmic up to
    max_distance, the last bucket beyond (Mesh TensorFlow's `_relative_position_bucket`)."""
    num_buckets //= 2
    buckets = (relative > 0).to(torch.long) * num_buckets
    distance = torch.abs(relative)
    max_exact = num_buckets // 2
    large = max_exact + (
        torch.log(distance.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(distance < max_exact, distance, large)

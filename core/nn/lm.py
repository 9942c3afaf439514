"""The language model over EnCodec tokens shared by MusicGen, AudioGen and MAGNeT (one module for all three).

It embeds K parallel codebook streams (summed), runs the transformer with the conditions fused in (text by
cross-attention, melody/text by prefix), and predicts K distributions per step. Decoding strategies
(autoregressive with delays in `core.decoding.autoregressive`, masked in `core.decoding.masked`) are
separate functions over it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from core.nn.fast_linear import PreparedLinear, linear
from core.nn.meta import embedding
from core.nn.transformer import Transformer, TransformerConfig


@dataclass(frozen=True)
class LMConfig:
    n_q: int
    card: int
    transformer: TransformerConfig
    norm_first: bool = True
    bias_proj: bool = False
    subcodes_context: int | None = None  # MAGNeT: local attention window for codebooks > 0


@dataclass
class Conditions:
    """Fused condition tensors for a batch: `cross` for cross-attention, `prefix` prepended to the input."""

    cross: torch.Tensor | None = None  # [B, L, D]
    prefix: torch.Tensor | None = None  # [B, P, D]

    @property
    def prefix_len(self) -> int:
        return 0 if self.prefix is None else self.prefix.shape[1]


class LMModel(nn.Module):
    """Embeddings -> transformer -> out_norm -> one linear head per codebook. Names match audiocraft."""

    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dim = cfg.transformer.dim
        self.emb = nn.ModuleList(embedding(cfg.card + 1, dim) for _ in range(cfg.n_q))  # no torch._dynamo on meta
        self.transformer = Transformer(cfg.transformer)
        self.out_norm = nn.LayerNorm(dim, eps=1e-5) if cfg.norm_first else None
        self.linears = nn.ModuleList(nn.Linear(dim, cfg.card, bias=cfg.bias_proj) for _ in range(cfg.n_q))
        self.packed_heads: list[PreparedLinear] = []
        self.decode_step: Any = None  # core.nn.decode_step.DecodeStep, set with the precision (apply_precision)

    @property
    def special_token(self) -> int:
        return self.cfg.card

    def embed(self, sequence: torch.Tensor) -> torch.Tensor:
        """Sum of per-codebook embeddings: [B, K, S] -> [B, S, D]."""
        out = self.emb[0](sequence[:, 0])
        for k in range(1, self.cfg.n_q):
            out = out + self.emb[k](sequence[:, k])
        return out

    def heads(self, hidden: torch.Tensor) -> torch.Tensor:
        """Per-codebook logits from final hidden states: [B, S, D] -> [B, K, S, card]."""
        return torch.stack([self.head(k, hidden) for k in range(len(self.linears))], dim=1)

    def head(self, k: int, hidden: torch.Tensor) -> torch.Tensor:
        """Codebook k's logits [B, S, card] through its prepared form: after int8's `prepare` the float weight
        is a shape-only (meta) tensor, which F.linear on the CPU reads as uninitialised memory, without an error.
        """
        head = self.linears[k]
        return linear(hidden, head.weight, head.bias, self.packed_heads[k] if self.packed_heads else None)

    def prepared_linears(self) -> list[PreparedLinear]:
        """Every prepared form of the LM's linears, each once (none before `prepare`)."""
        forms = {id(form): form for module in self.modules() for form in getattr(module, "packed", {}).values()}
        forms.update((id(form), form) for form in self.packed_heads)
        return list(forms.values())

    def prepare(self, make: Callable[[str, torch.Tensor], PreparedLinear]) -> None:
        """Decode-time forms of every linear: `make(state-dict name, weight)` (see core.models.precision)."""
        self.transformer.prepare(make, "transformer.")
        self.packed_heads = [make(f"linears.{k}.weight", head.weight) for k, head in enumerate(self.linears)]

    def hidden(
        self,
        sequence: torch.Tensor,
        cond: Conditions,
        start: int = 0,
        attn_mask: torch.Tensor | None = None,
        cross_kv: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
        cross_weight_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Final hidden states (after out_norm) of the sequence positions only: [B, K, S] -> [B, S, D].

        `start` is the absolute position of the first token (it counts the prefix); the prefix is prepended
        only when `start == 0`.
        """
        S = sequence.shape[-1]
        x = self.embed(sequence)
        if cond.prefix is not None and start == 0:
            x = torch.cat([cond.prefix.to(x.dtype), x], dim=1)
        if cross_kv is None and cond.cross is not None:
            cross_kv = self.transformer.cross_kv(cond.cross.to(x.dtype))
        out = self.transformer(x, start, attn_mask, cross_kv, cross_weight_mask)
        if self.out_norm is not None:
            out = self.out_norm(out)
        return out[:, -S:]

    def forward(self, sequence: torch.Tensor, cond: Conditions, **options: Any) -> torch.Tensor:
        """Logits [B, K, S, card] for the sequence [B, K, S]; `options` are `hidden`'s (start, masks, cross_kv).

        The decoding loop's one-position calls go through the scripted step where the LM has one (same logits).
        """
        step = self.decode_step
        if step is not None and step.serves(self, sequence, cond, options):
            return step(self, sequence, options)
        return self.heads(self.hidden(sequence, cond, **options))

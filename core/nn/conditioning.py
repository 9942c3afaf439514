"""Conditioners and fuser: prompt text -> T5 -> output_proj; chroma -> output_proj; fused as audiocraft does.

For classifier-free guidance the "null" condition is what audiocraft's `ClassifierFreeGuidanceDropout(p=1)`
produces: an empty description, whose T5 output is masked to zeros, and an all-zero melody, whose chroma is
argmax one-hot at bin 0. Padded T5 positions are zero vectors and stay attended to (no key-padding mask).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from core.errors import InvalidParameterError
from core.nn.lm import Conditions

MAX_PROMPT_TOKENS = 512  # T5's model_max_length: the longest text it was trained on


class T5Conditioner(nn.Module):
    """A frozen T5 encoder plus the trained `output_proj` [lm_dim, t5_dim] from the LM checkpoint."""

    def __init__(self, name: str, t5_dim: int, lm_dim: int, encoder: tuple) -> None:
        """`encoder` is (tokenizer, frozen T5 encoder), loaded by core.models and shared between models."""
        super().__init__()
        self.name = name
        self.output_proj = nn.Linear(t5_dim, lm_dim)
        self.tokenizer, self.t5 = encoder

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (condition [B, L, D], mask [B, L]); empty texts give an all-zero mask."""
        device = self.output_proj.weight.device
        tokens = self.tokenizer(texts, return_tensors="pt", padding=True, verbose=False).to(device)
        self._check_length(texts, tokens["attention_mask"].sum(dim=1).tolist())
        mask = tokens["attention_mask"].clone()
        for i, text in enumerate(texts):
            if text == "":
                mask[i] = 0
        hidden = self.t5(input_ids=tokens["input_ids"], attention_mask=mask).last_hidden_state
        embeds = self.output_proj(hidden.to(self.output_proj.weight.dtype))
        return embeds * mask.unsqueeze(-1).to(embeds.dtype), mask

    def _check_length(self, texts: list[str], counts: list[int]) -> None:
        """Refuse a prompt longer than the encoder's limit: T5's attention grows with its square (a 100,000-character
        prompt would ask for 80 GB), and T5 was trained on at most that many tokens. Cutting it silently would make
        a take of a prompt other than the one recorded."""
        limit = min(int(getattr(self.tokenizer, "model_max_length", MAX_PROMPT_TOKENS)), MAX_PROMPT_TOKENS)
        for text, count in zip(texts, counts, strict=True):
            if count > limit:
                raise InvalidParameterError(
                    f"The prompt is {count:,} text tokens long ({len(text):,} characters); the text encoder reads at "
                    f"most {limit} tokens (about {limit * 4:,} characters of English): shorten it."
                )


class ChromaConditioner(nn.Module):
    """The melody conditioner: chromagram (core.nn.chroma) -> trained `output_proj`, tiled to the segment length."""

    def __init__(
        self, n_chroma: int, lm_dim: int, sample_rate: int, radix2_exp: int, argmax: bool, segment_duration: float
    ) -> None:
        super().__init__()
        from core.nn.chroma import ChromaExtractor, chroma_length

        self.output_proj = nn.Linear(n_chroma, lm_dim)
        self.extractor = ChromaExtractor(sample_rate, n_chroma=n_chroma, radix2_exp=radix2_exp, argmax=argmax)
        self.sample_rate = sample_rate
        self.chroma_len = chroma_length(segment_duration, sample_rate, radix2_exp)

    def project(self, chroma: torch.Tensor) -> torch.Tensor:
        """chroma [B, T, n_chroma] -> condition [B, T, D] (no masking, as at evaluation in audiocraft)."""
        return self.output_proj(chroma.to(self.output_proj.weight.dtype))


@dataclass
class Fuser:
    """Which condition goes where: `cross` attributes are concatenated for cross-attention, `prepend`
    attributes are put in front of the input (each in turn, so the last fused ends up first)."""

    cross: list[str] = field(default_factory=list)
    prepend: list[str] = field(default_factory=list)

    def fuse(self, tensors: dict[str, torch.Tensor], order: list[str]) -> Conditions:
        """`tensors` name -> [B, L, D]; `order` is audiocraft's tokenize order (text first, then wav)."""
        cross = [tensors[name] for name in order if name in self.cross]
        prefix: torch.Tensor | None = None
        for name in order:
            if name in self.prepend:
                prefix = tensors[name] if prefix is None else torch.cat([tensors[name], prefix], dim=1)
        return Conditions(cross=torch.cat(cross, dim=1) if cross else None, prefix=prefix)

"""Turning next-token logits into tokens: classifier-free guidance, temperature, top-k / top-p, seeded draws."""

from __future__ import annotations

import torch

STABLE_BELOW = 1e-3
"""Temperatures this small take the max-shifted softmax (the same distribution, without overflow)."""


def apply_cfg(cond: torch.Tensor, uncond: torch.Tensor, coef: float) -> torch.Tensor:
    """audiocraft's guidance: `uncond + (cond - uncond) * coef`."""
    return uncond + (cond - uncond) * coef


def top_k_filter(probs: torch.Tensor, k: int) -> torch.Tensor:
    """Keep entries >= the k-th largest (ties kept, as audiocraft), renormalised.  # [..., card]"""
    k = min(k, probs.shape[-1])
    kth = torch.topk(probs, k, dim=-1).values[..., -1:]
    kept = probs * (probs >= kth).to(probs.dtype)
    return kept / kept.sum(dim=-1, keepdim=True)


def top_p_head(probs: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """audiocraft's sample_top_p filter: (probs sorted descending, the tail past mass p zeroed and the rest
    renormalised; the vocab index of each). Kept: entries whose exclusive cumulative mass is <= p. [..., card] x2
    """
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    keep = (torch.cumsum(sorted_probs, dim=-1) - sorted_probs) <= p
    sorted_probs = sorted_probs * keep.float()  # float32 mask, as audiocraft: half probs come out float32
    return sorted_probs / sorted_probs.sum(dim=-1, keepdim=True), order


def top_p_filter(probs: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest head whose exclusive cumulative mass is <= p, renormalised, in vocab order."""
    head, order = top_p_head(probs, p)
    return torch.zeros_like(probs).scatter(-1, order, head)


def logits_to_probs(logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 0.0) -> torch.Tensor:
    """The distribution audiocraft samples from: softmax(logits / T), then top-p if p > 0 else top-k if k > 0."""
    logits = logits.float()
    if temperature < STABLE_BELOW:  # logits / T would overflow to inf (and softmax to nan): shift first
        logits = logits - logits.max(dim=-1, keepdim=True).values
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p > 0.0:
        return top_p_filter(probs, top_p)
    if top_k > 0:
        return top_k_filter(probs, top_k)
    return probs


def sample(
    logits: torch.Tensor,
    *,
    use_sampling: bool,
    temperature: float,
    top_k: int,
    top_p: float,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Next tokens from logits [..., card] -> [...]: argmax when greedy or T == 0, else a seeded draw."""
    if not use_sampling or temperature <= 0.0:
        return logits.argmax(dim=-1)
    return multinomial(logits_to_probs(logits, temperature, top_k, top_p), generator)


def multinomial(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One seeded draw per row of probs [..., card] -> [...]."""
    drawn = torch.multinomial(probs.reshape(-1, probs.shape[-1]), num_samples=1, generator=generator)
    return drawn.reshape(probs.shape[:-1])

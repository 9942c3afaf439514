"""MAGNeT's masks: which spans of a codebook to re-mask at each decoding step, and the local self-attention.

Masked decoding keeps a score per unit (a span of `span_len` frames with `nonoverlap`, a single frame with
`stride1`): higher means less confident, re-masked first. Units decided in an earlier step score
`DONT_REMASK` and are never masked again. Worked example, 9 frames, span_len 3, `nonoverlap`, 2 spans
to mask, span scores [0.1, 0.7, 0.4]: spans 1 and 2 are masked -> token mask `...MMMMMM` (`M` = masked).

With `stride1` the spans may start at any frame: the `u` least probable overlapping spans are masked, `u`
found by audiocraft's binary search so that the number of masked frames is close to the target.
"""

from __future__ import annotations

import torch

DONT_REMASK = -1e4


def restricted_attention_mask(
    length: int, context: int | None, device: torch.device, dtype: torch.dtype
) -> torch.Tensor | None:
    """Additive self-attention mask of stages > 0: 0 where |i - j| <= context, -inf elsewhere. [L, L]

    audiocraft's `restricted_context_attn_mask`, as its xformers path uses it (an additive bias). None (or
    -1) means unrestricted attention.
    """
    if context is None or context < 0:
        return None
    pos = torch.arange(length, device=device)
    near = (pos.view(-1, 1) - pos.view(1, -1)).abs() <= context
    return torch.zeros(length, length, dtype=dtype, device=device).masked_fill(~near, float("-inf"))


def chunked(span_len: int, arrangement: str) -> bool:
    """Whether scores are kept per non-overlapping span (else per frame)."""
    return span_len > 1 and arrangement == "nonoverlap"


def decoded_length(frames: int, span_len: int, arrangement: str) -> int:
    """Frames MAGNeT decodes: with non-overlapping spans, trimmed to a multiple of span_len (500 -> 498)."""
    return span_len * (frames // span_len) if chunked(span_len, arrangement) else frames


def num_units(frames: int, span_len: int, arrangement: str) -> int:
    """How many scored units a decoded sequence of `frames` frames has."""
    return frames // span_len if chunked(span_len, arrangement) else frames


def remask(scores: torch.Tensor, num_masked: int, span_len: int, arrangement: str) -> torch.Tensor:
    """The frames to mask for the next step, from the unit scores [B, U] -> [B, T] bool."""
    if arrangement == "stride1" and span_len > 1:
        return torch.cat([least_probable_spans(row, num_masked, span_len) for row in scores])
    chosen = scores.topk(num_masked, dim=-1).indices  # [B, num_masked]
    units = torch.zeros_like(scores, dtype=torch.bool).scatter(1, chosen, True)  # [B, U]
    return units.repeat_interleave(span_len, dim=-1) if chunked(span_len, arrangement) else units


def unit_mask(token_mask: torch.Tensor, span_len: int, arrangement: str) -> torch.Tensor:
    """Which units are masked, from the frame mask [B, T] -> [B, U] (a masked span is masked whole)."""
    if not chunked(span_len, arrangement):
        return token_mask
    B, T = token_mask.shape
    return token_mask.view(B, T // span_len, span_len).all(dim=-1)


def unit_scores(chosen_probs: torch.Tensor, was_masked: torch.Tensor, span_len: int, arrangement: str) -> torch.Tensor:
    """Scores for the next re-masking from the probabilities of the chosen tokens [B, T] -> [B, U].

    Spans score `1 - max prob` (audiocraft's span_scoring 'max'); single frames `-log prob`. Units that
    were not masked in this step (`was_masked` [B, U] False) are kept: DONT_REMASK.
    """
    if chunked(span_len, arrangement):
        B, T = chosen_probs.shape
        scores = 1 - chosen_probs.view(B, T // span_len, span_len).max(dim=-1).values  # [B, U]
    else:
        scores = -torch.log(chosen_probs)
    return scores.masked_fill(~was_masked, DONT_REMASK)


def spans_mask(starts: torch.Tensor, length: int, span_len: int) -> torch.Tensor:
    """Frames covered by spans of span_len frames starting at `starts` -> [1, T] bool."""
    first = torch.zeros(length, dtype=torch.bool, device=starts.device)
    first[starts] = True
    mask = first.clone()
    for shift in range(1, span_len):
        mask[shift:] |= first[:-shift]
    return mask[None]


def least_probable_spans(scores: torch.Tensor, target: int, span_len: int) -> torch.Tensor:
    """audiocraft's `_least_probable_span_masking` for one row of frame scores [T] -> [1, T] bool.

    Overlapping spans are ranked by their summed scores; the number `u` of spans taken is found by binary
    search so that about `target` frames end up masked (audiocraft's rounding and exit rule kept as is).
    """
    T = scores.shape[-1]
    span_sums = scores.unfold(0, span_len, 1).sum(dim=-1)  # [T - span_len + 1]
    ranked = torch.argsort(span_sums, descending=True)
    target = max(target, span_len)
    low, high = target // span_len, target - span_len + 1
    mid = round(0.5 * (low + high))
    mask = spans_mask(ranked[:mid], T, span_len)
    while low < mid < high:
        if mask.sum() > target:
            high = mid
        else:
            low = mid
        mid = round(0.5 * (low + high))
        if low < mid < high:
            mask = spans_mask(ranked[:mid], T, span_len)
    return mask

"""Autoregressive decoding with the codebook delay pattern and classifier-free guidance (MusicGen, AudioGen).

The CFG batch holds each take's pair of rows, conditional then null: B takes are 2B rows, take b at rows 2b
and 2b + 1. Each take samples with its own generator and the linears run per take unless their kernel computes
rows independently (`core.nn.fast_linear.rows_per_take`), so a take depends only on its own prompt, parameters
and seed, whether it is decoded alone or with others (batched variations). Steps: `DecodeState.start`, a
prefill (the start column, or a continuation prompt) in one call, then `decode_one_token` per remaining pattern
step, as audiocraft's `LMModel.generate` with its streaming cache.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from core.cancel import CancelToken, Progress, check_cancel, report
from core.decoding.sampling import apply_cfg, sample
from core.nn.delay_pattern import DelayPattern
from core.nn.fast_linear import rows_per_take
from core.nn.lm import Conditions, LMModel
from core.params import GenerationParams

UNKNOWN = -1
Generators = torch.Generator | Sequence[torch.Generator] | None  # one for all rows, or one per take

FramesCallback = Callable[[torch.Tensor], None]
"""`on_frames(codes)`: the frames complete so far, codes [B, K, F] (prompt included), after a step adds one."""


@dataclass
class DecodeState:
    """What the loop carries between steps."""

    sequence: torch.Tensor  # [B, K, S] pattern sequence, UNKNOWN where not generated yet
    mask: torch.Tensor  # [K, S] valid positions of the pattern
    cross_kv: list | None  # per-layer text keys/values, computed once
    prefix_len: int
    cross_weight_mask: torch.Tensor | None = None  # [B, S - 1, L] conditional rows' cross weights per input step

    @classmethod
    def start(cls, lm: LMModel, pattern: DelayPattern, cond: Conditions, prompt: torch.Tensor, frames: int):
        """The pattern sequence of prompt [B, K, T0] (T0 may be 0) and `frames` in all, with the caches set up.

        `cross_weight_mask` [B, S - 1, L] (AudioGenX, set by the caller) scales the conditional rows'
        cross-attention weights: row s applies when the LM reads the column at step s. The null rows keep theirs.
        """
        B, K, T0 = prompt.shape
        codes = torch.full((B, K, frames), UNKNOWN, dtype=torch.long, device=prompt.device)
        codes[..., :T0] = prompt
        sequence, mask = pattern.build(codes, lm.special_token)
        dtype = lm.emb[0].weight.dtype
        lm.transformer.setup_caches(2 * B, cond.prefix_len + sequence.shape[-1], dtype, prompt.device)
        cross_kv = lm.transformer.cross_kv(cond.cross.to(dtype)) if cond.cross is not None else None
        return cls(sequence, mask, cross_kv, cond.prefix_len)


def _next_tokens(
    lm: LMModel,
    chunk: torch.Tensor,
    cond: Conditions,
    state: DecodeState,
    start: int,
    params: GenerationParams,
    generator: Generators,
) -> torch.Tensor:
    """Run the CFG batch on `chunk` [B, K, T] and pick the next column: -> [B, K]."""
    weights = _cfg_weight_mask(state, start - state.prefix_len, chunk.shape[-1])  # [2B, T, L] or None
    both = chunk.repeat_interleave(2, dim=0)  # [2B, K, T]: conditional and null row of each take
    logits = lm(both, cond, start=start, cross_kv=state.cross_kv, cross_weight_mask=weights)[:, :, -1]
    guided = apply_cfg(logits[0::2], logits[1::2], params.cfg_coef)  # [B, K, card]
    if generator is None or isinstance(generator, torch.Generator):
        return _sample(guided, params, generator)
    return torch.cat([_sample(guided[b : b + 1], params, g) for b, g in enumerate(generator)])  # [B, K]


def _sample(guided: torch.Tensor, params: GenerationParams, generator: torch.Generator | None) -> torch.Tensor:
    return sample(
        guided,
        use_sampling=params.use_sampling,
        temperature=params.temperature,
        top_k=params.top_k,
        top_p=params.top_p,
        generator=generator,
    )


def _cfg_weight_mask(state: DecodeState, offset: int, length: int) -> torch.Tensor | None:
    """One LM call's cross-weight mask: the given rows for the conditional half, ones for the null half."""
    if state.cross_weight_mask is None:
        return None
    rows = state.cross_weight_mask[:, offset : offset + length]  # [B, T, L]
    return torch.stack([rows, torch.ones_like(rows)], dim=1).flatten(0, 1)  # [2B, T, L], take-interleaved


def _write_column(state: DecodeState, offset: int, tokens: torch.Tensor, special: int) -> None:
    """Store generated tokens at `offset`, keeping prompt tokens and the pattern's special positions."""
    valid = state.mask[:, offset].unsqueeze(0).expand_as(tokens)
    tokens = torch.where(valid, tokens, torch.full_like(tokens, special))
    column = state.sequence[:, :, offset]
    state.sequence[:, :, offset] = torch.where(column == UNKNOWN, tokens, column)


def decode_one_token(
    lm: LMModel,
    cond: Conditions,
    state: DecodeState,
    offset: int,
    params: GenerationParams,
    generator: Generators,
) -> None:
    """Feed the column at `offset - 1` (cache holds the rest) and write the column at `offset`."""
    chunk = state.sequence[..., offset - 1 : offset]
    tokens = _next_tokens(lm, chunk, cond, state, state.prefix_len + offset - 1, params, generator)
    _write_column(state, offset, tokens, lm.special_token)


@torch.inference_mode()
def generate_codes(
    lm: LMModel,
    pattern: DelayPattern,
    cond: Conditions,
    prompt: torch.Tensor,
    total_frames: int,
    params: GenerationParams,
    generator: Generators,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    cross_weight_mask: torch.Tensor | None = None,
    on_frames: FramesCallback | None = None,
) -> torch.Tensor:
    """Generate `total_frames` frames (prompt included): prompt [B, K, T0] -> codes [B, K, total_frames].

    `cond` holds the CFG batch: 2B rows, take b's conditional row at 2b and its null row at 2b + 1.
    `generator`: one for all takes, or a sequence of one per take. `progress(step, total)` counts LM calls.
    `cross_weight_mask` [B, S - 1, L]: see `DecodeState` (None: the model as trained).
    `on_frames(codes [B, K, F])` follows each step that completes a frame (all K codebooks written).
    """
    try:
        with rows_per_take(2):
            check_cancel(cancel)
            state = DecodeState.start(lm, pattern, cond, prompt, total_frames)
            state.cross_weight_mask = cross_weight_mask
            first = pattern.first_step_with_frame(prompt.shape[-1])  # prefill: the columns before it in one call
            tokens = _next_tokens(lm, state.sequence[..., :first], cond, state, 0, params, generator)
            _write_column(state, first, tokens, lm.special_token)
            steps = state.sequence.shape[-1]
            report(progress, 1, steps - first)
            for step in range(first + 1, steps):
                check_cancel(cancel)
                decode_one_token(lm, cond, state, step, params, generator)
                report(progress, step - first + 1, steps - first)
                if on_frames is not None:
                    _report_frames(on_frames, pattern, state.sequence, step, total_frames, prompt.shape[-1])
            return pattern.revert(state.sequence, total_frames)
    finally:
        lm.transformer.clear_caches()


def _report_frames(
    on_frames: FramesCallback, pattern: DelayPattern, sequence: torch.Tensor, step: int, total: int, prompt: int
) -> None:
    """Hand on the frames complete once the column at `step` is written (frame t's last codebook sits at
    step `lead + t + max_delay`)."""
    complete = min(step - pattern.lead - pattern.max_delay + 1, total)
    if complete > prompt:
        on_frames(pattern.revert(sequence[..., : step + 1], complete))  # [B, K, complete]

"""MAGNeT generation: masked, non-autoregressive decoding of a whole segment, codebook by codebook.

The same `LMModel` as MusicGen runs non-causally over all frames at once. Codebook (stage) s is decoded in
`decoding_steps[s]` steps: every step re-masks the least confident spans of that codebook (all of them at
the first step), predicts them with classifier-free guidance and keeps the new tokens; codebooks below s
are fixed, those above are all mask tokens. Stages > 0 attend only to frames within `subcodes_context`.
This is audiocraft's `MagnetLMModel._generate_magnet` / `_generate_stage` (span scoring 'max', linear
temperature annealing), drawing from the caller's seeded generator instead of torch's global one.

Takes: MAGNeT always decodes its whole training segment (`segment_duration`, e.g. 10 s = 500 frames,
trimmed to a multiple of span_len: 498), as audiocraft does. A shorter requested duration is the start of
that segment, cut to `int(duration * frame_rate)` frames; a longer one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.cancel import CancelToken, Progress, check_cancel, report
from core.decoding.sampling import apply_cfg, multinomial, top_k_filter, top_p_head
from core.decoding.schedule import StepPlan, stage_plan
from core.decoding.spans import decoded_length, num_units, remask, restricted_attention_mask, unit_mask, unit_scores
from core.errors import InvalidParameterError
from core.nn.lm import Conditions, LMModel
from core.params import GenerationParams


@dataclass
class MaskedContext:
    """What every step of one generation shares: the LM, its conditions and the precomputed masks."""

    lm: LMModel
    cond: Conditions  # CFG batch: 2B rows, conditional first
    cross_kv: list | None  # per-layer text keys/values, computed once
    local_mask: torch.Tensor | None  # [L, L] additive self-attention window of stages > 0 (None: unrestricted)
    span_len: int
    arrangement: str

    @classmethod
    def build(cls, lm: LMModel, cond: Conditions, frames: int, span_len: int, arrangement: str) -> MaskedContext:
        dtype, device = lm.emb[0].weight.dtype, lm.emb[0].weight.device
        cross_kv = lm.transformer.cross_kv(cond.cross.to(dtype)) if cond.cross is not None else None
        local = restricted_attention_mask(cond.prefix_len + frames, lm.cfg.subcodes_context, device, dtype)
        return cls(lm, cond, cross_kv, local, span_len, arrangement)

    @property
    def mask_id(self) -> int:
        return self.lm.special_token


def predict(ctx: MaskedContext, codes: torch.Tensor, stage: int, cfg_coef: float) -> torch.Tensor:
    """Guided logits of codebook `stage` for every frame: codes [B, K, T] -> [B, T, card]."""
    B = codes.shape[0]
    attn_mask = ctx.local_mask if stage > 0 else None
    hidden = ctx.lm.hidden(torch.cat([codes, codes]), ctx.cond, attn_mask=attn_mask, cross_kv=ctx.cross_kv)
    logits = ctx.lm.head(stage, hidden)  # [2B, T, card]
    return apply_cfg(logits[:B], logits[B:], cfg_coef)


def _draw_top_p(probs: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """audiocraft's sample_top_p: draw in descending-probability order from the head of mass <= p. [..., card]"""
    head, order = top_p_head(probs, p)
    return order.gather(-1, multinomial(head, generator)[..., None])[..., 0]


def choose(
    logits: torch.Tensor, plan: StepPlan, params: GenerationParams, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens for every frame and the probability each had: logits [B, T, card] -> two [B, T].

    As audiocraft, the probability of a top-k draw is read from the renormalised top-k distribution
    (its sampler filters in place), that of a top-p draw or an argmax from the full softmax.
    """
    probs = torch.softmax(logits / plan.softmax_temperature, dim=-1)  # [B, T, card]
    if not params.use_sampling:
        tokens = logits.argmax(dim=-1)
    elif params.top_p > 0.0:
        tokens = _draw_top_p(probs, params.top_p, generator)
    else:
        if params.top_k > 0:
            probs = top_k_filter(probs, params.top_k)
        tokens = multinomial(probs, generator)
    return tokens, probs.gather(-1, tokens[..., None])[..., 0]


def decode_step(
    ctx: MaskedContext,
    codes: torch.Tensor,
    stage: int,
    plan: StepPlan,
    params: GenerationParams,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Fill the masked frames of codebook `stage` in codes [B, K, T] (in place); -> next unit scores [B, U]."""
    row = codes[:, stage]  # [B, T]
    masked = row == ctx.mask_id
    tokens, chosen_probs = choose(predict(ctx, codes, stage, plan.cfg_coef), plan, params, generator)
    codes[:, stage] = torch.where(masked, tokens, row)
    return unit_scores(chosen_probs, unit_mask(masked, ctx.span_len, ctx.arrangement), ctx.span_len, ctx.arrangement)


def apply_remask(ctx: MaskedContext, codes: torch.Tensor, stage: int, scores: torch.Tensor, num_masked: int) -> None:
    """Put the mask token on the least confident units of codebook `stage` (in place)."""
    mask = remask(scores, num_masked, ctx.span_len, ctx.arrangement)  # [B, T]
    codes[:, stage] = codes[:, stage].masked_fill(mask, ctx.mask_id)


def decode_stage(
    ctx: MaskedContext,
    codes: torch.Tensor,
    plans: list[StepPlan],
    params: GenerationParams,
    generator: torch.Generator | None,
    after_step,
) -> None:
    """Decode one codebook in len(plans) steps (in place); `after_step()` runs after each, cancel-checked."""
    B, _, T = codes.shape
    scores = torch.zeros(B, num_units(T, ctx.span_len, ctx.arrangement), device=codes.device)  # all masked
    for plan in plans:
        apply_remask(ctx, codes, plan.stage, scores, plan.num_masked)
        scores = decode_step(ctx, codes, plan.stage, plan, params, generator)
        after_step()


@torch.inference_mode()
def decode_masked(
    lm: LMModel,
    cond: Conditions,
    frames: int,
    span_len: int,
    params: GenerationParams,
    generator: torch.Generator | None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """MAGNeT decoding of `frames` frames for the CFG batch `cond` (2B rows) -> codes [B, K, T].

    T is `frames` trimmed to a multiple of span_len with non-overlapping spans. `progress(step, total)`
    counts decoding steps (sum of decoding_steps); `cancel` is checked before each.
    """
    arrangement = params.span_arrangement
    T = decoded_length(frames, span_len, arrangement)
    ctx = MaskedContext.build(lm, cond, T, span_len, arrangement)
    rows = (cond.cross if cond.cross is not None else cond.prefix).shape[0]
    codes = torch.full((rows // 2, lm.cfg.n_q, T), ctx.mask_id, dtype=torch.long, device=lm.emb[0].weight.device)
    units, total, done = num_units(T, span_len, arrangement), sum(params.decoding_steps), 0

    def after_step() -> None:
        nonlocal done
        done += 1
        report(progress, done, total)
        if done < total:
            check_cancel(cancel)

    check_cancel(cancel)
    for stage, steps in enumerate(params.decoding_steps):
        plans = stage_plan(stage, steps, units, params.temperature, params.max_cfg_coef, params.min_cfg_coef)
        decode_stage(ctx, codes, plans, params, generator, after_step)
    return codes


def magnet_frames(model, params: GenerationParams) -> tuple[int, int]:
    """(frames decoded, frames kept) for a request; a duration beyond the model's segment is refused."""
    segment, fr = model.max_duration, model.frame_rate
    if params.duration > segment + 1e-6:
        raise InvalidParameterError(
            f"{model.ref} makes takes of at most {segment:g} s (it always generates its {segment:g} s segment); "
            f"ask for {segment:g} s or less, got {params.duration:g} s."
        )
    return int(segment * fr), max(1, int(params.duration * fr))


def generate_magnet_codes(
    model,
    cond: Conditions,
    params: GenerationParams,
    generator: torch.Generator | None,
    progress: Progress | None,
    cancel: CancelToken | None,
) -> torch.Tensor:
    """One MAGNeT take for a loaded model: the CFG batch `cond` [conditional; null] -> codes [1, K, T]."""
    bundle = model.bundle
    n_q = bundle.lm.cfg.n_q
    if len(params.decoding_steps) != n_q:
        raise InvalidParameterError(
            f"{model.ref} has {n_q} codebooks: give {n_q} decoding step counts (e.g. 20,10,10,10), "
            f"got {len(params.decoding_steps)}."
        )
    frames, kept = magnet_frames(model, params)
    codes = decode_masked(bundle.lm, cond, frames, bundle.span_len, params, generator, progress, cancel)
    return codes[..., :kept]

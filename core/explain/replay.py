"""Teacher-forced passes of a take's codes through the LM: record its hidden states, replay them with a mask.

A take's codes [K, T] are laid out with the delay pattern; the LM reads input steps 0 .. S-2 of the pattern
sequence (step s predicts the column at s + 1), and one causal pass over them gives the final hidden states
(after out_norm) of every decoding step at once: those of the conditional branch of generation, since CFG rows
are independent. AudioGenX records them during generation (gen_audio.py:44-50, lm.py `generate_with_mask`
`outs`); the replays scale the post-softmax cross-attention weights of each text token by a per-step mask
(audiocraft/utils/attention.py:28-34, applied to the conditional half only).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from core.errors import InvalidParameterError
from core.nn.delay_pattern import DelayPattern
from core.nn.fast_linear import int8_values_kept
from core.nn.lm import Conditions, LMModel


@dataclass(frozen=True)
class StepTiming:
    """How decoding steps relate to time: enough to map a window in seconds to the steps that made it."""

    frame_rate: float
    frames: int
    lead: int
    delays: tuple[int, ...]

    @property
    def steps(self) -> int:
        """Decoding steps (LM input steps) of the take: all pattern steps but the last."""
        return self.lead + self.frames + max(self.delays) - 1

    @property
    def duration(self) -> float:
        return self.frames / self.frame_rate

    def window_steps(self, window: tuple[float, float] | None) -> tuple[int, int]:
        """Seconds [start, end) -> frames -> the steps [s0, s1) whose outputs predict a token of those frames.

        Frame f of codebook k is predicted by step `lead + f + delays[k] - 1`; None is every step.
        """
        if window is None:
            return 0, self.steps
        start, end = (float(v) for v in window)
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
            raise InvalidParameterError(f"A time window needs 0 <= start < end, got {start:g} to {end:g} s.")
        if start >= self.duration:
            raise InvalidParameterError(f"The window starts at {start:g} s but the take lasts {self.duration:.2f} s.")
        f0 = int(math.floor(start * self.frame_rate))
        f1 = max(f0 + 1, min(self.frames, int(math.ceil(end * self.frame_rate))))
        s0 = max(0, self.lead + f0 + self.delays[0] - 1)
        s1 = min(self.steps, self.lead + f1 - 1 + max(self.delays))
        return s0, s1


def timing_of(pattern: DelayPattern, frames: int, frame_rate: float) -> StepTiming:
    return StepTiming(float(frame_rate), int(frames), pattern.lead, tuple(pattern.delays))


def input_steps(lm: LMModel, pattern: DelayPattern, codes: torch.Tensor) -> torch.Tensor:
    """codes [K, T] -> the LM's teacher-forced input [1, K, S - 1] (the pattern sequence without its last step)."""
    sequence, _ = pattern.build(codes[None], lm.special_token)  # [1, K, S]
    return sequence[..., :-1]


@contextmanager
def frozen(lm: LMModel) -> Iterator[None]:
    """Gradients flow through the LM to the mask, never into the LM: its parameters are frozen meanwhile (and
    int8 weights keep their values at hand for the backward passes)."""
    flags = [(p, p.requires_grad) for p in lm.parameters()]
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        with torch.inference_mode(False), torch.enable_grad(), int8_values_kept(lm.prepared_linears()):
            yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def text_keys(lm: LMModel, cross: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per-layer cross-attention keys/values of the conditional text [1, L, D], computed once."""
    dtype = lm.emb[0].weight.dtype
    with torch.no_grad():
        kv = lm.transformer.cross_kv(cross.to(dtype))
    if kv is None:
        raise InvalidParameterError("This model has no cross-attention to the text, so AudioGenX cannot explain it.")
    return kv


def record_hidden(lm: LMModel, sequence: torch.Tensor, cross_kv: list) -> torch.Tensor:
    """The unmasked hidden states z_t of every step: sequence [1, K, S] -> [S, D] (float32)."""
    with torch.no_grad():
        return lm.hidden(sequence, Conditions(), cross_kv=cross_kv)[0].float()


def masked_hidden(lm: LMModel, sequence: torch.Tensor, cross_kv: list, masks: torch.Tensor) -> torch.Tensor:
    """One pass per mask row: masks [R, S, L] scale the text's attention weights -> hidden [R, S, D] (float32)."""
    R = masks.shape[0]
    rows = sequence.expand(R, -1, -1)  # [R, K, S]
    kv = [(k.expand(R, -1, -1, -1), v.expand(R, -1, -1, -1)) for k, v in cross_kv]
    return lm.hidden(rows, Conditions(), cross_kv=kv, cross_weight_mask=masks).float()

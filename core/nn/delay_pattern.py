"""The codebook delay pattern: how K parallel token streams are interleaved into one LM sequence.

MusicGen and AudioGen predict K codebooks per frame with one transformer step by delaying codebook k by
`delays[k]` steps, so that codebook k at frame t is predicted after codebook k-1 of the same frame. Sequence
step 0 is an all-special "start" column (unless `empty_initial < 0`). Worked example, K = 4, delays
[0, 1, 2, 3], T = 3 frames of codes `a`..`d` (codebooks 0..3) and `_` = special token (= card):

    step s:        0   1   2   3   4   5   6
    codebook 0:    _   a0  a1  a2  _   _   _
    codebook 1:    _   _   b0  b1  b2  _   _
    codebook 2:    _   _   _   c0  c1  c2  _
    codebook 3:    _   _   _   _   d0  d1  d2

i.e. `sequence[k, s] = codes[k, s - 1 - delays[k]]` where that frame exists. The LM output at step s predicts
the column at step s + 1. With `valid_only=True` (training-style teacher forcing) only the first T + 1 steps
are kept, so the last `delays[k]` frames of codebook k get no prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DelayPattern:
    """A delay interleaving of `len(delays)` codebooks; `empty_initial` extra leading special steps."""

    delays: tuple[int, ...]
    empty_initial: int = 0

    def __post_init__(self) -> None:
        assert list(self.delays) == sorted(self.delays), "delays must be non-decreasing"

    @property
    def n_q(self) -> int:
        return len(self.delays)

    @property
    def max_delay(self) -> int:
        return max(self.delays)

    @property
    def lead(self) -> int:
        """Number of special steps before frame 0 of codebook 0."""
        return 0 if self.empty_initial < 0 else 1 + self.empty_initial

    def num_steps(self, timesteps: int, valid_only: bool = False) -> int:
        full = self.lead + timesteps + self.max_delay
        return full - self.max_delay if valid_only else full

    def first_step_with_frame(self, frame: int) -> int:
        """The first sequence step that holds a token of `frame` (codebook 0 has the smallest delay)."""
        return self.lead + frame + self.delays[0]

    def _frame_index(self, timesteps: int, steps: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """For each (codebook, step): the frame it holds and whether that frame exists.  # [K, S] each"""
        step = torch.arange(steps, device=device).view(1, -1)
        delay = torch.tensor(self.delays, device=device).view(-1, 1)
        frame = step - self.lead - delay
        valid = (frame >= 0) & (frame < timesteps)
        return frame.clamp(0, max(timesteps - 1, 0)), valid

    def build(self, codes: torch.Tensor, special: int, valid_only: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Interleave `codes` [B, K, T] into a sequence [B, K, S]; also return the validity mask [K, S]."""
        B, K, T = codes.shape
        steps = self.num_steps(T, valid_only)
        frame, valid = self._frame_index(T, steps, codes.device)
        gathered = codes.gather(2, frame.unsqueeze(0).expand(B, -1, -1)) if T > 0 else codes.new_zeros(B, K, steps)
        sequence = torch.where(valid.unsqueeze(0), gathered, torch.full_like(gathered, special))
        return sequence, valid

    def revert(self, sequence: torch.Tensor, timesteps: int) -> torch.Tensor:
        """Undo `build`: sequence [B, K, S] -> codes [B, K, T]."""
        B, K, S = sequence.shape
        frames = torch.arange(timesteps, device=sequence.device).view(1, -1)
        steps = frames + self.lead + torch.tensor(self.delays, device=sequence.device).view(-1, 1)  # [K, T]
        return sequence.gather(2, steps.unsqueeze(0).expand(B, -1, -1))

    def revert_logits(self, logits: torch.Tensor, timesteps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Align LM outputs [B, K, S, card] with the frames they predict: -> [B, K, T, card], mask [K, T].

        The output at step s predicts step s + 1, so frame t of codebook k comes from step
        `lead + t + delays[k] - 1`; frames whose step lies beyond the sequence get NaN and mask False.
        """
        B, K, S, card = logits.shape
        frames = torch.arange(timesteps, device=logits.device).view(1, -1)
        src = frames + self.lead - 1 + torch.tensor(self.delays, device=logits.device).view(-1, 1)  # [K, T]
        valid = (src >= 0) & (src < S - 1)
        index = src.clamp(0, S - 1)[None, :, :, None].expand(B, -1, -1, card)
        out = logits.gather(2, index)
        out = torch.where(valid[None, :, :, None], out, torch.full_like(out, float("nan")))
        return out, valid

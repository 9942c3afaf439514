"""demucs' `apply_model` (shifts=1, split=True, overlap 0.25) with the random shift passed in, not drawn.

`demucs.apply.apply_model` draws its time shift from Python's global `random`, so a take that separates a
melody is not reproducible. This module does the same arithmetic with an explicit `shift_offset`:

1. shift trick: `max_shift = int(0.5 * samplerate)`; the mix [B, C, L] is zero-padded by `max_shift` on both
   sides and the model runs on samples `[offset, L + max_shift)` of that padded signal (length
   `L' = L + max_shift - offset`); the result is `out[..., max_shift - offset:]` (length L).
2. split: chunks of `S = int(samplerate * segment)` samples every `stride = int(0.75 * S)`. A chunk is
   padded *centred* to `model.valid_length(len)` (= S for HTDemucs), taking real context from the padded
   signal where it exists and zeros elsewhere (`TensorChunk.padded`); the model output is centre-trimmed
   back, and chunks are blended with the triangular weight `[1, 2, ..., S/2, S/2, ..., 1] / max`, divided
   by the summed weights.

Worked example (HTDemucs, 44.1 kHz, 2 s melody -> L = 88200, offset 4773): max_shift 22050, the model sees
samples [4773, 110250) of the padded mix (L' = 105477 < S = 343980: one chunk, padded centred to 343980), and
the stems are `out[..., 17277:]`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.cancel import CancelToken, Progress, check_cancel, report

OVERLAP = 0.25
SHIFT_SECONDS = 0.5


def max_shift(samplerate: int) -> int:
    """Largest shift offset demucs draws: `int(0.5 * samplerate)` (22050 at 44.1 kHz)."""
    return int(SHIFT_SECONDS * samplerate)


def chunk_offsets(length: int, segment_length: int) -> range:
    """Start of every split chunk inside a signal of `length` samples."""
    return range(0, length, int((1 - OVERLAP) * segment_length))


def apply_with_shift(
    model: nn.Module,
    mix: torch.Tensor,
    shift_offset: int | None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """Stems of `mix` [B, C, L] -> [B, S, C, L]; `shift_offset` in [0, max_shift], None = no shift trick."""
    length = mix.shape[-1]
    if shift_offset is None:
        return _apply_split(model, mix, 0, length, progress, cancel)
    shift = max_shift(model.samplerate)
    if not 0 <= shift_offset <= shift:
        raise ValueError(f"shift_offset {shift_offset} is outside [0, {shift}]")
    padded = F.pad(mix, (shift, shift))  # [B, C, L + 2 * shift]
    out = _apply_split(model, padded, shift_offset, length + shift - shift_offset, progress, cancel)
    return out[..., shift - shift_offset :]  # [B, S, C, L]


def _apply_split(
    model: nn.Module,
    source: torch.Tensor,
    start: int,
    length: int,
    progress: Progress | None,
    cancel: CancelToken | None,
) -> torch.Tensor:
    """Run `model` over `source[..., start:start + length]` in blended chunks -> [B, S, C, length]."""
    batch, channels = source.shape[:2]
    segment_length = int(model.samplerate * model.segment)
    out = torch.zeros(batch, len(model.sources), channels, length, device=source.device)
    sum_weight = torch.zeros(length, device=source.device)
    weight = _transition_weight(segment_length, source.device)  # [S]
    offsets = chunk_offsets(length, segment_length)
    for index, offset in enumerate(offsets):
        check_cancel(cancel)
        chunk_length = min(length - offset, segment_length)
        chunk_out = _apply_chunk(model, source, start + offset, chunk_length)  # [B, S, C, chunk]
        out[..., offset : offset + segment_length] += weight[:chunk_length] * chunk_out
        sum_weight[offset : offset + segment_length] += weight[:chunk_length]
        report(progress, index + 1, len(offsets))
    return out / sum_weight


def _transition_weight(segment_length: int, device: torch.device) -> torch.Tensor:
    """Triangle peaking mid-chunk, normalised to max 1 (transition_power 1)."""
    half = segment_length // 2
    weight = torch.cat(
        [torch.arange(1, half + 1, device=device), torch.arange(segment_length - half, 0, -1, device=device)]
    )
    return weight / weight.max()


def _apply_chunk(model: nn.Module, source: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """Model output for `source[..., start:start + length]`, padded centred to the model's valid length."""
    valid_length = model.valid_length(length) if hasattr(model, "valid_length") else length
    window = _centred_window(source, start, length, valid_length)  # [B, C, valid_length]
    with torch.no_grad():
        out = model(window)  # [B, S, C, valid_length]
    trim = out.shape[-1] - length
    return out[..., trim // 2 : out.shape[-1] - (trim - trim // 2)]


def _centred_window(source: torch.Tensor, start: int, length: int, target: int) -> torch.Tensor:
    """demucs `TensorChunk.padded`: `target` samples centred on the chunk, real context first, then zeros."""
    first = start - (target - length) // 2
    last = first + target
    lo, hi = max(0, first), min(source.shape[-1], last)
    return F.pad(source[..., lo:hi], (lo - first, last - hi))

"""Transformer building blocks: the decode-time linear paths, KV-cached attention and the delay pattern."""

from __future__ import annotations

import torch

from benchmarks.common import random_lm
from core.nn.delay_pattern import DelayPattern
from core.nn.lm import Conditions


def test_cached_step_by_step_equals_one_causal_pass():
    """Decoding with the KV cache one position at a time gives the logits of a full causal pass."""
    lm = random_lm(dim=64, num_heads=4, num_layers=2, card=32)
    cond = Conditions(cross=torch.randn(2, 5, 64))
    sequence = torch.randint(0, 32, (2, 4, 7))
    with torch.no_grad():
        full = lm(sequence, cond)
        lm.transformer.setup_caches(2, 7, torch.float32, torch.device("cpu"))
        steps = [lm(sequence[..., :3], cond, start=0)]
        steps += [lm(sequence[..., t : t + 1], cond, start=t) for t in range(3, 7)]
        lm.transformer.clear_caches()
    torch.testing.assert_close(torch.cat(steps, dim=2), full, atol=1e-5, rtol=1e-5)


def test_delay_pattern_round_trip_and_worked_example():
    pattern = DelayPattern((0, 1, 2, 3))
    codes = torch.arange(12).view(1, 4, 3)
    sequence, mask = pattern.build(codes, special=99)
    assert sequence.shape == (1, 4, 7)
    assert sequence[0, 0].tolist() == [99, 0, 1, 2, 99, 99, 99]
    assert sequence[0, 3].tolist() == [99, 99, 99, 99, 9, 10, 11]
    assert torch.equal(pattern.revert(sequence, 3), codes)
    assert mask.sum().item() == 12

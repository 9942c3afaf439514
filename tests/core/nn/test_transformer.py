"""Transformer building blocks: the decode-time linear paths, KV-cached attention and the delay pattern."""

from __future__ import annotations

import torch

from benchmarks.common import random_lm
from core.nn.delay_pattern import DelayPattern
from core.nn.lm import Conditions
from core.nn.quantize import apply_precision


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


def test_a_bfloat16_model_attends_in_float32_on_the_cpu():
    """Its cached keys / values and the text's are float32 (exactly widened), its outputs stay bfloat16, and the
    cached steps agree with a full bfloat16 pass as closely as bfloat16 allows."""
    lm = random_lm(dim=64, num_heads=4, num_layers=2, card=32).to(torch.bfloat16)
    cond = Conditions(cross=torch.randn(2, 5, 64, dtype=torch.bfloat16))
    sequence = torch.randint(0, 32, (2, 4, 7))
    kv = lm.transformer.cross_kv(cond.cross)
    assert kv[0][0].dtype == torch.float32
    assert torch.equal(kv[0][0].bfloat16().float(), kv[0][0])  # bfloat16 values, widened
    with torch.no_grad():
        full = lm(sequence, cond).float()
        lm.transformer.setup_caches(2, 7, torch.bfloat16, torch.device("cpu"))
        assert lm.transformer.layers[0].self_attn.cache.k.dtype == torch.float32
        steps = [lm(sequence[..., :3], cond, start=0)] + [lm(sequence[..., t : t + 1], cond, start=t) for t in (3, 4)]
        lm.transformer.clear_caches()
    assert all(step.dtype == torch.bfloat16 for step in steps)
    torch.testing.assert_close(torch.cat(steps, dim=2).float(), full[:, :, :5], atol=0.05, rtol=0.05)


def test_prepared_linears_lists_each_form_once():
    """Per layer: self-attention in / out, cross-attention q / k / v / out, feed-forward 1 / 2; and one per head."""
    lm = random_lm(dim=32, num_heads=2, num_layers=2, card=16)
    assert lm.prepared_linears() == []
    apply_precision(lm, "fp32")
    forms = lm.prepared_linears()
    assert len(forms) == 2 * 8 + 4 and len({id(f) for f in forms}) == len(forms)


def test_delay_pattern_round_trip_and_worked_example():
    pattern = DelayPattern((0, 1, 2, 3))
    codes = torch.arange(12).view(1, 4, 3)
    sequence, mask = pattern.build(codes, special=99)
    assert sequence.shape == (1, 4, 7)
    assert sequence[0, 0].tolist() == [99, 0, 1, 2, 99, 99, 99]
    assert sequence[0, 3].tolist() == [99, 99, 99, 99, 9, 10, 11]
    assert torch.equal(pattern.revert(sequence, 3), codes)
    assert mask.sum().item() == 12

"""int4 precision: the 4-bit format, its kernel, its cache, and the fallback to int8 where the kernel is missing."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
import torch

from benchmarks.common import random_lm
from core.models.int8_cache import CACHE_ENV, SCHEMES, cache_dir, content_hash, quantized_weights
from core.models.precision import resolve
from core.nn import int4, kernels
from core.nn.fast_linear import Int4Linear, Int8Linear
from core.nn.lm import Conditions
from core.nn.quantize import apply_precision, quantize_lm_int4
from tests.conftest import ROOT

needs_kernel = pytest.mark.skipif(not kernels.available(kernels.INT4_MM), reason="no 4-bit kernel on this CPU")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    return cache_dir()


def test_worked_example_and_rounding_bound():
    q4, scale_zeros = int4.quantize_int4(torch.tensor([[0.0, 0.5, 1.875] + [0.0] * 61]), 64)
    assert int4.unpack_int4(q4)[0, :3].tolist() == [0, 4, 15]
    assert scale_zeros[0, 0].tolist() == [0.125, 1.0]
    weight = torch.randn(32, 128)
    q4, scale_zeros = int4.quantize_int4(weight, 32)
    step = scale_zeros[..., 0].T.repeat_interleave(32, dim=1)  # [N, K]
    assert ((int4.dequantize_int4(q4, scale_zeros) - weight).abs() <= step * 0.51 + 1e-6).all()


@needs_kernel
def test_the_kernel_multiplies_by_the_stored_weight_and_rows_are_independent():
    weight = torch.randn(48, 128) * 0.05
    form = Int4Linear(*int4.quantize_int4(weight, 64))
    x = torch.randn(5, 128)
    out = form.run(x, None)
    held = form.weight  # the kernel's own weight (identity input)
    torch.testing.assert_close(out, x.bfloat16().float() @ held.T, atol=0.02, rtol=0.02)
    assert torch.equal(form.run(x[1:3], None), out[1:3])


@needs_kernel
def test_int4_lm_is_close_to_fp32_and_heads_stay_int8():
    lm, reference = (
        random_lm(dim=64, num_heads=2, num_layers=2, card=32),
        random_lm(dim=64, num_heads=2, num_layers=2, card=32),
    )
    apply_precision(lm, "int4", quantize_lm_int4(lm))
    apply_precision(reference, "fp32")
    assert isinstance(lm.packed_heads[0], Int8Linear)
    assert isinstance(lm.transformer.layers[0].packed[1], Int4Linear)
    tokens = torch.randint(0, 32, (2, 4, 6), generator=torch.Generator().manual_seed(0))
    cond = Conditions(cross=torch.randn(2, 3, 64, generator=torch.Generator().manual_seed(1)))
    with torch.inference_mode():
        exact, approx = (torch.log_softmax(m(tokens, cond).double(), -1) for m in (reference, lm))
    kl = float((exact.exp() * (exact - approx)).sum(-1).mean())
    assert 0 < kl < 0.01


def test_cache_round_trip_and_a_damaged_entry_quantized_again(cache, caplog):
    lm = random_lm(dim=64, num_heads=2, num_layers=1, card=32)
    checkpoint = cache.parent / "state_dict.bin"
    checkpoint.write_bytes(b"weights")
    made = dict(quantized_weights(lm, checkpoint, "int4"))
    entry = cache / f"{content_hash(checkpoint)}-{SCHEMES['int4'].format}.safetensors"
    stamp = entry.stat().st_mtime_ns
    read = quantized_weights(lm, checkpoint, "int4")
    assert entry.stat().st_mtime_ns == stamp  # read back, not made again
    assert all(torch.equal(read[name], made[name]) for name in made)
    assert any(name.endswith(".q4") for name in made) and any(name.endswith(".q") for name in made)
    entry.write_bytes(entry.read_bytes()[:-64])  # cut short
    with caplog.at_level(logging.WARNING):
        again = quantized_weights(lm, checkpoint, "int4")
        assert all(torch.equal(again[name], made[name]) for name in made)
    assert "quantizing again" in caplog.text


def test_without_its_kernel_int4_resolves_to_int8_with_one_line(caplog):
    with kernels.forced(kernels.INT4_MM, False), caplog.at_level(logging.WARNING):
        record = resolve("int4")
    assert record.mode == "int8" and record.quantized
    assert sum("int4" in r.getMessage() for r in caplog.records) == 1


_AVX2_SCRIPT = """
import torch
from benchmarks.common import random_lm
from core.nn import kernels
from core.nn.lm import Conditions
from core.nn.quantize import apply_precision, quantize_lm_int4
lm, fp32 = (random_lm(dim=64, num_heads=4, num_layers=1, card=32) for _ in range(2))
apply_precision(lm, "int4", quantize_lm_int4(lm))
apply_precision(fp32, "fp32")
text = torch.randn(2, 3, 64)
logits = []
for model in (lm, fp32):  # one decoding step with a cache: the scripted step where one was built
    model.transformer.setup_caches(2, 1, torch.float32, "cpu")
    with torch.inference_mode():
        kv = model.transformer.cross_kv(text)
        logits.append(model(torch.zeros(2, 4, 1, dtype=torch.long), Conditions(cross=text), start=0, cross_kv=kv))
close = (logits[0] - logits[1]).abs().max().item() < 0.05 * logits[1].abs().max().item()
print(torch.backends.cpu.get_cpu_capability(), kernels.available(kernels.INT4_MM), lm.decode_step is not None, close)
"""


def test_an_avx2_only_cpu_runs_int4_or_falls_back():
    """On an AVX2-only CPU the 4-bit kernel is probed like the others: where it passes, an int4 LM decodes through
    its scripted step close to fp32; where it fails, int4 resolves to int8 (test above)."""
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", ATEN_CPU_CAPABILITY="avx2", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", _AVX2_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    isa, available, scripted, close = result.stdout.split()
    assert isa == "AVX2"
    assert available == "False" or (scripted, close) == ("True", "True")

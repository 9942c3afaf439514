"""The CPU kernels: probed once, correct where they run, and a plain fallback wherever a probe says no."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from core.nn import kernels
from core.nn.fast_linear import FloatLinear, Int8Linear, PackedBf16Linear, linear, prepare, rows_per_take
from core.nn.quantize import quantize_per_channel
from tests.conftest import ROOT


def _weights(n: int = 4096, k: int = 1024) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(n, k, generator=generator) * 0.02
    return weight, torch.randn(n, generator=generator), torch.randn(9, 1, k, generator=generator)


def test_probes_answer_on_any_cpu():
    """Every probe returns a yes or a no (never raises), and the capability line names them all."""
    for name in kernels.KERNELS:
        assert kernels.available(name) in (True, False)
    line = kernels.cpu_capability()
    assert torch.backends.cpu.get_cpu_capability() in line
    assert all(name in line for name in kernels.KERNELS)
    assert kernels.fastest_cpu_precision() in ("fp32", "bf16", "int8")


def test_float32_decode_linear_equals_f_linear():
    weight, bias, x = _weights()
    for rows in (1, 2, 4, 9):
        torch.testing.assert_close(
            linear(x[:rows], weight, bias), F.linear(x[:rows], weight, bias), atol=2e-5, rtol=1e-5
        )


def test_bf16_without_onednn_packing_falls_back_to_f_linear():
    """What an AVX2-only CPU gets: the probe says no, so bf16 runs plain F.linear (no crash)."""
    weight, bias, x = _weights(512, 256)
    wb, bb, xb = weight.bfloat16(), bias.bfloat16(), x[..., :256].bfloat16()
    with kernels.forced(kernels.ONEDNN_BF16, False):
        prepared = prepare(wb, "bf16")
        assert isinstance(prepared, FloatLinear)
        assert not kernels.available(kernels.ONEDNN_BF16)
        assert "onednn_bf16 no" in kernels.cpu_capability()
        assert torch.equal(linear(xb, wb, bb, prepared), F.linear(xb, wb, bb))


def test_bf16_packed_kernel_where_the_cpu_has_it():
    if not kernels.available(kernels.ONEDNN_BF16):
        pytest.skip("this CPU lacks oneDNN's bf16 instructions (AVX-512 bw/vl/dq or AVX-NE-CONVERT)")
    weight, bias, x = _weights()
    wb, bb, xb = weight.bfloat16(), bias.bfloat16(), x.bfloat16()
    prepared = prepare(wb, "bf16")
    assert isinstance(prepared, PackedBf16Linear)
    for rows in (1, 2, 4, 9):
        out = linear(xb[:rows], wb, bb, prepared)
        torch.testing.assert_close(out, F.linear(xb[:rows], wb, bb), atol=0.05, rtol=0.02)


def test_int8_without_the_kernel_dequantizes():
    weight, bias, x = _weights(256, 128)
    x = x[..., :128]
    q, scale = quantize_per_channel(weight)
    with kernels.forced(kernels.INT8_MM, False):
        prepared = Int8Linear(q, scale)
        assert not prepared.row_independent
        out = linear(x, weight, bias, prepared)
    torch.testing.assert_close(out, F.linear(x, q.float() * scale[:, None], bias))


def test_int8_kernel_where_the_cpu_has_it():
    if not kernels.available(kernels.INT8_MM):
        pytest.skip("aten._weight_int8pack_mm does not run correctly on this CPU")
    weight, bias, x = _weights()
    q, scale = quantize_per_channel(weight)
    prepared = Int8Linear(q, scale)
    assert prepared.row_independent
    exact = F.linear(x, q.float() * scale[:, None], bias)
    out = linear(x, weight, bias, prepared)
    torch.testing.assert_close(out, exact, atol=0.05, rtol=0.02)
    assert torch.equal(linear(x[:2], weight, bias, prepared), out[:2])  # rows independent of the others


def test_rows_per_take_runs_row_dependent_kernels_per_take():
    """Batched variations: a float linear called on 3 takes gives each take the bits it gets alone."""
    weight, bias, x = _weights(512, 256)
    x = torch.randn(6, 3, 256)  # 3 takes x (conditional, null) rows, 3 positions
    with rows_per_take(2):
        together = linear(x, weight, bias, FloatLinear(weight))
    alone = torch.cat([linear(x[i : i + 2], weight, bias, FloatLinear(weight)) for i in (0, 2, 4)])
    assert torch.equal(together, alone)


def test_forced_restores_the_probe():
    before = kernels.available(kernels.INT8_MM)
    with kernels.forced(kernels.INT8_MM, not before):
        assert kernels.available(kernels.INT8_MM) is (not before)
    assert kernels.available(kernels.INT8_MM) is before
    with pytest.raises(KeyError):
        with kernels.forced("no_such_kernel", True):
            pass


_AVX2_SCRIPT = """
import torch
from benchmarks.common import random_lm
from core.nn import kernels
from core.nn.quantize import apply_precision, quantize_lm
from core.nn.lm import Conditions
lm = random_lm(dim=64, num_heads=4, num_layers=1, card=32, hidden_scale=4)
tensors = quantize_lm(lm)
bf16 = random_lm(dim=64, num_heads=4, num_layers=1, card=32, hidden_scale=4).to(torch.bfloat16)
apply_precision(bf16, "bf16")
apply_precision(lm, "int8", tensors)
cond = Conditions(cross=torch.randn(2, 3, 64))
with torch.no_grad():
    lm(torch.zeros(2, 4, 1, dtype=torch.long), cond)
    bf16(torch.zeros(2, 4, 1, dtype=torch.long), Conditions(cross=cond.cross.bfloat16()))
print(torch.backends.cpu.get_cpu_capability(), kernels.available(kernels.ONEDNN_BF16))
"""


def test_an_avx2_only_cpu_runs_bf16_and_int8():
    """oneDNN limited to AVX2 (as on the issue's EPYC) raises on bf16 packing: the probe catches it."""
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", ATEN_CPU_CAPABILITY="avx2", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", _AVX2_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["AVX2", "False"]

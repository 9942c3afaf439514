"""The CPU kernels: probed once, correct where they run, and a plain fallback wherever a probe says no."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from core.nn import kernels
from core.nn.fast_linear import (
    FloatLinear,
    Int8Linear,
    PackedLinear,
    int8_values_kept,
    linear,
    prepare,
    rows_per_take,
)
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


def test_float_linear_reads_a_transposed_input_as_a_contiguous_one():
    """A transposed view (the previous linear's output) takes the same numbers as its contiguous copy."""
    weight, bias, x = _weights()
    transposed = x[:2, 0].T.contiguous().T  # [2, K] with strides (1, 2)
    assert not transposed.is_contiguous()
    prepared = FloatLinear(weight)
    assert torch.equal(prepared.run(transposed, bias), prepared.run(transposed.contiguous(), bias))


def test_float32_packed_kernel_where_the_cpu_has_it():
    """oneDNN float32: close to F.linear, rows independent of each other (so batched variations share each weight
    read), the packed copy gives the weight back exactly, and its q / k / v parts equal the whole's columns."""
    if not kernels.available(kernels.ONEDNN_F32):
        pytest.skip("oneDNN's float32 linear does not run correctly on this CPU")
    weight, bias, x = _weights()
    prepared = prepare(weight, "fp32")
    assert isinstance(prepared, PackedLinear) and prepared.row_independent
    assert torch.equal(prepared.weight, weight)
    out = linear(x, weight, bias, prepared)
    torch.testing.assert_close(out, F.linear(x, weight, bias), atol=1e-4, rtol=1e-5)
    assert torch.equal(linear(x[:2], weight, bias, prepared), out[:2])
    assert torch.equal(linear(x[5:6], weight, bias, prepared), out[5:6])
    whole = prepared.run(x[:3, 0], None)
    assert torch.equal(prepared.part(1024, 2048).run(x[:3, 0], None), whole[:, 1024:2048])


def test_float32_gradients_flow_through_a_packed_weight():
    """Explanations differentiate through the LM: a packed linear gives F.linear's gradient."""
    weight, bias, x = _weights(64, 32)
    x = x[:2, 0, :32].clone().requires_grad_(True)
    prepared = prepare(weight, "fp32")
    linear(x, weight, bias, prepared).square().sum().backward()
    expected = x.detach().clone().requires_grad_(True)
    F.linear(expected, weight, bias).square().sum().backward()
    torch.testing.assert_close(x.grad, expected.grad)


def test_int8_gradients_run_the_kernel_forward_and_the_dequantized_weight_backward():
    """An explanation's forward gives the numbers the take was made with (the int8 kernel's); its backward is the
    plain linear's gradient with the dequantized weight, whose int8 values `int8_values_kept` holds meanwhile."""
    weight, bias, x = _weights(256, 128)
    q, scale = quantize_per_channel(weight)
    prepared = Int8Linear(q, scale)
    if prepared.kernel is None:
        pytest.skip("no int8 kernel runs on this CPU: gradients take the dequantized path")
    x = x[:3, 0, :128].clone().requires_grad_(True)
    with int8_values_kept([prepared]):
        assert prepared._q is not None and torch.equal(prepared._q, q)
        out = linear(x, weight, bias, prepared)
        out.square().sum().backward()
    assert torch.equal(out.detach(), linear(x.detach(), weight, bias, prepared))
    dequantized = q.float() * scale[:, None]
    torch.testing.assert_close(x.grad, (2 * out.detach()) @ dequantized)
    if prepared.kernel == kernels.FBGEMM_INT8:
        assert prepared._q is None  # the held values are let go after the block


def test_float32_without_onednn_falls_back_to_float_linear():
    weight, bias, x = _weights(512, 256)
    with kernels.forced(kernels.ONEDNN_F32, False):
        prepared = prepare(weight, "fp32")
        assert isinstance(prepared, FloatLinear) and not prepared.row_independent
        assert "onednn_f32 no" in kernels.cpu_capability()
    torch.testing.assert_close(linear(x[..., :256], weight, bias, prepared), F.linear(x[..., :256], weight, bias))


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
    assert isinstance(prepared, PackedLinear)
    for rows in (1, 2, 4, 9):
        out = linear(xb[:rows], wb, bb, prepared)
        torch.testing.assert_close(out, F.linear(xb[:rows], wb, bb), atol=0.05, rtol=0.02)


def test_int8_without_the_kernel_dequantizes():
    weight, bias, x = _weights(256, 128)
    x = x[..., :128]
    q, scale = quantize_per_channel(weight)
    with kernels.forced(kernels.INT8_MM, False), kernels.forced(kernels.FBGEMM_INT8, False):
        prepared = Int8Linear(q, scale)
        assert not prepared.row_independent and prepared.kernel is None
        out = linear(x, weight, bias, prepared)
    torch.testing.assert_close(out, F.linear(x, q.float() * scale[:, None], bias))


@pytest.mark.parametrize("kernel", [kernels.FBGEMM_INT8, kernels.INT8_MM])
def test_int8_kernel_where_the_cpu_has_it(kernel):
    """Each int8 kernel (the other one switched off) is close to the dequantized weight, and a row's result is the
    same bits alone, in a pair or beside 8 others: what batched variations rely on."""
    if not kernels.available(kernel):
        pytest.skip(f"{kernel} does not run correctly on this CPU")
    other = kernels.INT8_MM if kernel == kernels.FBGEMM_INT8 else kernels.FBGEMM_INT8
    weight, bias, x = _weights()
    q, scale = quantize_per_channel(weight)
    with kernels.forced(other, False):
        prepared = Int8Linear(q, scale)
    assert prepared.kernel == kernel and prepared.row_independent
    assert torch.equal(prepared.q, q)
    exact = F.linear(x, q.float() * scale[:, None], bias)
    out = linear(x, weight, bias, prepared)
    torch.testing.assert_close(out, exact, atol=0.05, rtol=0.02)
    assert torch.equal(linear(x[:2], weight, bias, prepared), out[:2])  # rows independent of the others
    assert torch.equal(linear(x[5:6], weight, bias, prepared), out[5:6])
    whole = prepared.run(x[:3, 0], None)
    assert torch.equal(prepared.part(1024, 2048).run(x[:3, 0], None), whole[:, 1024:2048])  # q / k / v parts


def test_fbgemm_rows_do_not_share_a_scale():
    """fbgemm quantizes its whole input with one range; a row with a huge value beside a small one must not
    coarsen the small one's quantization (each row is mapped onto [0, 1] by itself and quantized with that fixed range).
    """
    if not kernels.available(kernels.FBGEMM_INT8):
        pytest.skip("fbgemm's int8 GEMM does not run on this CPU")
    weight, _, _ = _weights(512, 256)
    q, scale = quantize_per_channel(weight)
    prepared = Int8Linear(q, scale)
    small = torch.randn(1, 256) * 1e-3
    together = prepared.run(torch.cat([small, torch.randn(1, 256) * 1e3]), None)
    exact = small @ (q.float() * scale[:, None]).T
    assert torch.equal(together[:1], prepared.run(small, None))
    assert (together[:1] - exact).abs().max() <= 0.02 * exact.abs().max()


def test_fbgemm_constant_and_tiny_rows_stay_independent():
    """Rows whose span is zero or below float32's smallest normal number still give the bits they give alone."""
    if not kernels.available(kernels.FBGEMM_INT8):
        pytest.skip("fbgemm's int8 GEMM does not run on this CPU")
    weight, _, _ = _weights(512, 256)
    prepared = Int8Linear(*quantize_per_channel(weight))
    rows = torch.stack([torch.full((256,), 3.0), torch.randn(256) * 1e-39, torch.randn(256), torch.zeros(256)])
    together = prepared.run(rows, None)
    for i in range(len(rows)):
        assert torch.equal(prepared.run(rows[i : i + 1], None), together[i : i + 1])
    torch.testing.assert_close(together[0], rows[0] @ prepared.weight.T)  # a constant row is exact: low * rowsum


def test_fbgemm_gives_the_bits_of_its_anchored_form():
    """Takes made before the fixed range replaced an anchor row (which pinned fbgemm's dynamic range to [0, 1])
    replay bit for bit: both quantize each mapped row with the same parameters."""
    if not kernels.available(kernels.FBGEMM_INT8):
        pytest.skip("fbgemm's int8 GEMM does not run on this CPU")
    weight, _, x = _weights(512, 256)
    q, scale = quantize_per_channel(weight)
    packed, wsum = kernels.fbgemm_int8_pack(q, scale), (q.double().sum(1) * scale.double()).float()
    x = x.reshape(-1, 256)
    for narrow in (False, True):
        low, high = x.amin(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)
        anchor = torch.zeros(1, 256)
        anchor[0, 0] = 1.0
        mapped = torch.cat([(x - low) / (high - low), anchor])
        dynamic = torch.ops.quantized.linear_dynamic(mapped, packed, narrow)[:-1]  # the range read from the input
        anchored = torch.addcmul(low * wsum, dynamic, high - low)
        assert torch.equal(kernels.fbgemm_int8_linear(x, packed, wsum, narrow), anchored)


def test_fbgemm_activation_width_is_chosen_by_a_worst_case():
    """8-bit activations only where the worst case (every product 255 x 127) is computed without saturating."""
    if not kernels.available(kernels.FBGEMM_INT8):
        pytest.skip("fbgemm's int8 GEMM does not run on this CPU")
    q = torch.full((16, 64), 127, dtype=torch.int8)
    scale = torch.full((16,), 1 / 127)
    x = torch.ones(2, 64)
    x[:, 0] = -1.0
    wsum = (q.double().sum(1) * scale.double()).float()
    out = kernels.fbgemm_int8_linear(x, kernels.fbgemm_int8_pack(q, scale), wsum, kernels.fbgemm_narrow())
    torch.testing.assert_close(out, torch.full((2, 16), 62.0), rtol=0.02, atol=0.02)


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
fp32 = random_lm(dim=64, num_heads=4, num_layers=1, card=32, hidden_scale=4)
apply_precision(fp32, "fp32")
bf16 = random_lm(dim=64, num_heads=4, num_layers=1, card=32, hidden_scale=4).to(torch.bfloat16)
apply_precision(bf16, "bf16")
apply_precision(lm, "int8", tensors)
cond = Conditions(cross=torch.randn(2, 3, 64))
with torch.no_grad():
    lm(torch.zeros(2, 4, 1, dtype=torch.long), cond)
    bf16(torch.zeros(2, 4, 1, dtype=torch.long), Conditions(cross=cond.cross.bfloat16()))
    fp32(torch.zeros(2, 4, 1, dtype=torch.long), cond)
for model in (lm, fp32, bf16):  # a decoding step with a cache: the scripted step where one was built
    dtype = model.emb[0].weight.dtype
    model.transformer.setup_caches(2, 1, dtype, "cpu")
    with torch.inference_mode():
        text = Conditions(cross=cond.cross.to(dtype))
        model(torch.zeros(2, 4, 1, dtype=torch.long), text, start=0, cross_kv=model.transformer.cross_kv(text.cross))
    model.transformer.clear_caches()
steps = [model.decode_step is not None for model in (lm, fp32, bf16)]
print(torch.backends.cpu.get_cpu_capability(), kernels.available(kernels.ONEDNN_BF16), *steps)
"""


def test_an_avx2_only_cpu_runs_bf16_and_int8():
    """oneDNN limited to AVX2 (as on the issue's EPYC) raises on bf16 packing: the probe catches it (float32
    packing runs there). int8 and fp32 decode through their scripted steps; bf16's plain path has none."""
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", ATEN_CPU_CAPABILITY="avx2", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", _AVX2_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["AVX2", "False", "True", "True", "False"]  # bf16 runs the plain path there

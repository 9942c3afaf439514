"""int8 quantization of the LM: the per-channel rule, what is quantized, the logit error bound, the cache."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import numpy as np
import pytest
import torch

from benchmarks.common import random_lm
from core.engine import Engine
from core.models.int8_cache import CACHE_ENV, FORMAT, cache_dir, content_hash, int8_weights
from core.nn import kernels
from core.nn.fast_linear import Int8Linear, made_together, row_sums
from core.nn.lm import Conditions
from core.nn.quantize import apply_precision, linear_weight_names, quantize_lm, quantize_per_channel


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    return cache_dir()


def test_per_channel_worked_example():
    q, scale = quantize_per_channel(torch.tensor([[0.5, -1.27, 0.01], [0.0, 0.0, 0.0]]))
    assert q.dtype == torch.int8
    assert q.tolist() == [[50, -127, 1], [0, 0, 0]]
    torch.testing.assert_close(scale, torch.tensor([0.01, 1.0]))


def test_rounding_error_is_at_most_half_a_step():
    weight = torch.randn(64, 48)
    q, scale = quantize_per_channel(weight)
    assert q.abs().max() <= 127
    assert ((q.float() * scale[:, None] - weight).abs() <= scale[:, None] / 2 + 1e-7).all()


def test_every_large_linear_is_quantized():
    lm = random_lm(dim=32, num_heads=2, num_layers=2, card=16)
    names = set(linear_weight_names(lm))
    for i in range(2):
        layer = f"transformer.layers.{i}."
        for part in ("self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight", "linear2.weight"):
            assert layer + part in names
        assert layer + "cross_attention.in_proj_weight" in names
        assert layer + "cross_attention.out_proj.weight" in names
    assert {f"linears.{k}.weight" for k in range(4)} <= names
    assert not any("emb" in n or "norm" in n for n in names)


@contextmanager
def int8_kernel(kernel: str, monkeypatch):
    """Act out a CPU whose best int8 kernel is `kernel` (fbgemm with 7-bit activations: "fbgemm-narrow")."""
    if kernel.startswith("fbgemm"):
        if not kernels.available(kernels.FBGEMM_INT8):
            pytest.skip("fbgemm's int8 GEMM does not run on this CPU")
        monkeypatch.setattr(kernels, "_narrow", kernel == "fbgemm-narrow" or kernels.fbgemm_narrow())
        yield
        return
    if kernel == kernels.INT8_MM and not kernels.available(kernels.INT8_MM):
        pytest.skip("aten._weight_int8pack_mm does not run correctly on this CPU")
    with kernels.forced(kernels.FBGEMM_INT8, False), kernels.forced(kernels.INT8_MM, kernel == kernels.INT8_MM):
        yield


@pytest.mark.parametrize("kernel", ["fbgemm", "fbgemm-narrow", kernels.INT8_MM, "dequantized"])
@pytest.mark.parametrize("folder", ["musicgen", "audiogen"])
def test_int8_logit_error_is_bounded_on_the_fixtures(fixtures_dir, folder, cache, kernel, monkeypatch):
    """Teacher-forced on audiocraft's reference codes: int8 logits stay within 3 % of the logit range, through
    every int8 kernel a CPU may pick."""
    ref = np.load(fixtures_dir / folder / "reference_outputs.npz", allow_pickle=False)
    sequence = torch.from_numpy(ref["lm.pattern_sequence"]).long()
    cond = Conditions(cross=torch.from_numpy(ref["lm.cfg_cond.description"]))
    logits = {}
    with int8_kernel(kernel, monkeypatch):
        for precision in ("fp32", "int8"):
            lm = Engine(precision=precision).load(fixtures_dir / folder).bundle.lm
            with torch.inference_mode():
                logits[precision] = lm(torch.cat([sequence, sequence]), cond)
    exact = torch.from_numpy(ref["lm.forward_logits"])
    torch.testing.assert_close(logits["fp32"], exact, atol=1e-5, rtol=0)
    error = (logits["int8"] - exact).abs()
    assert error.max() <= 0.03 * exact.abs().max()
    assert error.mean() <= 0.005 * exact.abs().max()
    assert error.max() > 0  # it really is quantized


def test_second_load_reads_the_cache(fixtures_dir, cache):
    folder = fixtures_dir / "musicgen"
    first = Engine(precision="int8").load(folder)
    digest = content_hash(folder / "state_dict.bin")
    entry = cache / f"{digest}-{FORMAT}.safetensors"
    assert entry.is_file()
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    stamp = entry.stat().st_mtime_ns
    second = Engine(precision="int8").load(folder)
    assert entry.stat().st_mtime_ns == stamp  # read, not rewritten
    a = first.bundle.lm.transformer.layers[0].packed[1]
    b = second.bundle.lm.transformer.layers[0].packed[1]
    assert torch.equal(a.q, b.q) and torch.equal(a.scale, b.scale)
    assert first.bundle.lm.linears[0].weight.is_meta  # the float copy is released


def test_a_damaged_cache_entry_is_quantized_again(cache):
    lm = random_lm(dim=32, num_heads=2, num_layers=1, card=16)
    checkpoint = cache.parent / "state_dict.bin"
    checkpoint.write_bytes(b"weights")
    entry = cache / f"{content_hash(checkpoint)}-{FORMAT}.safetensors"
    entry.write_bytes(b"not safetensors")
    tensors = int8_weights(lm, checkpoint)
    assert set(tensors) == set(quantize_lm(lm))
    assert os.path.getsize(entry) > 100


def test_a_truncated_cache_entry_is_quantized_again(cache):
    """A cache entry cut short (a full disk, a crash of another program) has a valid header but not its data."""
    lm = random_lm(dim=32, num_heads=2, num_layers=1, card=16)
    checkpoint = cache.parent / "state_dict.bin"
    checkpoint.write_bytes(b"weights")
    int8_weights(lm, checkpoint)  # writes the entry
    entry = cache / f"{content_hash(checkpoint)}-{FORMAT}.safetensors"
    whole = entry.read_bytes()
    entry.write_bytes(whole[: len(whole) - 100])
    tensors = int8_weights(lm, checkpoint)
    expected = quantize_lm(lm)
    assert all(torch.equal(tensors[name], expected[name]) for name in expected)
    assert entry.read_bytes() == whole  # written again, whole


def test_packed_float32_weights_are_held_once():
    """fp32 packs each linear for oneDNN and releases the float copy: the model's numbers stay float32's, and a
    released linear called directly raises instead of reading a meta tensor's uninitialised memory."""
    if not kernels.available(kernels.ONEDNN_F32):
        pytest.skip("oneDNN's float32 linear does not run correctly on this CPU")
    lm, plain = (random_lm(dim=32, num_heads=2, num_layers=2, card=16) for _ in range(2))
    plain.load_state_dict(lm.state_dict())
    with kernels.forced(kernels.ONEDNN_F32, False):
        apply_precision(plain, "fp32")
    apply_precision(lm, "fp32")
    assert not plain.linears[0].weight.is_meta
    assert all(dict(lm.named_parameters())[name].is_meta for name in linear_weight_names(lm))
    sequence, cond = torch.randint(0, 16, (2, 4, 3)), Conditions(cross=torch.randn(2, 5, 32))
    with torch.no_grad():
        torch.testing.assert_close(lm(sequence, cond), plain(sequence, cond), atol=1e-5, rtol=1e-5)
    with pytest.raises(RuntimeError, match="released"):
        lm.linears[0](torch.randn(1, 32))


def test_row_sums_are_the_exact_integer_sums():
    """fbgemm's path undoes its input map with q's row sums: float32 sums must equal the int64 ones, extremes too."""
    q = torch.randint(-127, 128, (64, 8192), dtype=torch.int8, generator=torch.Generator().manual_seed(0))
    q[0], q[1] = 127, -127
    assert torch.equal(row_sums(q).double(), q.sum(dim=1, dtype=torch.int64).double())
    assert set(quantize_lm(random_lm(dim=32, num_heads=2, num_layers=1, card=16))) >= {"linears.0.weight.sums"}


def test_packing_side_by_side_gives_the_forms_packing_one_at_a_time_gives():
    """A load packs its weights on several threads (fast_linear.made_together): every form, and so every logit,
    is the one a serial load makes."""
    lm = random_lm(dim=64, num_heads=2, num_layers=3, card=32, hidden_scale=2)
    tensors = quantize_lm(lm)
    threads = set()

    def make(name, weight):
        threads.add(threading.current_thread().name)
        return Int8Linear(tensors[f"{name}.q"], tensors[f"{name}.scale"])

    weights = lm.transformer.linear_weights("transformer.")
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        alone = made_together(make, weights)
        torch.set_num_threads(2)
        together = made_together(make, weights)
    finally:
        torch.set_num_threads(previous)
    assert len(threads) > 1  # the second load did use a pool
    generator = torch.Generator().manual_seed(0)
    for key in weights:
        x = torch.randn(3, alone[key].in_features, generator=generator)
        torch.testing.assert_close(together[key].kernel_run(x, None), alone[key].kernel_run(x, None), rtol=0, atol=0)

"""The scripted decoding step: the eager path's logits bit for bit, used in generation, refused where it can't serve."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest
import torch
from torch import nn

from benchmarks.common import random_init
from core.engine import Engine, GenerationRequest
from core.nn import decode_step, kernels
from core.nn.decode_step import build_decode_step
from core.nn.lm import Conditions, LMConfig, LMModel
from core.nn.quantize import apply_precision, quantize_lm
from core.nn.transformer import TransformerConfig
from core.params import GenerationParams

DIM, CARD = 64, 32


def _lm(cross: bool = True, extras: bool = True) -> LMModel:
    """A small random LM; `extras`: biases everywhere and a layer scale (random), the branches MusicGen lacks."""
    tcfg = TransformerConfig(
        dim=DIM,
        num_heads=4,
        num_layers=2,
        cross_attention=cross,
        bias_ff=extras,
        bias_attn=extras,
        layer_scale=0.1 if extras else None,
    )
    lm = random_init(LMModel, LMConfig(n_q=4, card=CARD, transformer=tcfg, bias_proj=extras), seed=3).eval()
    with torch.no_grad():
        for name, param in lm.named_parameters():
            if param.dim() == 1:  # norms, biases and layer scales: not their trivial initial values
                param.copy_(torch.randn_like(param) * 0.1 + (1.0 if "scale" in name or "norm" in name else 0.0))
    return lm


_MODES = {  # mode -> (precision, the kernel it needs, kernels forced off)
    "fp32": ("fp32", kernels.ONEDNN_F32, ()),
    "bf16": ("bf16", kernels.ONEDNN_BF16, ()),
    "int8-fbgemm": ("int8", kernels.FBGEMM_INT8, ()),
    "int8-int8mm": ("int8", kernels.INT8_MM, (kernels.FBGEMM_INT8,)),
}


def _prepared(mode: str, cross: bool = True, extras: bool = True) -> LMModel:
    precision, needs, off = _MODES[mode]
    if not kernels.available(needs):
        pytest.skip(f"{needs} does not run correctly on this CPU (its fallback has no scripted step)")
    lm = _lm(cross, extras)
    tensors = quantize_lm(lm) if precision == "int8" else None
    lm = lm.to(torch.bfloat16) if precision == "bf16" else lm
    with kernels.forced(off[0], False) if off else nullcontext():
        apply_precision(lm, precision, tensors)
    return lm


def _decode(lm: LMModel, tokens: torch.Tensor, text: torch.Tensor | None) -> list[torch.Tensor]:
    """Logits of one position at a time over tokens [B, K, T], from a fresh cache."""
    dtype = lm.emb[0].weight.dtype
    lm.transformer.setup_caches(tokens.shape[0], tokens.shape[-1], dtype, "cpu")
    cond = Conditions(cross=None if text is None else text.to(dtype))
    try:
        with torch.inference_mode():
            cross_kv = None if text is None else lm.transformer.cross_kv(cond.cross)
            return [lm(tokens[..., t : t + 1], cond, start=t, cross_kv=cross_kv) for t in range(tokens.shape[-1])]
    finally:
        lm.transformer.clear_caches()


@pytest.mark.parametrize("mode", list(_MODES))
@pytest.mark.parametrize("cross, extras", [(True, True), (False, False)], ids=["cross-biases-scales", "plain"])
def test_scripted_step_gives_the_eager_logits_exactly(mode, cross, extras):
    lm = _prepared(mode, cross, extras)
    assert lm.decode_step is not None
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, CARD, (6, 4, 5), generator=generator)  # 3 takes' CFG pairs, 5 positions
    text = torch.randn(6, 7, DIM, generator=generator) if cross else None
    scripted = _decode(lm, tokens, text)
    step, lm.decode_step = lm.decode_step, None
    eager = _decode(lm, tokens, text)
    lm.decode_step = step
    assert all(torch.equal(a, b) for a, b in zip(scripted, eager, strict=True))
    assert scripted[0].shape == (6, 4, 1, CARD)


def test_the_step_serves_only_the_decoding_loops_calls():
    lm = _prepared("int8-fbgemm")
    step, cond = lm.decode_step, Conditions(cross=torch.randn(2, 3, DIM))
    one = torch.zeros(2, 4, 1, dtype=torch.long)
    lm.transformer.setup_caches(2, 4, torch.float32, "cpu")
    kv = lm.transformer.cross_kv(cond.cross)
    with torch.inference_mode():
        assert step.serves(lm, one, cond, {"start": 1, "cross_kv": kv})
        assert not step.serves(lm, torch.zeros(2, 4, 2, dtype=torch.long), cond, {"start": 1, "cross_kv": kv})
        assert not step.serves(lm, one, cond, {"start": 1, "cross_kv": kv, "cross_weight_mask": torch.ones(2, 3)})
        assert not step.serves(lm, one, cond, {"start": 1})  # the text's keys and values are not at hand
    with torch.enable_grad():  # explanations differentiate through the eager modules
        assert not step.serves(lm, one, cond, {"start": 1, "cross_kv": kv})
    lm.transformer.clear_caches()
    with torch.inference_mode():
        assert not step.serves(lm, one, cond, {"start": 1, "cross_kv": kv})  # no cache: MAGNeT's passes


def test_a_kernel_without_a_scripted_form_leaves_the_eager_path():
    """Where oneDNN's float32 linear is refused, fp32 runs the plain `FloatLinear`: no scripted step, same takes."""
    lm = _lm()
    with kernels.forced(kernels.ONEDNN_F32, False):
        apply_precision(lm, "fp32")
    assert lm.decode_step is None
    tokens = torch.randint(0, CARD, (2, 4, 3), generator=torch.Generator().manual_seed(1))
    assert len(_decode(lm, tokens, torch.randn(2, 3, DIM))) == 3


def test_a_step_that_disagrees_with_the_model_is_refused():
    """The check compares with the eager modules: a norm changed after scripting (the script keeps the old one)."""
    lm = _prepared("int8-fbgemm")
    assert decode_step._agrees(lm, lm.decode_step)
    norm = lm.transformer.layers[1].norm2
    norm.weight = nn.Parameter(norm.weight.detach() * 1.5)
    assert not decode_step._agrees(lm, lm.decode_step)


def test_no_torchscript_means_the_eager_path(monkeypatch):
    """A torch whose TorchScript fails (or is gone) gives no step, and nothing raises."""
    lm = _prepared("fp32")

    def fails(module):
        raise RuntimeError("TorchScript is not available")

    monkeypatch.setattr(torch.jit, "script", fails)
    assert build_decode_step(lm) is None


class _Counting:
    """Calls a function (the scripted module, the eager forward) and counts the calls."""

    def __init__(self, script) -> None:
        self.script, self.calls = script, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.script(*args, **kwargs)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("name", ["musicgen", "audiogen"])
def test_takes_are_the_same_with_and_without_the_scripted_step(fixtures_dir, monkeypatch, precision, name):
    """The engine decodes through the step (every LM call: the first column is one position too), and a take is the
    eager path's."""
    model = Engine(precision=precision).load(fixtures_dir / name)
    lm = model.bundle.lm
    if lm.decode_step is None:
        pytest.skip(f"no scripted step for {precision} on this CPU (its kernel is refused here)")
    step, counting, eager_calls = lm.decode_step, _Counting(lm.decode_step.script), _Counting(lm.hidden)
    step.script = counting
    monkeypatch.setattr(lm, "hidden", eager_calls)
    request = GenerationRequest("dog barking", GenerationParams(duration=0.5, top_k=10), seed=5)
    scripted = model.generate(request)
    assert eager_calls.calls == 0 and counting.calls > 20
    lm.decode_step = None
    eager = model.generate(request)
    assert eager_calls.calls == counting.calls
    np.testing.assert_array_equal(scripted.codes, eager.codes)


def test_a_short_one_shot_run_skips_the_graph_optimization_and_gives_it_back():
    from core.nn.decode_step import QUICK_START_SECONDS, quick_start

    assert torch._C._get_graph_executor_optimize()
    with quick_start(0.1) as quick:
        assert quick and not torch._C._get_graph_executor_optimize()
    assert torch._C._get_graph_executor_optimize()
    with quick_start(QUICK_START_SECONDS + 1) as quick:  # a long run earns the optimization back
        assert not quick and torch._C._get_graph_executor_optimize()


def test_an_unoptimized_step_gives_the_optimized_steps_codes(fixtures_dir):
    """`main.py generate` runs short takes unoptimized (quick_start): the same take as the window's optimized step."""
    from core.nn.decode_step import quick_start

    model = Engine(precision="int8").load(fixtures_dir / "musicgen")
    assert model.bundle.lm.decode_step is not None
    request = GenerationRequest("dog barking", model.default_params.replace(duration=1.0), 3)
    optimized = model.generate(request)
    with quick_start(1.0):
        quick = model.generate(request)
    np.testing.assert_array_equal(quick.codes, optimized.codes)

"""The LM's one-position decoding step compiled with TorchScript: the same ops as the eager modules, no Python between.

A decoding step at musicgen-small size runs about 1,800 small torch ops (148 linears with their int8 row maps,
72 norms, 48 attentions, residuals, cache writes) around the weight reads. In eager PyTorch each one costs its
Python call, module and wrapper code; TorchScript's interpreter runs the same graph of ops without them.
Measured on 148 int8 linears of 1024x1024 with their row maps and a norm (2 rows, 2 threads, AVX-512 EPYC):
eager 9.1-12.8 ms, scripted 6.5-7.5 ms.

The scripted step is built from the LM's prepared kernels (`core.nn.fast_linear`) where every one of them is of
a kind it knows and computes rows independently: fbgemm int8, `_weight_int8pack_mm` int8,
`_weight_int4pack_mm_for_cpu` 4-bit, oneDNN packed float32 or bfloat16. It mirrors
the eager modules op for op, so its logits are the eager path's, bit for bit; that is
checked on the model itself when the step is built (`build_decode_step`), and a step that fails to compile, to
run, or to agree is not used: the eager path serves, as on a torch without TorchScript.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from core.nn import kernels
from core.nn.fast_linear import Int4Linear, Int8Linear, PackedLinear, PreparedLinear, int8_output
from core.nn.kv_cache import write_cache
from core.nn.lm import Conditions, LMModel
from core.nn.transformer import LayerScale, TransformerLayer, sin_embedding

log = logging.getLogger(__name__)

QUICK_START_SECONDS = 30.0
"""Up to this much audio in a one-shot process, the scripted step runs without TorchScript's graph optimization."""


@contextmanager
def quick_start(audio_seconds: float) -> Iterator[bool]:
    """Inside, for a process that decodes at most QUICK_START_SECONDS of audio and ends (`main.py generate`):
    the scripted step runs unoptimized. Optimizing its graph costs the first take 0.6 s and saves about 2 % of
    every step after (musicgen-small size, benchmarks/README.md), a gain only beyond about 30 s of audio. The
    ops, and so the numbers, are the same either way. Yields whether it turned the optimization off."""
    before = torch._C._get_graph_executor_optimize()
    quick = before and audio_seconds <= QUICK_START_SECONDS
    if quick:
        torch._C._set_graph_executor_optimize(False)
    try:
        yield quick
    finally:
        torch._C._set_graph_executor_optimize(before)


class _Kernel(nn.Module):
    """One prepared linear: x [B, T, K] -> [B, T, N], flattened to rows as `fast_linear._apply` does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.run(x.reshape(-1, x.shape[-1]))
        return out.reshape(x.shape[0], x.shape[1], out.shape[-1])


class _Fbgemm(_Kernel):
    """`Int8Linear.kernel_run` through fbgemm (`kernels.fbgemm_int8_linear`, compiled with the step)."""

    def __init__(self, form: Int8Linear, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.packed, self.wsum, self.narrow = form.packed, form.wsum, form.narrow
        self.bias = bias

    def run(self, x: torch.Tensor) -> torch.Tensor:
        return int8_output(kernels.fbgemm_int8_linear(x, self.packed, self.wsum, self.narrow), x, self.bias)


class _Int8MM(_Kernel):
    """`Int8Linear.kernel_run` through `_weight_int8pack_mm` (`kernels.int8_mm`, compiled with the step)."""

    def __init__(self, form: Int8Linear, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.q, self.ones, self.scale = form.q, form.ones, form.scale
        self.bias = bias

    def run(self, x: torch.Tensor) -> torch.Tensor:
        return int8_output(kernels.int8_mm(x, self.q, self.ones, self.scale), x, self.bias)


class _Int4MM(_Kernel):
    """`Int4Linear.kernel_run` through `_weight_int4pack_mm_for_cpu` (`kernels.int4_mm`, compiled with the step)."""

    def __init__(self, form: Int4Linear, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.packed, self.group, self.scale_zeros = form.packed, form.group, form.scale_zeros
        self.bias = bias

    def run(self, x: torch.Tensor) -> torch.Tensor:
        return int8_output(kernels.int4_mm(x, self.packed, self.group, self.scale_zeros), x, self.bias)


class _OneDNN(_Kernel):
    """`PackedLinear.kernel_run`: oneDNN's linear on the packed float32 or bfloat16 weight, bias in the kernel."""

    def __init__(self, form: PackedLinear, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.packed = form.packed
        self.bias = bias

    def run(self, x: torch.Tensor) -> torch.Tensor:
        return kernels.onednn_linear(x, self.packed, self.bias)


def _kernel(form: PreparedLinear | None, bias: torch.Tensor | None) -> nn.Module:
    """The scripted form of one prepared linear; `_Unknown` for a kind the step does not know."""
    bias = None if bias is None else bias.detach()
    if isinstance(form, Int8Linear) and form.kernel == kernels.FBGEMM_INT8:
        return _Fbgemm(form, bias)
    if isinstance(form, Int8Linear) and form.kernel == kernels.INT8_MM:
        return _Int8MM(form, bias)
    if isinstance(form, Int4Linear):
        return _Int4MM(form, bias)
    if isinstance(form, PackedLinear) and form.dtype in (torch.float32, torch.bfloat16):
        return _OneDNN(form, bias)
    raise _Unknown(type(form).__name__ if not isinstance(form, Int8Linear) else f"int8 via {form.kernel}")


class _Unknown(Exception):
    """A prepared linear the scripted step has no form for (the eager path serves that model)."""


def _norm(norm: nn.LayerNorm | None) -> tuple[torch.Tensor, torch.Tensor, float] | None:
    return None if norm is None else (norm.weight.detach(), norm.bias.detach(), float(norm.eps))


def _scale(module: nn.Module) -> torch.Tensor | None:
    return module.scale.detach() if isinstance(module, LayerScale) else None


class _Layer(nn.Module):
    """`TransformerLayer.forward` at one position with a KV cache, no masks: self-attention, cross, feed-forward."""

    def __init__(self, layer: TransformerLayer) -> None:
        super().__init__()
        attn, cross = layer.self_attn, layer.cross_attention
        self.heads = attn.heads
        self.norm1, self.norm2 = _norm(layer.norm1), _norm(layer.norm2)
        self.in_proj = _kernel(attn.packed.get("in"), attn.in_proj_bias)
        self.out_proj = _kernel(attn.packed.get("out"), attn.out_proj.bias)
        self.linear1 = _kernel(layer.packed.get(1), layer.linear1.bias)
        self.linear2 = _kernel(layer.packed.get(2), layer.linear2.bias)
        self.scale1, self.scale2 = _scale(layer.layer_scale_1), _scale(layer.layer_scale_2)
        self.norm_cross = _norm(layer.norm_cross)
        self.cross_q = self.cross_out = self.scale_cross = None
        if cross is not None:
            q_bias = None if cross.in_proj_bias is None else cross.in_proj_bias[: cross.dim]
            self.cross_q = _kernel(cross.packed.get(0), q_bias)
            self.cross_out = _kernel(cross.packed.get("out"), cross.out_proj.bias)
            self.scale_cross = _scale(layer.layer_scale_cross)

    def forward(
        self, x: torch.Tensor, start: int, k_cache: torch.Tensor, v_cache: torch.Tensor, cross_kv: list[torch.Tensor]
    ) -> torch.Tensor:
        B, T, D = x.shape
        heads = self.heads
        norm1 = self.norm1
        assert norm1 is not None
        qkv = self.in_proj(F.layer_norm(x, [D], norm1[0], norm1[1], norm1[2]))  # [B, T, 3D]
        q, k, v = qkv.view(B, T, 3, heads, D // heads).permute(2, 0, 3, 1, 4).unbind(0)  # [B, H, T, Dh]
        k, v = write_cache(k_cache, v_cache, start, k, v)
        q = q if q.dtype == k.dtype else q.to(k.dtype)
        out = F.scaled_dot_product_attention(q, k, v).to(x.dtype)
        attended = self.out_proj(out.transpose(1, 2).reshape(B, T, D))
        scale1 = self.scale1
        x = x + (attended if scale1 is None else scale1 * attended)
        norm_cross = self.norm_cross
        if self.cross_q is not None and self.cross_out is not None and norm_cross is not None:
            ck, cv = cross_kv[0], cross_kv[1]
            q = self.cross_q(F.layer_norm(x, [D], norm_cross[0], norm_cross[1], norm_cross[2]))
            q = q.view(B, T, heads, D // heads).transpose(1, 2).to(ck.dtype)  # [B, H, T, Dh]
            out = F.scaled_dot_product_attention(q, ck, cv)
            attended = self.cross_out(out.to(x.dtype).transpose(1, 2).reshape(B, T, D))
            scale_cross = self.scale_cross
            x = x + (attended if scale_cross is None else scale_cross * attended)
        norm2 = self.norm2
        assert norm2 is not None
        hidden = F.gelu(self.linear1(F.layer_norm(x, [D], norm2[0], norm2[1], norm2[2])))
        out = self.linear2(hidden)
        scale2 = self.scale2
        return x + (out if scale2 is None else scale2 * out)


class _Step(nn.Module):
    """`LMModel.forward` for one new position per row: tokens [B, K, 1] -> logits [B, K, 1, card]."""

    def __init__(self, lm: LMModel) -> None:
        super().__init__()
        cfg = lm.cfg.transformer
        self.embeddings = [emb.weight.detach() for emb in lm.emb]
        self.layers = nn.ModuleList(_Layer(layer) for layer in lm.transformer.layers)
        self.out_norm = _norm(lm.out_norm)
        self.heads = nn.ModuleList(
            _kernel(form, head.bias) for form, head in zip(lm.packed_heads, lm.linears, strict=True)
        )
        self.max_period, self.positional_scale = float(cfg.max_period), float(cfg.positional_scale)

    def forward(
        self, tokens: torch.Tensor, start: int, caches: list[torch.Tensor], cross_kv: list[torch.Tensor]
    ) -> torch.Tensor:
        x = F.embedding(tokens[:, 0], self.embeddings[0])
        for k in range(1, len(self.embeddings)):
            x = x + F.embedding(tokens[:, k], self.embeddings[k])  # [B, T, D]
        B, T, C = x.shape
        positions = torch.arange(start, start + T, device=x.device)
        x = x + self.positional_scale * sin_embedding(positions, C, self.max_period, x.dtype)
        for i, layer in enumerate(self.layers):
            x = layer(x, start, caches[2 * i], caches[2 * i + 1], cross_kv[2 * i : 2 * i + 2])
        out_norm = self.out_norm
        if out_norm is not None:
            x = F.layer_norm(x, [C], out_norm[0], out_norm[1], out_norm[2])
        logits: list[torch.Tensor] = []
        for head in self.heads:
            logits.append(head(x))
        return torch.stack(logits, dim=1)  # [B, K, T, card]


class DecodeStep:
    """The scripted step of one LM and when it may serve a call of `LMModel.forward` in its place."""

    def __init__(self, script: torch.jit.ScriptModule) -> None:
        self.script = script

    def serves(self, lm: LMModel, sequence: torch.Tensor, cond: Conditions, options: dict) -> bool:
        """One new position per row, every cache set, no masks, no gradients: the decoding loop's calls."""
        start = options.get("start", 0)
        return (
            sequence.shape[-1] == 1
            and (start > 0 or cond.prefix is None)
            and options.get("attn_mask") is None
            and options.get("cross_weight_mask") is None
            and not torch.is_grad_enabled()
            and (options.get("cross_kv") is not None or not lm.cfg.transformer.cross_attention)
            and all(layer.self_attn.cache is not None for layer in lm.transformer.layers)
        )

    def __call__(self, lm: LMModel, sequence: torch.Tensor, options: dict) -> torch.Tensor:
        caches = [t for layer in lm.transformer.layers for t in (layer.self_attn.cache.k, layer.self_attn.cache.v)]
        cross_kv = [t for kv in options.get("cross_kv") or () for t in kv]
        return self.script(sequence, options.get("start", 0), caches, cross_kv)


def build_decode_step(lm: LMModel, verdict: bool | None = None) -> DecodeStep | None:
    """The LM's scripted decoding step, checked against the eager path on the model itself; None where it cannot
    serve (a kernel it has no form for, no TorchScript, a failure to compile or run, or any difference).

    `verdict` is the outcome of that check for these weights in this precision on this torch, CPU and thread count,
    when an earlier load made it (core.models.load_facts): True builds the step without checking it again, False
    does not build it."""
    if verdict is False:
        log.info("no scripted decoding step: it failed its check for this model on this machine")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript's own deprecation notices: the check below decides
            step = DecodeStep(torch.jit.script(_Step(lm).eval()))
        same = verdict or _agrees(lm, step)
    except _Unknown as exc:
        log.info("no scripted decoding step: no scripted form for %s", exc)
        return None
    except Exception as exc:  # TorchScript missing or failing on this torch / CPU: the eager path serves
        log.info("no scripted decoding step: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None
    if not same:
        log.info("no scripted decoding step: its logits differ from the eager path's")
    return step if same else None


def _agrees(lm: LMModel, step: DecodeStep, positions: int = 3) -> bool:
    """Whether decoding steps (2 rows) give the eager path's logits exactly. TorchScript's executor profiles the
    first call and runs an optimized graph from the second: the check covers both."""
    cfg, generator = lm.cfg, torch.Generator().manual_seed(0)
    device, dtype = lm.emb[0].weight.device, lm.emb[0].weight.dtype
    tokens = torch.randint(0, cfg.card, (2, cfg.n_q, positions), generator=generator).to(device)
    text = torch.randn(2, 3, cfg.transformer.dim, generator=generator).to(device, dtype)
    cond = Conditions(cross=text if cfg.transformer.cross_attention else None)
    runs, kept = [], lm.decode_step
    with torch.inference_mode():
        for use in (None, step):
            lm.decode_step = use
            lm.transformer.setup_caches(2, positions, dtype, device)
            try:
                cross_kv = lm.transformer.cross_kv(text) if cond.cross is not None else None
                runs.append([lm(tokens[..., i : i + 1], cond, start=i, cross_kv=cross_kv) for i in range(positions)])
            finally:
                lm.transformer.clear_caches()
                lm.decode_step = kept
    return all(torch.equal(a, b) for a, b in zip(*runs, strict=True))

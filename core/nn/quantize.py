"""Weight-only quantization of the LM (int8, int4) and putting a model into a precision (fp32, bf16, int8, int4).

Every large linear of the LM is quantized: the self- and cross-attention projections (`in_proj_weight`,
`out_proj.weight`), the feed-forward (`linear1`, `linear2`) and the per-codebook output heads (`linears.k`).
Symmetric per output channel: scale[n] = max_k |W[n, k]| / 127, q = round(W / scale) in [-127, 127].
Embeddings, norms and biases stay float32. Worked example, one row W[n] = [0.5, -1.27, 0.01]:
scale = 0.01, q = [50, -127, 1], dequantized back exactly. int4 mode quantizes the same weights group-wise to
4 bits (`core.nn.int4`), except the output heads, which stay int8.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn

from core.nn import int4
from core.nn.decode_step import build_decode_step
from core.nn.fast_linear import Int4Linear, Int8Linear, PackedLinear, PreparedLinear, prepare, row_sums
from core.nn.lm import LMModel
from core.nn.pages import drop_file_pages

_LINEAR = re.compile(r"(in_proj_weight|out_proj\.weight|linear[12]\.weight|^linears\.\d+\.weight)$")


def quantize_per_channel(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """weight [N, K] -> (q [N, K] int8, scale [N] float32) with weight ~= q * scale[:, None]."""
    w = weight.detach().to(torch.float32)
    scale = w.abs().amax(dim=1) / 127  # [N]
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row stays zero
    q = torch.round(w / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    return q, scale


def is_quantized(name: str) -> bool:
    """Whether int8 mode quantizes the LM weight of this state-dict name."""
    return bool(_LINEAR.search(name))


def linear_weight_names(lm: LMModel) -> list[str]:
    """State-dict names of the weights int8 mode quantizes."""
    return [name for name, _ in lm.named_parameters() if is_quantized(name)]


def quantize_lm(lm: LMModel) -> dict[str, torch.Tensor]:
    """`{name}.q`, `{name}.scale` and `{name}.sums` (q's exact row sums, which fbgemm's path needs) for every
    quantized weight of the LM (from its float weights)."""
    params = dict(lm.named_parameters())
    out: dict[str, torch.Tensor] = {}
    for name in linear_weight_names(lm):
        out[f"{name}.q"], out[f"{name}.scale"] = quantize_per_channel(params[name])
        out[f"{name}.sums"] = row_sums(out[f"{name}.q"])
        drop_file_pages(params[name])  # a file's tensor: read once; its pages come back from the file if read again
    return out


def is_head(name: str) -> bool:
    """Whether a quantized weight is an output head (`linears.k`): int4 mode keeps those in int8."""
    return name.startswith("linears.")


def _stays_int8(name: str, shape: torch.Size) -> bool:
    """Whether int4 mode keeps a quantized weight in int8: the output heads (2 % of the weights, and the logits the
    sampler reads) and any shape the 4-bit kernel does not take."""
    return is_head(name) or not int4.fits(*shape)


def quantize_lm_int4(lm: LMModel, group: int | None = None) -> dict[str, torch.Tensor]:
    """int4 mode's tensors: `{name}.q4` and `{name}.sz` (core.nn.int4; `group` inputs per scale, default the
    format's choice for the weight's width), or int8's `.q`, `.scale`, `.sums` where the weight stays int8."""
    params = dict(lm.named_parameters())
    out: dict[str, torch.Tensor] = {}
    for name in linear_weight_names(lm):
        weight = params[name]
        if _stays_int8(name, weight.shape):
            out[f"{name}.q"], out[f"{name}.scale"] = quantize_per_channel(weight)
            out[f"{name}.sums"] = row_sums(out[f"{name}.q"])
        else:
            out[f"{name}.q4"], out[f"{name}.sz"] = int4.quantize_int4(weight, group or int4.group_for(weight.shape[1]))
        drop_file_pages(weight)
    return out


def _expected_int4(lm: LMModel) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    shapes: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    for name, param in lm.named_parameters():
        if not is_quantized(name):
            continue
        n, k = param.shape
        if _stays_int8(name, param.shape):
            shapes.update({f"{name}.q": ((n, k), torch.int8), f"{name}.scale": ((n,), torch.float32)})
            shapes[f"{name}.sums"] = ((n,), torch.float32)
        else:
            group = int4.group_for(k)
            shapes.update({f"{name}.q4": ((n, k // 2), torch.uint8), f"{name}.sz": ((k // group, n, 2), torch.float32)})
    return shapes


def matches_int4(lm: LMModel, tensors: Mapping[str, torch.Tensor]) -> bool:
    """Whether stored int4 tensors fit this LM (names, shapes, dtypes), read from a file's header where possible."""
    expected = _expected_int4(lm)
    if set(tensors) != set(expected):
        return False
    describe = getattr(tensors, "describe", lambda name: (tuple(tensors[name].shape), tensors[name].dtype))
    return all(describe(name) == want for name, want in expected.items())


def matches(lm: LMModel, tensors: Mapping[str, torch.Tensor]) -> bool:
    """Whether stored int8 tensors fit this LM (same names and shapes): a stale or damaged cache does not.

    A mapping with `describe(name) -> (shape, dtype)` is checked from that (a file's header), others by reading."""
    params = dict(lm.named_parameters())
    names = linear_weight_names(lm)
    if set(tensors) != {f"{n}.{part}" for n in names for part in ("q", "scale", "sums")}:
        return False
    describe = getattr(tensors, "describe", lambda name: (tuple(tensors[name].shape), tensors[name].dtype))
    for n in names:
        (q_shape, q_dtype), (scale_shape, _), (sums_shape, _) = (describe(f"{n}.{p}") for p in ("q", "scale", "sums"))
        rows = tuple(params[n].shape[:1])
        if q_shape != tuple(params[n].shape) or q_dtype != torch.int8 or not scale_shape == sums_shape == rows:
            return False
    return True


def apply_precision(
    lm: LMModel, precision: str, quantized: Mapping[str, torch.Tensor] | None = None, step_verdict: bool | None = None
) -> None:
    """Give the LM's linears their decode-time form for `precision` ("fp32", "bf16", "int8" or "int4").

    For "fp32" and "bf16" the LM holds its weights in the precision's float dtype, except those `prepare` packs
    (they may still be the file's float32 tensors): each is released as soon as its packed copy exists, so the two
    copies never coexist for the whole model. For "int8" and "int4", `quantized` holds `quantize_lm`'s or
    `quantize_lm_int4`'s tensors and the float copies of the quantized weights are released. The decoding loop's
    steps then run scripted where the kernels allow it (`core.nn.decode_step`;
    `step_verdict`: an earlier load's outcome of its check, see there).
    """
    if precision not in ("int8", "int4"):
        lm.prepare(lambda name, weight: _released_if_packed(lm, name, prepare(weight, precision)))
    else:
        assert quantized is not None, f"{precision} precision needs the quantized tensors"
        device = lm.emb[0].weight.device
        lm.prepare(lambda name, weight: _quantized_form(quantized, name, device))
        for form in lm.prepared_linears():
            if isinstance(form, Int4Linear):
                form.release_stored()  # the q / k / v parts are cut: the kernel's packed copies are all that run
        for name in linear_weight_names(lm):
            _release(lm, name)
    lm.decode_step = build_decode_step(lm, step_verdict)


def _quantized_form(tensors: Mapping[str, torch.Tensor], name: str, device: torch.device) -> PreparedLinear:
    """The int8 or int4 form of weight `name`, whichever the tensors hold for it."""
    if f"{name}.q4" in tensors:
        form = Int4Linear(tensors[f"{name}.q4"], tensors[f"{name}.sz"])
        if not name.endswith("cross_attention.in_proj_weight"):  # only that one is cut into q / k / v parts
            form.release_stored()  # the kernel's packed copy is the only one held from here on
        return form
    sums = tensors.get(f"{name}.sums")
    return Int8Linear(tensors[f"{name}.q"].to(device), tensors[f"{name}.scale"].to(device), sums=sums)


def _released_if_packed(lm: LMModel, name: str, prepared: PreparedLinear) -> PreparedLinear:
    if isinstance(prepared, PackedLinear):
        _release(lm, name)  # the packed copy is the one that runs (and unpacks exactly where needed)
    return prepared


def _release(lm: LMModel, name: str) -> None:
    """Swap a float weight for a shape-only (meta) one: its prepared (int8 or packed) copy is what runs from now on."""
    path, _, attr = name.rpartition(".")
    module = lm.get_submodule(path)
    old = getattr(module, attr)
    drop_file_pages(old)  # a file's tensor: its pages would stay resident as long as the file is mapped
    setattr(module, attr, nn.Parameter(torch.empty(old.shape, dtype=old.dtype, device="meta"), requires_grad=False))
    if isinstance(module, nn.Linear) and not module._forward_pre_hooks:
        module.register_forward_pre_hook(_refuse_released)


def _refuse_released(module: nn.Module, args: tuple) -> None:
    """Calling a released nn.Linear would read a meta weight (uninitialised memory on the CPU, no error)."""
    raise RuntimeError("this linear's weight was released for its prepared form: call it through that form")

"""Builds a transformers `EncodecModel` that computes exactly what audiocraft's EnCodec computes.

Two sources: an audiocraft export (`xp.cfg` + SEANet/RVQ state dict, `build_from_export`) and a hub
EnCodec named by the short-form checkpoint (`load_pretrained`). Both end up as the same HF module tree
with our `SeanetConv1d` in place of HF's `EncodecConv1d`.

audiocraft SEANet vs transformers' EnCodec, checked line by line (audiocraft `modules/seanet.py`, `conv.py`,
`lstm.py`, `quantization/core_vq.py`, `models/encodec.py`; transformers 5.23 `modeling_encodec.py`) and
against the fixtures:

* module order and indices are identical (`encoder.model.{i}` = `encoder.layers.{i}`, resnet `block.{1,3}`,
  LSTM at 13 / 1), so the state dict maps by renaming keys only (`_hf_key`);
* weight norm: audiocraft's old-style `weight_g/weight_v` and HF's parametrization `original0/original1`
  are both `torch._weight_norm(v, g, dim=0)`, transposed convs included;
* LSTM with skip (`y + x`), resnet `shortcut(x) + block(x)` with identity shortcut when `true_skip`,
  `nn.ELU()` (alpha 1), transposed-conv trimming (`padding_total // 2` on the right unless causal) and the
  RVQ (`-(|x|^2 - 2 x.e + |e|^2)` argmax, residual loop, embedding sum) are the same code;
* HF has no switch for what audiocraft can also build (no LSTM, other activations, `norm: none`, outer
  blocks without norm, a final activation, input renormalisation): `encodec_config` refuses those with a
  `CheckpointError` instead of computing something else. No released MusicGen/AudioGen/MAGNeT codec uses them.

One piece is ours: `SeanetConv1d`. HF's `EncodecConv1d` computes the extra right padding from int64
buffers divided in float32 (`(length - k + pad) / stride + 1`), which rounds once a signal passes 2**24
samples (8.7 minutes at 32 kHz): the padding then comes out negative and silently trims the audio.
audiocraft's `StreamableConv1d` does it in Python floats. `SeanetConv1d` keeps HF's `conv` (and
`norm`) submodules, so weights and state-dict keys are unchanged, and pads with exact integers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn
from torch.nn import functional as F
from transformers import EncodecConfig, EncodecModel
from transformers.models.encodec.modeling_encodec import EncodecConv1d

from core.errors import CheckpointError, ModelNotFoundError
from core.models.hub import from_pretrained_cached_first


class SeanetConv1d(nn.Module):
    """audiocraft's `StreamableConv1d` padding around HF's (weight-normed) conv and optional GroupNorm."""

    def __init__(self, hf_conv: EncodecConv1d):
        super().__init__()
        self.conv = hf_conv.conv
        self.norm = getattr(hf_conv, "norm", None)  # only for norm_type "time_group_norm"
        self.causal = bool(hf_conv.causal)
        self.pad_mode = hf_conv.pad_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, T] -> [B, C', ceil(T / stride)]
        stride = self.conv.stride[0]
        kernel = (self.conv.kernel_size[0] - 1) * self.conv.dilation[0] + 1
        padding_total = kernel - stride
        extra = extra_padding(x.shape[-1], kernel, stride, padding_total)
        if self.causal:
            left, right = padding_total, extra
        else:
            right = padding_total // 2
            left, right = padding_total - right, right + extra
        x = pad1d(x, left, right, self.pad_mode)
        x = self.conv(x)
        return x if self.norm is None else self.norm(x)


def extra_padding(length: int, kernel: int, stride: int, padding_total: int) -> int:
    """Right padding that makes the last conv window full (audiocraft `get_extra_padding_for_conv1d`)."""
    frames_minus_one = -(-(length - kernel + padding_total) // stride)  # ceil division, exact for any length
    ideal_length = frames_minus_one * stride + kernel - padding_total
    return ideal_length - length


def pad1d(x: torch.Tensor, left: int, right: int, mode: str) -> torch.Tensor:
    """`F.pad`, but reflect padding also works on inputs shorter than the padding (audiocraft `pad1d`)."""
    if mode != "reflect":
        return F.pad(x, (left, right), mode)
    extra = max(0, max(left, right) - x.shape[-1] + 1)
    padded = F.pad(F.pad(x, (0, extra)), (left, right), mode)
    return padded[..., : padded.shape[-1] - extra]


def use_exact_padding(model: EncodecModel) -> EncodecModel:
    """Swap every `EncodecConv1d` of `model` for a `SeanetConv1d` sharing its conv (works on meta too)."""
    swaps = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if isinstance(child, EncodecConv1d)
    ]
    for parent, name, child in swaps:
        setattr(parent, name, SeanetConv1d(child))
    return model


# --- audiocraft export -> HF config --------------------------------------------------------------------


def encodec_config(cfg: DictConfig, source: str) -> tuple[EncodecConfig, int]:
    """The HF config equivalent to the EnCodec of an audiocraft `xp.cfg`, and its number of codebooks."""
    if _get(cfg, "compression_model", source) != "encodec":
        raise _unsupported(source, f"compression_model '{_get(cfg, 'compression_model', source)}'")
    encodec = _section(cfg, "encodec", source)
    if encodec.get("autoencoder") != "seanet" or encodec.get("quantizer") != "rvq":
        raise _unsupported(source, f"an EnCodec built from {encodec.get('autoencoder')}/{encodec.get('quantizer')}")
    if encodec.get("renormalize"):
        raise _unsupported(source, "input renormalisation (encodec.renormalize: true)")
    seanet = _section(cfg, "seanet", source)
    enc_over, dec_over = seanet.pop("encoder", None) or {}, seanet.pop("decoder", None) or {}
    _check_seanet(seanet, enc_over, dec_over, source)
    rvq = _section(cfg, "rvq", source)
    try:
        n_q, bins = int(rvq["n_q"]), int(rvq["bins"])
        sample_rate = int(encodec["sample_rate"])
        ratios = [int(r) for r in seanet["ratios"]]
        frame_rate = math.ceil(sample_rate / math.prod(ratios))  # as EncodecConfig.frame_rate
        config = EncodecConfig(
            sampling_rate=sample_rate,
            audio_channels=int(seanet["channels"]),
            normalize=False,
            chunk_length_s=None,
            overlap=None,
            hidden_size=int(seanet["dimension"]),
            codebook_dim=int(seanet["dimension"]),
            num_filters=int(seanet["n_filters"]),
            num_residual_layers=int(seanet["n_residual_layers"]),
            upsampling_ratios=ratios,
            norm_type=seanet["norm"],
            kernel_size=int(seanet["kernel_size"]),
            last_kernel_size=int(seanet["last_kernel_size"]),
            residual_kernel_size=int(seanet["residual_kernel_size"]),
            dilation_growth_rate=int(seanet["dilation_base"]),
            use_causal_conv=bool(seanet["causal"]),
            pad_mode=seanet["pad_mode"],
            compress=int(seanet["compress"]),
            num_lstm_layers=int(seanet["lstm"]),
            trim_right_ratio=float(dec_over.get("trim_right_ratio", 1.0)),
            use_conv_shortcut=not seanet["true_skip"],
            codebook_size=bins,
            # nudged up so that the float floor division in `EncodecConfig.num_quantizers` gives n_q
            target_bandwidths=[n_q * frame_rate * math.log2(bins) / 1000 * (1 + 1e-9)],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"The EnCodec config inside {source} is incomplete or invalid ({exc}).") from exc
    if config.num_quantizers != n_q:
        raise CheckpointError(f"The EnCodec config inside {source} does not give {n_q} codebooks.")
    return config, n_q


def _check_seanet(seanet: dict, enc_over: dict, dec_over: dict, source: str) -> None:
    """Refuse SEANet options that transformers' EnCodec cannot express."""
    checks = {
        "an activation other than ELU(alpha=1)": seanet.get("activation", "ELU") != "ELU"
        or float((seanet.get("activation_params") or {}).get("alpha", 1.0)) != 1.0,
        f"norm '{seanet.get('norm')}'": seanet.get("norm") not in ("weight_norm", "time_group_norm"),
        "norm parameters": bool(seanet.get("norm_params")),
        "outer blocks without norm": bool(seanet.get("disable_norm_outer_blocks", 0)),
        "an EnCodec without LSTM": int(seanet.get("lstm", 0)) < 1,
        "encoder-specific SEANet settings": bool(enc_over),
        "a final decoder activation": dec_over.get("final_activation") is not None,
        "other decoder-specific SEANet settings": bool(
            set(dec_over) - {"trim_right_ratio", "final_activation", "final_activation_params"}
        ),
    }
    for what, bad in checks.items():
        if bad:
            raise _unsupported(source, what)


def _unsupported(source: str, what: str) -> CheckpointError:
    return CheckpointError(f"The EnCodec in {source} uses {what}, which SoundDesk does not support.")


def _get(cfg: DictConfig, key: str, source: str) -> Any:
    try:
        return OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
    except OmegaConfBaseException as exc:
        raise CheckpointError(f"The config key '{key}' inside {source} cannot be resolved ({exc}).") from exc


def _section(cfg: DictConfig, key: str, source: str) -> dict:
    node = _get(cfg, key, source)
    if not isinstance(node, DictConfig):
        raise CheckpointError(f"The config inside {source} has no '{key}' section.")
    try:
        return OmegaConf.to_container(node, resolve=True)  # resolves this section only
    except OmegaConfBaseException as exc:
        raise CheckpointError(f"The '{key}' section inside {source} cannot be resolved ({exc}).") from exc


# --- audiocraft export -> HF weights ---------------------------------------------------------------------

_RENAMES = [
    (r"^(encoder|decoder)\.model\.", r"\1.layers."),
    (r"\.conv\.conv\.", ".conv."),  # StreamableConv1d.NormConv1d.Conv1d -> SeanetConv1d.conv
    (r"\.convtr\.convtr\.", ".conv."),  # StreamableConvTranspose1d.NormConvTranspose1d.ConvTranspose1d
    (r"\.(conv|convtr)\.norm\.", ".norm."),  # time_group_norm's GroupNorm
    (r"\.weight_g$", ".parametrizations.weight.original0"),
    (r"\.weight_v$", ".parametrizations.weight.original1"),
    (r"^quantizer\.vq\.layers\.(\d+)\._codebook\.", r"quantizer.layers.\1.codebook."),
]


def _hf_key(key: str) -> str:
    for pattern, replacement in _RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def build_from_export(best_state: Mapping[str, torch.Tensor], cfg: DictConfig, source: str) -> tuple[EncodecModel, int]:
    """An HF EnCodec holding the weights of an audiocraft export, built on meta and filled by assignment."""
    config, n_q = encodec_config(cfg, source)
    with torch.device("meta"):
        model = use_exact_padding(EncodecModel(config))
    state = {_hf_key(k): v for k, v in best_state.items()}
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:400]
        raise CheckpointError(f"The EnCodec weights in {source} do not match its config: {detail}") from exc
    return model.eval(), n_q


# --- short form: {'pretrained': 'facebook/encodec_32khz'} ------------------------------------------------


def load_pretrained(name: str, source: str) -> tuple[EncodecModel, int]:
    """The hub EnCodec a short-form checkpoint names (HF cache and offline mode apply), with its codebooks."""
    if name in ("dac_44khz", "dac_24khz", "debug_compression_model"):
        raise CheckpointError(f"{source} asks for the '{name}' codec, which SoundDesk does not support.")
    try:
        model = from_pretrained_cached_first(EncodecModel.from_pretrained, name)
    except OSError as exc:
        raise ModelNotFoundError(
            f"The codec '{name}' that {source} needs is not downloaded and cannot be fetched now ({exc})."
        ) from exc
    if not isinstance(model, EncodecModel):
        raise CheckpointError(f"'{name}', named by {source}, is not an EnCodec model.")
    if model.config.normalize or model.config.chunk_length_s is not None:
        raise CheckpointError(f"'{name}', named by {source}, normalises or chunks its input: not supported.")
    return use_exact_padding(model).eval(), hf_num_codebooks(model.config, name)


def hf_num_codebooks(config: EncodecConfig, name: str) -> int:
    """audiocraft's `HFEncodecCompressionModel` choice: the most codebooks any target bandwidth gives."""
    frame_rate = config.sampling_rate / math.prod(config.upsampling_ratios)
    counts = [bw * 1000 / (frame_rate * math.log2(config.codebook_size)) for bw in config.target_bandwidths]
    if any(abs(c - round(c)) > 1e-3 for c in counts):
        raise CheckpointError(f"The bandwidths of '{name}' {list(config.target_bandwidths)} give no whole codebooks.")
    return max(round(c) for c in counts)

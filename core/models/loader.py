"""Building the LM, its conditioners and fuser from a release `state_dict.bin` (weights + xp.cfg)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import nn

from core.errors import CheckpointError, ModelNotFoundError
from core.models.capabilities import Capabilities
from core.models.checkpoint import cfg_get, load_weights_file, parse_xp_cfg, state_dict
from core.models.hub import TEXT_ENCODER_DIR, bundled
from core.nn.conditioning import ChromaConditioner, Fuser, T5Conditioner
from core.nn.delay_pattern import DelayPattern
from core.nn.lm import LMConfig, LMModel
from core.nn.transformer import TransformerConfig

_COND_PREFIX = "condition_provider.conditioners."
_TEXT_CONDITIONERS = ("t5",)
_WAV_CONDITIONERS = ("chroma_stem",)


@dataclass
class LMBundle:
    """Everything `state_dict.bin` defines: the LM and how conditions reach it, plus config facts."""

    lm: LMModel
    pattern: DelayPattern
    conditioners: dict[str, nn.Module]
    condition_order: list[str]  # audiocraft's tokenize order: text attributes first, then wav ones
    fuser: Fuser
    cfg: DictConfig
    capabilities: Capabilities
    span_len: int | None = None  # MAGNeT's masking span, in frames


def load_lm_bundle(
    path: Path,
    dtype: torch.dtype = torch.float32,
    text_encoders: dict | None = None,
    as_stored: Callable[[str], bool] | None = None,
) -> LMBundle:
    """The LM of a release `state_dict.bin`; `text_encoders` (name -> T5) is shared between models.

    LM weights are converted to `dtype` as they are assigned (no float32 copy on the way to bfloat16), except
    those `as_stored(name)` names: they stay the file's own (memory-mapped) tensors, untouched until read. int8
    mode passes its quantized weights here, so a cached int8 load never pages in their float copies.
    """
    data = load_weights_file(path)
    cfg = parse_xp_cfg(data, path)
    weights = state_dict(data, path)
    fuser = Fuser(
        cross=list(cfg_get(cfg, "fuser.cross", []) or []), prepend=list(cfg_get(cfg, "fuser.prepend", []) or [])
    )
    _refuse_unsupported(cfg, path)
    lm_cfg = _lm_config(cfg, cross=bool(fuser.cross))
    # With `as_stored`, the other weights are copied: none of them keeps the file's mapping (and the pages the
    # stored ones' quantization reads) alive once those are released.
    keep, copy = as_stored or (lambda name: False), as_stored is not None
    lm_weights = {
        k: v if keep(k) else v.to(dtype, copy=copy) for k, v in weights.items() if not k.startswith(_COND_PREFIX)
    }
    lm = _load_lm(lm_cfg, lm_weights, path)
    conditioners, order = _build_conditioners(cfg, weights, lm_cfg.transformer.dim, path, text_encoders)
    melody = any(isinstance(m, ChromaConditioner) for m in conditioners.values())
    capabilities = Capabilities.from_config(cfg, melody, path.name)
    bundle = LMBundle(
        lm=lm.eval(),
        pattern=_pattern(cfg, lm_cfg.n_q),
        conditioners=conditioners,
        condition_order=order,
        fuser=fuser,
        cfg=cfg,
        capabilities=capabilities,
        span_len=int(cfg_get(cfg, "masking.span_len")) if capabilities.masked else None,
    )
    for module in conditioners.values():
        module.eval()
    return bundle


def _refuse_unsupported(cfg: DictConfig, path: Path) -> None:
    checks = {
        "lm_model": ("transformer_lm", "transformer_lm_magnet"),
        "transformer_lm.positional_embedding": ("sin",),
        "transformer_lm.norm": ("layer_norm",),
        "transformer_lm.activation": ("gelu",),
    }
    for key, allowed in checks.items():
        value = cfg_get(cfg, key, allowed[0])
        if value not in allowed:
            raise CheckpointError(f"{path.name}: {key}={value!r} is not supported (supported: {allowed}).")
    for key in (
        "transformer_lm.qk_layer_norm",
        "transformer_lm.qk_layer_norm_cross",
        "transformer_lm.xpos",
        "fuser.cross_attention_pos_emb",
    ):
        if cfg_get(cfg, key, False):
            raise CheckpointError(f"{path.name}: {key} is not supported.")
    if int(cfg_get(cfg, "transformer_lm.kv_repeat", 1)) != 1 or not cfg_get(cfg, "transformer_lm.norm_first", False):
        raise CheckpointError(f"{path.name}: only pre-norm LMs without kv_repeat are supported.")
    if cfg_get(cfg, "fuser.sum") or cfg_get(cfg, "fuser.input_interpolate"):
        raise CheckpointError(f"{path.name}: 'sum' / 'input_interpolate' condition fusing is not supported.")


def _lm_config(cfg: DictConfig, cross: bool) -> LMConfig:
    t = cfg_get(cfg, "transformer_lm")
    tcfg = TransformerConfig(
        dim=int(t["dim"]),
        num_heads=int(t["num_heads"]),
        num_layers=int(t["num_layers"]),
        hidden_scale=float(t.get("hidden_scale", 4)),
        causal=bool(t.get("causal", True)),
        cross_attention=cross or bool(t.get("cross_attention", False)),
        bias_ff=bool(t.get("bias_ff", True)),
        bias_attn=bool(t.get("bias_attn", True)),
        layer_scale=t.get("layer_scale"),
    )
    return LMConfig(
        n_q=int(t["n_q"]),
        card=int(t["card"]),
        transformer=tcfg,
        norm_first=bool(t.get("norm_first", False)),
        bias_proj=bool(t.get("bias_proj", True)),
        subcodes_context=t.get("subcodes_context"),
    )


def _pattern(cfg: DictConfig, n_q: int) -> DelayPattern:
    modeling = cfg_get(cfg, "codebooks_pattern.modeling")
    section = cfg_get(cfg, f"codebooks_pattern.{modeling}", {}) or {}
    if modeling == "delay":
        if int(section.get("flatten_first", 0)):
            raise CheckpointError("Delay patterns with flatten_first > 0 are not supported.")
        delays = tuple(int(d) for d in section.get("delays", range(n_q)))
    elif modeling == "parallel":
        delays = (0,) * n_q
    else:
        raise CheckpointError(f"Codebook pattern '{modeling}' is not supported (delay and parallel are).")
    if len(delays) != n_q:
        raise CheckpointError(f"The delay pattern lists {len(delays)} delays for {n_q} codebooks.")
    return DelayPattern(delays, int(section.get("empty_initial", 0)))


def _load_lm(lm_cfg: LMConfig, weights: dict[str, torch.Tensor], path: Path) -> LMModel:
    with torch.device("meta"):
        lm = LMModel(lm_cfg)
    _assign(lm, weights, path, "LM")
    return lm


def _assign(module: nn.Module, weights: dict[str, torch.Tensor], path: Path, what: str) -> None:
    """Give `module` (built on the meta device) the given tensors themselves, after checking every name and shape."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path.name} does not match the {what} its config describes "
            f"(missing: {missing[:3]}, unexpected: {unexpected[:3]})."
        )
    for name, tensor in expected.items():
        if tuple(weights[name].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{path.name}: {name} has shape {tuple(weights[name].shape)}, expected {tuple(tensor.shape)}."
            )
    module.load_state_dict(weights, assign=True)


def _build_conditioners(
    cfg: DictConfig, weights: dict[str, torch.Tensor], lm_dim: int, path: Path, text_encoders: dict | None
) -> tuple[dict[str, nn.Module], list[str]]:
    spec = cfg_get(cfg, "conditioners", {}) or {}
    text, wav, modules = [], [], {}
    for name, entry in spec.items():
        if not isinstance(entry, dict) or "model" not in entry:
            continue  # e.g. conditioners.args
        kind = entry["model"]
        proj = {
            k[len(f"{_COND_PREFIX}{name}.output_proj.") :]: v
            for k, v in weights.items()
            if k.startswith(f"{_COND_PREFIX}{name}.output_proj.")
        }
        if kind in _TEXT_CONDITIONERS:
            name_t5 = entry["t5"]["name"]
            source = str(bundled(path.parent, TEXT_ENCODER_DIR) or name_t5)  # the folder's own T5 first
            encoders = {} if text_encoders is None else text_encoders
            if source not in encoders:
                encoders[source] = load_t5(source)
            module = T5Conditioner(name_t5, proj["weight"].shape[1], lm_dim, encoders[source])
            text.append(name)
        elif kind in _WAV_CONDITIONERS:
            module = _chroma_conditioner(cfg, name, entry[kind], lm_dim, proj["weight"].shape[1])
            wav.append(name)
        else:
            raise CheckpointError(f"{path.name}: conditioner '{kind}' is not supported.")
        module.output_proj.load_state_dict({k: v.float() for k, v in proj.items()})
        modules[name] = module
    return modules, text + wav


def _chroma_conditioner(cfg: DictConfig, name: str, entry: dict, lm_dim: int, n_chroma: int) -> ChromaConditioner:
    sample_rate = int(entry.get("sample_rate") or cfg_get(cfg, "sample_rate"))
    return ChromaConditioner(
        n_chroma,
        lm_dim,
        sample_rate,
        int(entry.get("radix2_exp", 12)),
        bool(entry.get("argmax", False)),
        float(cfg_get(cfg, "dataset.segment_duration")),
    )


def load_t5(name: str) -> tuple:
    """(tokenizer, frozen T5 encoder) of `name` (a hub name, or a model folder's own `text_encoder/`), through the
    Hugging Face cache first (offline-safe); our own T5 (`core.models.text_encoder`), no transformers."""
    from core.models.text_encoder import load_text_encoder

    try:
        return load_text_encoder(name)
    except (OSError, CheckpointError) as exc:
        why = "it is neither in the local Hugging Face cache nor downloadable (offline mode or no network)"
        if Path(name).is_dir():
            why = "its folder does not hold a readable Hugging Face T5 (config.json, weights and tokenizer)"
        first = str(exc).splitlines()[0]
        raise ModelNotFoundError(f"The text encoder '{name}' is not available: {why}. Original error: {first}") from exc

"""Loads an EnCodec (`core.codec.seanet`) from either checkpoint layout a release uses.

Two sources: an audiocraft export (`xp.cfg` + SEANet/RVQ state dict, `build_from_export`) and a Hugging Face
EnCodec (config.json + model.safetensors, e.g. `facebook/encodec_32khz`) named by the short-form checkpoint
(`load_pretrained`). Both become the same `Encodec` module tree, named as transformers names it:

* audiocraft's module order and indices equal transformers' (`encoder.model.{i}` = `encoder.layers.{i}`, resnet
  `block.{1,3}`, LSTM at 13 / 1), so its state dict maps by renaming keys only (`_RENAMES`);
* weight norm, audiocraft's old-style `weight_g/weight_v` or the parametrization's `original0/original1`, is
  `torch._weight_norm(v, g, dim=0)` for convs and transposed convs alike: folded once here (`fold_weight_norm`);
* the RVQ keeps only the codebook vectors (`embed`); the EMA statistics stored beside them are training state.

What no released MusicGen/AudioGen/MAGNeT codec uses (no LSTM, other activations, `norm: none`, outer blocks
without norm, a final activation, input renormalisation) is refused with a `CheckpointError` instead of being
computed otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core.codec.seanet import Encodec, SeanetConfig
from core.errors import CheckpointError, ModelNotFoundError
from core.models.pretrained import pretrained_file, read_config, read_weights

# --- audiocraft export -> config ------------------------------------------------------------------------


def encodec_config(cfg: DictConfig, source: str) -> SeanetConfig:
    """The codec an audiocraft `xp.cfg` describes."""
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
        return SeanetConfig(
            sampling_rate=int(encodec["sample_rate"]),
            audio_channels=int(seanet["channels"]),
            hidden_size=int(seanet["dimension"]),
            num_filters=int(seanet["n_filters"]),
            num_residual_layers=int(seanet["n_residual_layers"]),
            upsampling_ratios=tuple(int(r) for r in seanet["ratios"]),
            norm_type=str(seanet["norm"]),
            kernel_size=int(seanet["kernel_size"]),
            last_kernel_size=int(seanet["last_kernel_size"]),
            residual_kernel_size=int(seanet["residual_kernel_size"]),
            dilation_growth_rate=int(seanet["dilation_base"]),
            use_causal_conv=bool(seanet["causal"]),
            pad_mode=str(seanet["pad_mode"]),
            compress=int(seanet["compress"]),
            num_lstm_layers=int(seanet["lstm"]),
            trim_right_ratio=float(dec_over.get("trim_right_ratio", 1.0)),
            use_conv_shortcut=not seanet["true_skip"],
            codebook_size=int(rvq["bins"]),
            num_quantizers=int(rvq["n_q"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"The EnCodec config inside {source} is incomplete or invalid ({exc}).") from exc


def _check_seanet(seanet: dict, enc_over: dict, dec_over: dict, source: str) -> None:
    """Refuse SEANet options that no released codec uses (and `core.codec.seanet` does not build)."""
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


# --- checkpoint weights -> Encodec -----------------------------------------------------------------------

_RENAMES = [
    (r"^(encoder|decoder)\.model\.", r"\1.layers."),
    (r"\.conv\.conv\.", ".conv."),  # StreamableConv1d.NormConv1d.Conv1d -> SeanetConv1d.conv
    (r"\.convtr\.convtr\.", ".conv."),  # StreamableConvTranspose1d.NormConvTranspose1d.ConvTranspose1d
    (r"\.(conv|convtr)\.norm\.", ".norm."),  # time_group_norm's GroupNorm
    (r"^quantizer\.vq\.layers\.(\d+)\._codebook\.", r"quantizer.layers.\1.codebook."),
]
_WEIGHT_NORM = {  # (magnitude g, direction v) suffixes, old style and parametrization
    ".weight_g": ".weight_v",
    ".parametrizations.weight.original0": ".parametrizations.weight.original1",
}
_TRAINING_STATE = re.compile(r"^quantizer\.layers\.\d+\.codebook\.(inited|cluster_size|embed_avg)$")


def _our_key(key: str) -> str:
    for pattern, replacement in _RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def fold_weight_norm(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state` with every weight-normed (g, v) pair replaced by the weight it stands for."""
    folded = dict(state)
    for key in list(state):
        for g_suffix, v_suffix in _WEIGHT_NORM.items():
            if key.endswith(g_suffix) and key[: -len(g_suffix)] + v_suffix in state:
                base = key[: -len(g_suffix)]
                g, v = folded.pop(key), folded.pop(base + v_suffix)
                folded[base + ".weight"] = torch._weight_norm(v, g, 0)
    return folded


def load_weights(config: SeanetConfig, state: Mapping[str, torch.Tensor], source: str) -> Encodec:
    """An `Encodec` of `config` holding `state` (either layout), built on meta and filled by assignment."""
    renamed = {_our_key(k): v for k, v in state.items()}
    weights = {k: v for k, v in fold_weight_norm(renamed).items() if not _TRAINING_STATE.match(k)}
    with torch.device("meta"):
        model = Encodec(config)
    try:
        model.load_state_dict(weights, strict=True, assign=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:400]
        raise CheckpointError(f"The EnCodec weights in {source} do not match its config: {detail}") from exc
    return model.eval()


def build_from_export(best_state: Mapping[str, torch.Tensor], cfg: DictConfig, source: str) -> tuple[Encodec, int]:
    """The EnCodec of an audiocraft export and its number of codebooks."""
    config = encodec_config(cfg, source)
    return load_weights(config, best_state, source), config.num_quantizers


# --- short form: {'pretrained': 'facebook/encodec_32khz'} ------------------------------------------------


def load_pretrained(name: str, source: str) -> tuple[Encodec, int]:
    """The Hugging Face EnCodec a short-form checkpoint names (a folder, or a hub id: cache first, offline-safe)."""
    if name in ("dac_44khz", "dac_24khz", "debug_compression_model"):
        raise CheckpointError(f"{source} asks for the '{name}' codec, which SoundDesk does not support.")
    try:
        config_file = pretrained_file(name, "config.json")
        weights_file = pretrained_file(name, "model.safetensors", "pytorch_model.bin") if config_file else None
    except OSError as exc:
        config_file = weights_file = None
        why = f" ({str(exc).splitlines()[0]})"
    else:
        why = ""
    if config_file is None or weights_file is None:
        raise ModelNotFoundError(
            f"The codec '{name}' that {source} needs is not downloaded and cannot be fetched now{why}."
        )
    config, n_q = hf_encodec_config(read_config(config_file), name, source)
    return load_weights(config, read_weights(weights_file), str(weights_file)), n_q


_HF_DEFAULTS = {  # transformers' EncodecConfig defaults, for keys a config.json leaves out
    "target_bandwidths": [1.5, 3.0, 6.0, 12.0, 24.0],
    "sampling_rate": 24_000,
    "audio_channels": 1,
    "normalize": False,
    "chunk_length_s": None,
    "hidden_size": 128,
    "num_filters": 32,
    "num_residual_layers": 1,
    "upsampling_ratios": [8, 5, 4, 2],
    "norm_type": "weight_norm",
    "kernel_size": 7,
    "last_kernel_size": 7,
    "residual_kernel_size": 3,
    "dilation_growth_rate": 2,
    "use_causal_conv": True,
    "pad_mode": "reflect",
    "compress": 2,
    "num_lstm_layers": 2,
    "trim_right_ratio": 1.0,
    "codebook_size": 1024,
    "codebook_dim": None,
    "use_conv_shortcut": True,
}


def hf_encodec_config(raw: Mapping[str, Any], name: str, source: str) -> tuple[SeanetConfig, int]:
    """The codec a Hugging Face EnCodec config.json describes, and how many of its codebooks audiocraft uses."""
    if raw.get("model_type", "encodec") != "encodec":
        raise CheckpointError(f"'{name}', named by {source}, is not an EnCodec model.")
    c = {**_HF_DEFAULTS, **{k: v for k, v in raw.items() if k in _HF_DEFAULTS}}
    if c["normalize"] or c["chunk_length_s"] is not None:
        raise CheckpointError(f"'{name}', named by {source}, normalises or chunks its input: not supported.")
    try:
        if c["codebook_dim"] not in (None, c["hidden_size"]) or int(c["num_lstm_layers"]) < 1:
            raise CheckpointError(f"'{name}', named by {source}, is an EnCodec variant SoundDesk does not support.")
        ratios = tuple(int(r) for r in c["upsampling_ratios"])
        bandwidths = [float(b) for b in c["target_bandwidths"]]
        frame_rate = math.ceil(int(c["sampling_rate"]) / math.prod(ratios))
        stored = int(1000 * bandwidths[-1] // (frame_rate * math.ceil(math.log2(int(c["codebook_size"])))))
        fields = {
            k: c[k] for k in SeanetConfig.__dataclass_fields__ if k not in ("num_quantizers", "upsampling_ratios")
        }
        config = SeanetConfig(**fields, upsampling_ratios=ratios, num_quantizers=stored)  # transformers' count
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CheckpointError(f"The config of '{name}' is incomplete or invalid ({exc}).") from exc
    return config, hf_num_codebooks(config, bandwidths, name)


def hf_num_codebooks(config: SeanetConfig, bandwidths: list[float], name: str) -> int:
    """audiocraft's `HFEncodecCompressionModel` choice: the most codebooks any target bandwidth gives."""
    frame_rate = config.sampling_rate / config.hop_length
    counts = [bw * 1000 / (frame_rate * math.log2(config.codebook_size)) for bw in bandwidths]
    if any(abs(c - round(c)) > 1e-3 for c in counts):
        raise CheckpointError(f"The bandwidths of '{name}' {bandwidths} give no whole codebooks.")
    return max(round(c) for c in counts)

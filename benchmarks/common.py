"""Shared benchmark helpers: the machine description, random-weight LMs and EnCodec of released sizes."""

from __future__ import annotations

import os
import platform

import torch

from core.nn.lm import LMConfig, LMModel
from core.nn.transformer import TransformerConfig

MUSICGEN_SMALL = dict(dim=1024, num_heads=16, num_layers=24, hidden_scale=4, n_q=4, card=2048)


def real_size_codec(norm: str = "weight_norm", causal: bool = False):
    """An EnCodec 32 kHz of the size MusicGen ships (64 filters, 128 dims, codebook 2048, 2 LSTM layers, ratios
    8/5/4/4, non-causal) with random weights (seed 0), built from the same modules the app loads."""
    from core.codec.compression import EncodecCompressionModel
    from core.codec.seanet import Encodec, SeanetConfig

    config = SeanetConfig(
        sampling_rate=32000,
        audio_channels=1,
        hidden_size=128,
        num_filters=64,
        num_residual_layers=1,
        upsampling_ratios=(8, 5, 4, 4),
        norm_type=norm,
        kernel_size=7,
        last_kernel_size=7,
        residual_kernel_size=3,
        dilation_growth_rate=2,
        use_causal_conv=causal,
        pad_mode="reflect",
        compress=2,
        num_lstm_layers=2,
        trim_right_ratio=1.0,
        use_conv_shortcut=True,  # transformers' default, which the earlier benchmark codec had
        codebook_size=2048,
        num_quantizers=4,
    )
    torch.manual_seed(0)
    model = Encodec(config)
    for layer in model.quantizer.layers:
        layer.codebook.embed.normal_()
    return EncodecCompressionModel(model.eval(), 4)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{platform.platform()} | {cpu} | {os.cpu_count()} logical CPUs | torch {torch.__version__} "
        f"| {torch.get_num_threads()} threads"
    )


def random_init(cls, cfg, seed: int) -> LMModel:
    """`cls(cfg)` with gaussian (std 0.02) matrices, audiocraft's init scale, drawn from `seed`."""
    torch.manual_seed(seed)
    lm = cls(cfg)
    with torch.no_grad():
        for param in lm.parameters():
            if param.dim() >= 2:
                param.normal_(0.0, 0.02)
    return lm


def random_lm(causal: bool = True, cross: bool = True, seed: int = 0, **sizes) -> LMModel:
    """A randomly initialised LM of the given size (gaussian std 0.02, as audiocraft's init scale)."""
    s = {**MUSICGEN_SMALL, **sizes}
    tcfg = TransformerConfig(
        dim=s["dim"],
        num_heads=s["num_heads"],
        num_layers=s["num_layers"],
        hidden_scale=s["hidden_scale"],
        causal=causal,
        cross_attention=cross,
    )
    lm_cfg = LMConfig(n_q=s["n_q"], card=s["card"], transformer=tcfg, norm_first=True, bias_proj=False)
    lm = random_init(LMModel, lm_cfg, seed)
    return lm.eval()

"""EnCodec in plain torch: the SEANet encoder / decoder and the residual vector quantiser, as audiocraft computes them.

Written from audiocraft's `modules/seanet.py`, `modules/conv.py`, `modules/lstm.py`, `quantization/core_vq.py` and
`models/encodec.py`. The module tree is named as transformers' `EncodecModel` names it (`encoder.layers.{i}`,
resnet `block.{1,3}` and `shortcut`, LSTM `lstm`, `quantizer.layers.{i}.codebook.embed`), so both checkpoint
layouts map onto it by renaming keys only (`core.codec.encodec`). Weight norm is folded into plain conv weights
at load (`torch._weight_norm(v, g, 0)`, what both audiocraft and transformers compute on every call).

Shapes: `encoder(wav [B, C, T]) -> latent [B, D, ceil(T / hop)]`, `decoder(latent [B, D, F]) -> wav [B, C, F * hop]`,
`quantizer.layers[k].encode(residual [B, D, F]) -> codes [B, F]`, `quantizer.decode(codes [K, B, F]) -> [B, D, F]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class SeanetConfig:
    """What an EnCodec is built from (audiocraft's `seanet` / `rvq` / `encodec` sections, in transformers' words)."""

    sampling_rate: int
    audio_channels: int
    hidden_size: int  # latent dimension (SEANet `dimension`), also the codebook vectors' size
    num_filters: int
    num_residual_layers: int
    upsampling_ratios: tuple[int, ...]  # the decoder's order; the encoder downsamples by them reversed
    norm_type: str  # "weight_norm" or "time_group_norm"
    kernel_size: int
    last_kernel_size: int
    residual_kernel_size: int
    dilation_growth_rate: int
    use_causal_conv: bool
    pad_mode: str
    compress: int
    num_lstm_layers: int
    trim_right_ratio: float
    use_conv_shortcut: bool  # audiocraft's `not true_skip`
    codebook_size: int
    num_quantizers: int

    @property
    def hop_length(self) -> int:
        return math.prod(self.upsampling_ratios)


class SeanetConv1d(nn.Module):
    """audiocraft's `StreamableConv1d`: a conv padded so that a signal of T samples gives ceil(T / stride) frames.

    Padding is reflect (or `pad_mode`) on both sides, or all on the left when causal, plus the extra right padding
    that completes the last window, computed with exact integers (at any length)."""

    def __init__(self, config: SeanetConfig, in_ch: int, out_ch: int, kernel: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(in_ch, out_ch, kernel, stride, dilation=dilation)
        self.norm = nn.GroupNorm(1, out_ch) if config.norm_type == "time_group_norm" else None
        self.causal = config.use_causal_conv
        self.pad_mode = config.pad_mode

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
        x = self.conv(pad1d(x, left, right, self.pad_mode))
        return x if self.norm is None else self.norm(x)


class SeanetConvTranspose1d(nn.Module):
    """audiocraft's `StreamableConvTranspose1d`: the transposed conv, its k - s extra samples trimmed off the ends
    (half on each side, or `trim_right_ratio` of them on the right when causal)."""

    def __init__(self, config: SeanetConfig, in_ch: int, out_ch: int, kernel: int, stride: int):
        super().__init__()
        self.conv = nn.ConvTranspose1d(in_ch, out_ch, kernel, stride)
        self.norm = nn.GroupNorm(1, out_ch) if config.norm_type == "time_group_norm" else None
        self.causal = config.use_causal_conv
        self.trim_right_ratio = config.trim_right_ratio

    def trims(self) -> tuple[int, int]:
        """(left, right) samples cut from the transposed conv's output."""
        padding_total = self.conv.kernel_size[0] - self.conv.stride[0]
        right = math.ceil(padding_total * self.trim_right_ratio) if self.causal else padding_total // 2
        return padding_total - right, right

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, F] -> [B, C', F * stride]
        y = self.conv(x)
        if self.norm is not None:
            y = self.norm(y)
        left, right = self.trims()
        return y[..., left : y.shape[-1] - right]


class SeanetLstm(nn.Module):
    """audiocraft's `StreamableLSTM` with skip: an LSTM over time whose output is added to its input."""

    def __init__(self, dim: int, num_layers: int):
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, num_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, T] -> [B, C, T]
        seq = x.permute(2, 0, 1)
        y, _ = self.lstm(seq)
        return (y + seq).permute(1, 2, 0)


class SeanetResnetBlock(nn.Module):
    """`shortcut(x) + block(x)`; block: ELU, dilated conv (dim -> dim / compress), ELU, 1x1 conv (back to dim)."""

    def __init__(self, config: SeanetConfig, dim: int, dilation: int):
        super().__init__()
        hidden = dim // config.compress
        self.block = nn.ModuleList(
            [
                nn.ELU(),
                SeanetConv1d(config, dim, hidden, config.residual_kernel_size, dilation=dilation),
                nn.ELU(),
                SeanetConv1d(config, hidden, dim, 1),
            ]
        )
        self.shortcut = SeanetConv1d(config, dim, dim, 1) if config.use_conv_shortcut else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for layer in self.block:
            y = layer(y)
        return self.shortcut(x) + y


class _Layers(nn.Module):
    def __init__(self, layers: list[nn.Module]):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class SeanetEncoder(_Layers):
    """conv, then per ratio (reversed): resnet blocks, ELU, strided conv doubling the channels; LSTM, ELU, conv."""

    def __init__(self, c: SeanetConfig):
        layers: list[nn.Module] = [SeanetConv1d(c, c.audio_channels, c.num_filters, c.kernel_size)]
        channels = c.num_filters
        for ratio in reversed(c.upsampling_ratios):
            layers += [SeanetResnetBlock(c, channels, c.dilation_growth_rate**j) for j in range(c.num_residual_layers)]
            layers += [nn.ELU(), SeanetConv1d(c, channels, channels * 2, ratio * 2, stride=ratio)]
            channels *= 2
        layers += [SeanetLstm(channels, c.num_lstm_layers), nn.ELU()]
        layers += [SeanetConv1d(c, channels, c.hidden_size, c.last_kernel_size)]
        super().__init__(layers)


class SeanetDecoder(_Layers):
    """conv, LSTM, then per ratio: ELU, transposed conv halving the channels, resnet blocks; ELU, conv."""

    def __init__(self, c: SeanetConfig):
        channels = c.num_filters * 2 ** len(c.upsampling_ratios)
        layers: list[nn.Module] = [SeanetConv1d(c, c.hidden_size, channels, c.kernel_size)]
        layers += [SeanetLstm(channels, c.num_lstm_layers)]
        for ratio in c.upsampling_ratios:
            layers += [nn.ELU(), SeanetConvTranspose1d(c, channels, channels // 2, ratio * 2, ratio)]
            channels //= 2
            layers += [SeanetResnetBlock(c, channels, c.dilation_growth_rate**j) for j in range(c.num_residual_layers)]
        layers += [nn.ELU(), SeanetConv1d(c, c.num_filters, c.audio_channels, c.last_kernel_size)]
        super().__init__(layers)


class Codebook(nn.Module):
    """One codebook's vectors `embed` [bins, D] (the training-time EMA statistics are not kept)."""

    def __init__(self, bins: int, dim: int):
        super().__init__()
        self.register_buffer("embed", torch.zeros(bins, dim))


class VectorQuantizer(nn.Module):
    """Nearest codebook vector by euclidean distance (audiocraft's `EuclideanCodebook.quantize`)."""

    def __init__(self, bins: int, dim: int):
        super().__init__()
        self.codebook = Codebook(bins, dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # [B, D, F] -> [B, F]
        batch, dim, frames = x.shape
        flat = x.permute(0, 2, 1).reshape(-1, dim)
        embed = self.codebook.embed.t()
        dist = -(flat.pow(2).sum(1, keepdim=True) - 2 * flat @ embed + embed.pow(2).sum(0, keepdim=True))
        return dist.max(dim=-1).indices.view(batch, frames)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:  # [B, F] -> [B, D, F]
        return F.embedding(codes, self.codebook.embed).permute(0, 2, 1)


class ResidualVectorQuantizer(nn.Module):
    """`num_quantizers` codebooks, each quantising what the ones before it left (decode: the sum of their vectors)."""

    def __init__(self, config: SeanetConfig):
        super().__init__()
        self.layers = nn.ModuleList(
            [VectorQuantizer(config.codebook_size, config.hidden_size) for _ in range(config.num_quantizers)]
        )

    def decode(self, codes: torch.Tensor) -> torch.Tensor:  # [K, B, F] -> [B, D, F]
        out = self.layers[0].decode(codes[0])
        for layer, indices in zip(self.layers[1:], codes[1:], strict=False):
            out = out + layer.decode(indices)
        return out


class Encodec(nn.Module):
    """The whole codec: `encoder`, `quantizer`, `decoder`, and the `config` they were built from."""

    def __init__(self, config: SeanetConfig):
        super().__init__()
        self.config = config
        self.encoder = SeanetEncoder(config)
        self.decoder = SeanetDecoder(config)
        self.quantizer = ResidualVectorQuantizer(config)


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

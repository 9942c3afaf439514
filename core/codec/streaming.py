"""EnCodec's SEANet decoder run as a stream: each layer keeps its left context, so new frames cost only themselves.

`StreamingDecoder(codec)` wraps the decoder weights of an `EncodecCompressionModel` (or both channels of an
`InterleavedStereo`); `step(codes [B, K, n])` takes the next n frames and returns the audio [B, C, m] that is
now final, `flush()` returns the rest once the take is complete. Joined, the pieces are the decode of all the
frames at once, up to float rounding (audiocraft's `StreamableConv1d` / `StreamableConvTranspose1d` streaming
mode, for the non-causal convolutions that MusicGen's and AudioGen's codecs use):

* a stride-1 conv with effective kernel k holds its last k - 1 input samples; its right padding (reflect, as in
  the whole decode) is applied at `flush`, so its last `(k - 1) // 2` outputs wait for the end or for more input;
* a transposed conv (kernel k, stride s) keeps the k - s overlapping output samples that the next input adds to,
  trims its left padding once at the start and its right padding at `flush`;
* the LSTM carries its (h, c); a residual block delays its skip path until the convolutions' output catches up.

Worked example, EnCodec 32 kHz (ratios 8/5/4/4, hop 640, non-causal): `step` on the first 10 frames returns 3998
samples (6.2 frames' worth: the 7-tap first conv waits for 3 more frames, the later layers for 482 more samples);
`flush` then returns the last 2402, 6400 in all.
A codec this cannot stream (time_group_norm, a strided conv) raises `NotStreamable` on construction.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.codec.seanet import SeanetConv1d, SeanetConvTranspose1d, SeanetLstm, SeanetResnetBlock, pad1d


class NotStreamable(Exception):
    """The codec has a layer whose output depends on the whole signal (or that this module does not know)."""


def _empty(x: torch.Tensor, channels: int) -> torch.Tensor:
    return x.new_zeros(x.shape[0], channels, 0)


class _Pointwise:
    """A layer without memory (ELU): each sample maps to itself."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def step(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)

    def flush(self, like: torch.Tensor) -> torch.Tensor:
        return like[..., :0]


class _Conv:
    """A stride-1 `SeanetConv1d`: the last k - 1 inputs are kept; reflect padding at the two ends as a whole decode."""

    def __init__(self, module: SeanetConv1d) -> None:
        conv = module.conv
        if module.norm is not None or conv.stride[0] != 1:
            raise NotStreamable("a conv with time_group_norm or a stride")
        self.module, self.conv = module, conv
        self.kernel = (conv.kernel_size[0] - 1) * conv.dilation[0] + 1
        self.right = 0 if module.causal else (self.kernel - 1) // 2
        self.left = self.kernel - 1 - self.right
        self.buffer: torch.Tensor | None = None  # inputs not yet consumed (before the start: all of them)
        self.started = False

    def step(self, x: torch.Tensor) -> torch.Tensor:
        buffer = x if self.buffer is None else torch.cat([self.buffer, x], dim=-1)
        if not self.started:
            if buffer.shape[-1] <= max(self.left, self.right):  # too short to pad as the whole decode does
                self.buffer = buffer
                return _empty(x, self.conv.out_channels)
            buffer, self.started = pad1d(buffer, self.left, 0, self.module.pad_mode), True
        return self._convolve(buffer)

    def _convolve(self, buffer: torch.Tensor) -> torch.Tensor:
        ready = buffer.shape[-1] - (self.kernel - 1)  # outputs whose whole window is here
        self.buffer = buffer[..., max(ready, 0) :]
        return self.conv(buffer) if ready > 0 else _empty(buffer, self.conv.out_channels)

    def flush(self, like: torch.Tensor) -> torch.Tensor:
        buffer, self.buffer = self.buffer, None
        if buffer is None:
            return _empty(like, self.conv.out_channels)
        if not self.started:  # the whole signal was shorter than the padding: decode it as one piece
            return self.module(buffer)
        return self._convolve(pad1d(buffer, 0, self.right, self.module.pad_mode))


class _ConvTranspose:
    """A `SeanetConvTranspose1d` by overlap-add: the k - s samples the next input still adds to are kept."""

    def __init__(self, module: SeanetConvTranspose1d) -> None:
        if module.norm is not None:
            raise NotStreamable("a transposed conv with time_group_norm")
        conv = module.conv
        weight = conv.weight.detach()  # [C, C', k], weight norm folded at load
        self.out_channels, self.kernel, self.stride = weight.shape[1], weight.shape[2], conv.stride[0]
        self.columns = weight.flatten(1).t().contiguous()  # [C' * k, C]
        self.bias = conv.bias.detach()[:, None]  # [C', 1]
        self.overlap = self.kernel - self.stride
        self.right = module.trims()[1]
        self.to_trim = self.overlap - self.right  # left padding still to drop from the start of the output
        self.tail: torch.Tensor | None = None  # [B, C', overlap] partial sums, bias not added

    def step(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 0:
            return _empty(x, self.out_channels)
        y = self._transpose(x)  # [B, C', (T - 1) * s + k]
        if self.tail is not None:
            y[..., : self.overlap] += self.tail
        done = x.shape[-1] * self.stride
        self.tail = y[..., done:]
        return self._trim(y[..., :done] + self.bias)

    def _transpose(self, x: torch.Tensor) -> torch.Tensor:
        """`F.conv_transpose1d(x, weight, stride=s)` as a matmul and an overlap-add (`fold`): on a few frames
        torch's own picks its slow native kernel (oneDNN only serves it for long inputs)."""
        columns = self.columns @ x  # [B, C' * k, T]
        length = (x.shape[-1] - 1) * self.stride + self.kernel
        y = F.fold(columns, (1, length), (1, self.kernel), stride=(1, self.stride))  # [B, C', 1, length]
        return y[:, :, 0]

    def flush(self, like: torch.Tensor) -> torch.Tensor:
        tail, self.tail = self.tail, None
        if tail is None:
            return _empty(like, self.out_channels)
        return self._trim(tail[..., : self.overlap - self.right] + self.bias)

    def _trim(self, y: torch.Tensor) -> torch.Tensor:
        cut = min(self.to_trim, y.shape[-1])
        self.to_trim -= cut
        return y[..., cut:]


class _Lstm:
    """`SeanetLstm` with its (h, c) carried from one step to the next; the skip adds the input.

    Written out per time step (gates i, f, g, o as torch orders them): torch's LSTM repacks its weights on every
    call, which costs more than a chunk's few frames."""

    def __init__(self, module: SeanetLstm) -> None:
        lstm = module.lstm
        self.layers = [
            (
                getattr(lstm, f"weight_ih_l{i}").detach().t().contiguous(),  # [C, 4H]
                getattr(lstm, f"weight_hh_l{i}").detach().t().contiguous(),  # [H, 4H]
                (getattr(lstm, f"bias_ih_l{i}") + getattr(lstm, f"bias_hh_l{i}")).detach(),  # [4H]
            )
            for i in range(lstm.num_layers)
        ]
        self.state: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def step(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 0:
            return x
        seq = x.permute(2, 0, 1)  # [T, B, C]
        out, state = seq, []
        for index, (w_ih, w_hh, bias) in enumerate(self.layers):
            h, c = self.state[index] if self.state else (seq.new_zeros(seq.shape[1], w_hh.shape[0]),) * 2
            gates = torch.matmul(out, w_ih) + bias  # [T, B, 4H]: the input's part, all steps at once
            steps = []
            for gate in gates:
                i, f, g, o = torch.addmm(gate, h, w_hh).chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                steps.append(h)
            out = torch.stack(steps)  # [T, B, H]
            state.append((h, c))
        self.state = state
        return (out + seq).permute(1, 2, 0)

    def flush(self, like: torch.Tensor) -> torch.Tensor:
        return like[..., :0]


class _Sequence:
    """Layers one after another; `flush` passes each layer's remainder through the layers after it."""

    def __init__(self, layers: list) -> None:
        self.layers = layers

    def step(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer.step(x)
        return x

    def flush(self, like: torch.Tensor) -> torch.Tensor:
        x = like[..., :0]
        for layer in self.layers:
            x = torch.cat([layer.step(x), layer.flush(x)], dim=-1)
        return x


class _Resnet:
    """`SeanetResnetBlock`: shortcut(x) + block(x), the shortcut's samples waiting for the block's."""

    def __init__(self, module: SeanetResnetBlock) -> None:
        self.block = _Sequence([_layer(m) for m in module.block])
        shortcut = module.shortcut
        self.shortcut = _Pointwise(shortcut) if isinstance(shortcut, nn.Identity) else _layer(shortcut)
        self.pending: torch.Tensor | None = None

    def step(self, x: torch.Tensor) -> torch.Tensor:
        return self._add(self.shortcut.step(x), self.block.step(x))

    def flush(self, like: torch.Tensor) -> torch.Tensor:
        return self._add(self.shortcut.flush(like), self.block.flush(like))

    def _add(self, skip: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        pending = skip if self.pending is None else torch.cat([self.pending, skip], dim=-1)
        n = y.shape[-1]
        self.pending = pending[..., n:]
        return pending[..., :n] + y


def _layer(module: nn.Module):
    if isinstance(module, nn.ELU):
        return _Pointwise(module)
    for kind, wrapper in (
        (SeanetConv1d, _Conv),
        (SeanetConvTranspose1d, _ConvTranspose),
        (SeanetLstm, _Lstm),
        (SeanetResnetBlock, _Resnet),
    ):
        if isinstance(module, kind):
            return wrapper(module)
    raise NotStreamable(f"a {type(module).__name__} layer")


class StreamingDecoder:
    """Decodes a take's codes a few frames at a time; `step` + ... + `flush` joined = `codec.decode(all codes)`."""

    def __init__(self, codec) -> None:
        from core.codec.compression import EncodecCompressionModel, InterleavedStereo

        if isinstance(codec, InterleavedStereo):
            self.channels = [StreamingDecoder(codec.mono), StreamingDecoder(codec.mono)]
        elif isinstance(codec, EncodecCompressionModel):
            self.channels = None
            self.codec, self.layers = codec, _Sequence([_layer(m) for m in codec.model.decoder.layers])
            self.like: torch.Tensor | None = None
        else:
            raise NotStreamable(f"a {type(codec).__name__} codec")
        self.split = codec.split if self.channels is not None else None

    @torch.inference_mode()
    def step(self, codes: torch.Tensor) -> torch.Tensor:  # [B, K, n] -> [B, C, m]
        if self.channels is not None:
            left, right = self.split(codes)
            return torch.cat([self.channels[0].step(left), self.channels[1].step(right)], dim=1)
        if codes.shape[-1] == 0:
            return self._nothing()
        latent = self.codec.decode_latent(codes)  # [B, D, n]: each frame's codebook vectors, summed
        self.like = latent[..., :0]
        return self.layers.step(latent)

    @torch.inference_mode()
    def flush(self) -> torch.Tensor:  # [B, C, rest]
        if self.channels is not None:
            return torch.cat([self.channels[0].flush(), self.channels[1].flush()], dim=1)
        return self._nothing() if self.like is None else self.layers.flush(self.like)

    def _nothing(self) -> torch.Tensor:
        return torch.zeros(1, self.codec.channels, 0)

"""The audio tokenizer: audiocraft's EnCodec (waveform <-> RVQ codes) behind one interface, loaded safely.

`load_compression_model(path)` reads a release `compression_state_dict.bin` in either form audiocraft
writes: the full export (`{'best_state', 'xp.cfg', ...}`, as in the AudioGen / MAGNeT repos) or the short
form `{'pretrained': 'facebook/encodec_32khz'}` (MusicGen repos), which names a Hugging Face EnCodec on the
hub. Both become an `EncodecCompressionModel` around our own `core.codec.seanet.Encodec` (no transformers).
`wrap_for_lm(codec, lm_cfg)` then applies what the LM's own config asks for, as audiocraft's
`get_wrapped_compression_model` does: stereo interleaving (`InterleavedStereo`) and `compression_model_n_q`.

Shapes: `encode(wav [B, C, T]) -> codes [B, K, F]` (int64, F = ceil(T / hop)), `decode(codes) ->
wav [B, C, F * hop]`, `decode_latent(codes) -> [B, D, F]`. encode/decode run under `torch.inference_mode`,
so they return inference tensors: `.clone()` one before editing it in place outside inference mode.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from core.codec.encodec import build_from_export, load_pretrained
from core.codec.seanet import Encodec
from core.errors import CheckpointError, InvalidParameterError
from core.models.checkpoint import load_weights_file, parse_xp_cfg
from core.models.hub import CODEC_DIR, bundled

COMPRESSION_FILE = "compression_state_dict.bin"


class CompressionModel(nn.Module):
    """What the language models need from an audio tokenizer (audiocraft's `CompressionModel` API)."""

    sample_rate: int
    channels: int
    frame_rate: float  # code frames per second
    hop_length: int  # samples per code frame
    cardinality: int  # codes per codebook

    @property
    def num_codebooks(self) -> int:
        raise NotImplementedError

    @property
    def total_codebooks(self) -> int:
        raise NotImplementedError

    def set_num_codebooks(self, n: int) -> None:
        raise NotImplementedError

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode_latent(self, codes: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class EncodecCompressionModel(CompressionModel):
    """A (mono or multichannel) EnCodec using its first `num_codebooks` RVQ codebooks."""

    def __init__(self, encodec: Encodec, num_codebooks: int):
        super().__init__()
        self.model = encodec
        config = encodec.config
        self.sample_rate = int(config.sampling_rate)
        self.channels = int(config.audio_channels)
        self.hop_length = math.prod(config.upsampling_ratios)
        self.frame_rate = self.sample_rate / self.hop_length
        self.cardinality = int(config.codebook_size)
        self._num_codebooks = 0
        self.set_num_codebooks(num_codebooks)

    @property
    def num_codebooks(self) -> int:
        return self._num_codebooks

    @property
    def total_codebooks(self) -> int:
        return len(self.model.quantizer.layers)

    def set_num_codebooks(self, n: int) -> None:
        """Use the first `n` RVQ codebooks (`compression_model_n_q` in an LM config)."""
        if not 1 <= n <= self.total_codebooks:
            raise CheckpointError(f"This codec has {self.total_codebooks} codebooks; {n} were asked for.")
        self._num_codebooks = n

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:  # [B, C, T] -> [B, K, F]
        return self.quantize(self.encode_latent(wav))

    @torch.inference_mode()
    def encode_latent(self, wav: torch.Tensor) -> torch.Tensor:  # [B, C, T] -> [B, D, F]
        """The SEANet encoder output, before quantisation."""
        if wav.dim() != 3 or wav.shape[1] != self.channels or wav.shape[-1] == 0:
            raise InvalidParameterError(
                f"The codec expects audio shaped [batch, {self.channels} channel(s), samples]; got {list(wav.shape)}."
            )
        embed = self._embed(0)
        return self.model.encoder(wav.to(device=embed.device, dtype=embed.dtype))

    @torch.inference_mode()
    def quantize(self, latent: torch.Tensor) -> torch.Tensor:  # [B, D, F] -> [B, K, F]
        """Residual vector quantisation with the active codebooks (audiocraft's RVQ loop)."""
        residual = latent
        codes = []
        for layer in self.model.quantizer.layers[: self.num_codebooks]:
            indices = layer.encode(residual)  # [B, F]
            residual = residual - layer.decode(indices)
            codes.append(indices)
        return torch.stack(codes, dim=1)

    @torch.inference_mode()
    def decode_latent(self, codes: torch.Tensor) -> torch.Tensor:  # [B, K, F] -> [B, D, F]
        codes = self._check_codes(codes)
        return self.model.quantizer.decode(codes.transpose(0, 1))  # sum of the K codebook vectors

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:  # [B, K, F] -> [B, C, F * hop]
        return self.model.decoder(self.decode_latent(codes))

    def _embed(self, index: int) -> torch.Tensor:
        return self.model.quantizer.layers[index].codebook.embed  # [card, D]

    def _check_codes(self, codes: torch.Tensor) -> torch.Tensor:
        if codes.dim() != 3 or not 1 <= codes.shape[1] <= self.total_codebooks or codes.shape[-1] == 0:
            raise InvalidParameterError(
                f"Codes must be shaped [batch, codebooks <= {self.total_codebooks}, frames]; got {list(codes.shape)}."
            )
        if codes.dtype.is_floating_point or codes.min() < 0 or codes.max() >= self.cardinality:
            raise InvalidParameterError(f"Codes must be integers in [0, {self.cardinality}).")
        return codes.to(device=self._embed(0).device, dtype=torch.long)


class InterleavedStereo(CompressionModel):
    """Stereo from a mono codec: L and R encoded apart, codebooks interleaved [L0, R0, L1, R1, ...].

    audiocraft's `InterleaveStereoCompressionModel(per_timestep=False)`, used by the MusicGen stereo models.
    Example with a 4-codebook mono codec: `encode` gives 8 codebooks, `codes[:, 0::2]` are the left
    channel's 4 and `codes[:, 1::2]` the right's; `decode` returns `[B, 2, F * hop]`.
    """

    channels = 2

    def __init__(self, mono: CompressionModel):
        super().__init__()
        if mono.channels != 1:
            raise CheckpointError("Stereo interleaving needs a mono codec; this one has several channels.")
        self.mono = mono
        self.sample_rate, self.frame_rate = mono.sample_rate, mono.frame_rate
        self.hop_length, self.cardinality = mono.hop_length, mono.cardinality

    @property
    def num_codebooks(self) -> int:
        return 2 * self.mono.num_codebooks

    @property
    def total_codebooks(self) -> int:
        return 2 * self.mono.total_codebooks

    def set_num_codebooks(self, n: int) -> None:
        """Codebooks per channel, before interleaving (as audiocraft)."""
        self.mono.set_num_codebooks(n)

    @torch.inference_mode()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:  # [B, 2, T] -> [B, 2K, F]
        if wav.dim() != 3 or wav.shape[1] != 2:
            raise InvalidParameterError(
                f"The stereo codec expects audio shaped [batch, 2, samples]; got {list(wav.shape)}."
            )
        left, right = self.mono.encode(wav[:, :1]), self.mono.encode(wav[:, 1:])  # [B, K, F] each
        both = torch.stack([left, right], dim=2)  # [B, K, 2, F]
        return both.flatten(1, 2)  # [B, 2K, F]: index 2k + c

    @staticmethod
    def split(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Left and right codes `[B, K, F]` of interleaved codes `[B, 2K, F]`."""
        return codes[:, 0::2], codes[:, 1::2]

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:  # [B, 2K, F] -> [B, 2, F * hop]
        if codes.dim() != 3 or codes.shape[1] != self.num_codebooks:
            raise InvalidParameterError(
                f"Stereo codes must be shaped [batch, {self.num_codebooks}, frames]; got {list(codes.shape)}."
            )
        left, right = self.split(codes)
        return torch.cat([self.mono.decode(left), self.mono.decode(right)], dim=1)

    def decode_latent(self, codes: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Interleaved stereo codes have no single latent (as in audiocraft).")


def wrap_for_lm(codec: CompressionModel, lm_cfg: DictConfig | Mapping[str, Any] | str) -> CompressionModel:
    """The codec as the LM whose `xp.cfg` is `lm_cfg` sees it (audiocraft `get_wrapped_compression_model`)."""
    cfg = lm_cfg if isinstance(lm_cfg, DictConfig) else OmegaConf.create(lm_cfg)
    try:
        interleave = OmegaConf.select(cfg, "interleave_stereo_codebooks.use", default=False)
        per_timestep = OmegaConf.select(cfg, "interleave_stereo_codebooks.per_timestep", default=False)
        n_q = OmegaConf.select(cfg, "compression_model_n_q", default=None)
    except OmegaConfBaseException as exc:
        raise CheckpointError(f"The model config cannot be read ({exc}).") from exc
    if interleave:
        if per_timestep:
            raise CheckpointError("Per-timestep stereo interleaving is not supported.")
        codec = InterleavedStereo(codec)
    if n_q is not None:
        codec.set_num_codebooks(int(n_q))
    return codec


def load_compression_model(
    path_or_state: Path | str | Mapping[str, Any],
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> CompressionModel:
    """The EnCodec of a `compression_state_dict.bin` (its path, its folder, or its already loaded dict)."""
    own_codec = None  # a model folder's own copy of the hub codec a short-form file names (core.models.hub)
    if isinstance(path_or_state, Mapping):
        package, source = path_or_state, "the compression checkpoint"
    else:
        path = Path(path_or_state)
        path = path / COMPRESSION_FILE if path.is_dir() else path
        package, source, own_codec = load_weights_file(path), str(path), bundled(path.parent, CODEC_DIR)
    if isinstance(package.get("pretrained"), str):
        encodec, n_q = load_pretrained(str(own_codec or package["pretrained"]), source)
    elif isinstance(package.get("best_state"), Mapping) and "xp.cfg" in package:
        encodec, n_q = build_from_export(package["best_state"], parse_xp_cfg(package, source), source)
    else:
        raise CheckpointError(
            f"{source} is not an audiocraft compression checkpoint "
            "(it has neither a 'pretrained' name nor 'best_state' + 'xp.cfg')."
        )
    return EncodecCompressionModel(encodec, n_q).to(device=device, dtype=dtype).eval()

"""Chroma of a melody, exactly as audiocraft's ChromaExtractor computes it (without librosa or torchaudio).

Pipeline (audiocraft `modules/chroma.py`), for a waveform [B, T] at `sample_rate`:

1. inputs shorter than `n_fft` are zero-padded to `n_fft` (half left, half + odd sample right);
2. power spectrogram as torchaudio 2.1's `Spectrogram(n_fft, win_length=n_fft, hop_length=n_fft // 4,
   power=2, center=True, pad_mode='reflect', normalized=True)`: `torch.stft` with a periodic Hann window,
   the complex STFT divided by `sqrt(sum(window ** 2))`, then `|.| ** 2`;
3. projection on `librosa.filters.chroma(sr, n_fft, tuning=0, n_chroma)` ([n_chroma, n_fft // 2 + 1]);
4. `F.normalize(p=inf, dim=chroma, eps=1e-6)` per frame, then, with `argmax`, a one-hot of the loudest bin.

Frames: `1 + max(T, n_fft) // hop` (centred STFT). MusicGen-melody: 32 kHz, n_fft 2**14, hop 4096, so 2 s of
melody -> 16 frames and the 30 s training segment -> 235 frames.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

NORM_EPS = 1e-6


def chroma_filterbank(
    sample_rate: int,
    n_fft: int,
    n_chroma: int = 12,
    tuning: float = 0.0,
    ctroct: float = 5.0,
    octwidth: float | None = 2.0,
    base_c: bool = True,
) -> np.ndarray:
    """`librosa.filters.chroma` (librosa 0.11, norm=2): Gaussian bumps per chroma bin over the FFT bins.

    Returns float32 [n_chroma, n_fft // 2 + 1]. Computed in float64 like librosa, cast at the end.
    """
    frequencies = np.linspace(0, sample_rate, n_fft, endpoint=False)[1:]  # no DC bin
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (a440 / 16))  # hz_to_octs * n_chroma
    # The 0 Hz bin is put 1.5 octaves below bin 1 (half a turn of the chroma circle, broad).
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))  # [n_fft]
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))  # [n_fft]

    distance = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T  # [n_chroma, n_fft]
    half = np.round(float(n_chroma) / 2)
    distance = np.remainder(distance + half + 10 * n_chroma, n_chroma) - half  # in [-half, half)
    weights = np.exp(-0.5 * (2 * distance / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    weights = weights / _column_l2(weights)
    if octwidth is not None:
        dominance = np.exp(-0.5 * (((frqbins / n_chroma - ctroct) / octwidth) ** 2))  # [n_fft]
        weights *= np.tile(dominance, (n_chroma, 1))
    if base_c:
        weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)
    return np.ascontiguousarray(weights[:, : int(1 + n_fft / 2)], dtype=np.float32)


def _column_l2(weights: np.ndarray) -> np.ndarray:
    """librosa.util.normalize(norm=2, axis=0) denominators (columns below the smallest float stay as is)."""
    length = np.sum(np.abs(weights) ** 2, axis=0, keepdims=True) ** 0.5
    length[length < np.finfo(weights.dtype).tiny] = 1.0
    return length


def power_spectrogram(wav: torch.Tensor, window: torch.Tensor, hop: int) -> torch.Tensor:
    """torchaudio 2.1 `Spectrogram(power=2, center=True, pad_mode='reflect', normalized=True)`.

    wav [..., T] -> [..., n_fft // 2 + 1, 1 + T // hop], with n_fft = len(window).
    """
    n_fft = window.shape[0]
    leading = wav.shape[:-1]
    flat = wav.reshape(-1, wav.shape[-1])  # [N, T]
    spec = torch.stft(
        flat,
        n_fft=n_fft,
        hop_length=hop,
        win_length=n_fft,
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )  # [N, F, frames]
    spec = spec.reshape(leading + spec.shape[-2:])
    spec = spec / window.pow(2.0).sum().sqrt()  # normalized=True means "window" normalisation
    return spec.abs().pow(2.0)


class ChromaExtractor:
    """audiocraft's ChromaExtractor: waveform [B, T] or [B, 1, T] -> chroma [B, frames, n_chroma]."""

    def __init__(
        self,
        sample_rate: int,
        n_chroma: int = 12,
        radix2_exp: int = 12,
        argmax: bool = False,
        device: torch.device | str = "cpu",
    ) -> None:
        self.sample_rate = sample_rate
        self.n_chroma = n_chroma
        self.n_fft = 2**radix2_exp
        self.hop = self.n_fft // 4
        self.argmax = argmax
        self.window = torch.hann_window(self.n_fft, device=device)  # periodic, float32
        fbanks = chroma_filterbank(sample_rate, self.n_fft, n_chroma=n_chroma, tuning=0.0)
        self.fbanks = torch.from_numpy(fbanks).to(device)  # [n_chroma, F]

    @torch.no_grad()
    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        if wav.dim() == 3:
            wav = wav.squeeze(1)  # [B, 1, T] -> [B, T] (mono conditioning)
        wav = _pad_to(wav.to(self.window), self.n_fft)  # [B, T']
        spec = power_spectrogram(wav, self.window, self.hop)  # [B, F, frames]
        raw = torch.einsum("cf,bft->bct", self.fbanks, spec)  # [B, n_chroma, frames]
        chroma = F.normalize(raw, p=math.inf, dim=-2, eps=NORM_EPS).transpose(1, 2)  # [B, frames, n_chroma]
        if self.argmax:
            chroma = F.one_hot(chroma.argmax(-1), self.n_chroma).to(chroma.dtype)
        return chroma.contiguous()


def _pad_to(wav: torch.Tensor, length: int) -> torch.Tensor:
    """Zero-pad [B, T] shorter than `length` as audiocraft does: pad // 2 left, the rest right."""
    missing = length - wav.shape[-1]
    if missing <= 0:
        return wav
    return F.pad(wav, (missing // 2, missing - missing // 2))


def match_length(chroma: torch.Tensor, length: int) -> torch.Tensor:
    """ChromaStemConditioner's `match_len_on_eval`: tile [B, T, C] in time, then cut to `length` frames."""
    frames = chroma.shape[1]
    if frames < length:
        chroma = chroma.repeat(1, math.ceil(length / frames), 1)
    return chroma[:, :length]


def chroma_length(segment_duration: float, sample_rate: int, radix2_exp: int) -> int:
    """Frames of the training segment (audiocraft `_get_chroma_len`): 30 s at 32 kHz, n_fft 2**14 -> 235."""
    n_fft = 2**radix2_exp
    return 1 + max(int(sample_rate * segment_duration), n_fft) // (n_fft // 4)


def null_chroma(extractor: ChromaExtractor, batch: int, length: int) -> torch.Tensor:
    """Chroma of the null melody, a zero waveform, tiled to `length`: [batch, length, n_chroma].

    With `argmax` this is a one-hot at bin 0 (C) in every frame, not zeros.
    """
    silent = torch.zeros(1, 1, 1, device=extractor.window.device)  # audiocraft's null WavCondition
    return match_length(extractor(silent), length).expand(batch, -1, -1)


def cfg_chroma(extractor: ChromaExtractor, chroma: torch.Tensor | None, length: int, batch: int = 1) -> torch.Tensor:
    """Chroma for a classifier-free-guidance batch: [conditional rows; null rows] -> [2B, length, C].

    `chroma` [B, T, C] is the melody chroma; None means text only (`batch` null rows are conditional too).
    """
    if chroma is not None:
        batch = chroma.shape[0]
    null = null_chroma(extractor, batch, length)
    real = null if chroma is None else match_length(chroma, length)
    return torch.cat([real, null], dim=0).contiguous()

"""Level measurement and normalisation: sample peak, ITU-R BS.1770 loudness, and audiocraft's `audio_write`.

Two BS.1770 meters live here on purpose:

* `integrated_lufs` is pyloudnorm's meter, used for the "loudness" export mode.
* `audiocraft_lkfs` re-implements torchaudio 2.1's `F.loudness`, which audiocraft's `normalize_loudness`
  calls, so that the "audiocraft" mode writes what `audio_write(strategy='loudness',
  loudness_compressor=True, loudness_headroom_db=14)` hands to ffmpeg. Its quirks are kept: biquad
  coefficients computed in float32 with torchaudio's formulas (treble shelf +4 dB at 1500 Hz, Q=1/sqrt2; high
  pass 38 Hz, Q=0.5), each filter's output clamped to [-1, 1] (`lfilter(clamp=True)`), 400 ms blocks with
  75 % overlap, the last partial block dropped, -70 LKFS absolute and -10 LU relative gates.
"""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
from scipy.signal import lfilter

from core.errors import InvalidParameterError

GATE_SECONDS = 0.4
_CHANNEL_WEIGHTS = np.array([1.0, 1.0, 1.0, 1.41, 1.41])  # L, R, C, Ls, Rs


def peak_dbfs(wav: np.ndarray) -> float:
    """Sample peak of `wav` [C, N] in dBFS (-inf for silence)."""
    peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    return 20.0 * math.log10(peak) if peak > 0.0 else -math.inf


def _check_length(wav: np.ndarray, sample_rate: int) -> None:
    if wav.shape[-1] < round(GATE_SECONDS * sample_rate):
        seconds = wav.shape[-1] / sample_rate
        raise InvalidParameterError(
            f"Loudness needs at least {GATE_SECONDS} s of audio to measure; this sound lasts {seconds:.2f} s."
        )


def integrated_lufs(wav: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of `wav` [C, N] in LUFS (pyloudnorm, BS.1770-4); -inf for silence."""
    _check_length(wav, sample_rate)
    data = np.asarray(wav, dtype=np.float64).T  # [N, C]
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(data[:, 0] if data.shape[1] == 1 else data))


def peak_gain(wav: np.ndarray, target_dbfs: float) -> float:
    """Linear gain that puts the sample peak at `target_dbfs` (1.0 for silence)."""
    peak = peak_dbfs(wav)
    return 10.0 ** ((target_dbfs - peak) / 20.0) if math.isfinite(peak) else 1.0


def loudness_gain(wav: np.ndarray, sample_rate: int, target_lufs: float) -> float:
    """Linear gain that puts the integrated loudness at `target_lufs` (1.0 when nothing passes the gates)."""
    lufs = integrated_lufs(wav, sample_rate)
    return 10.0 ** ((target_lufs - lufs) / 20.0) if math.isfinite(lufs) else 1.0


# --- torchaudio 2.1 `F.loudness`, as used by audiocraft ---


def _treble_coeffs(sample_rate: int, gain_db: float, freq: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    f32 = np.float32
    w0 = f32(2 * math.pi) * f32(freq) / f32(sample_rate)
    alpha = np.sin(w0) / f32(2) / f32(q)
    a = np.exp(f32(gain_db) / f32(40) * f32(math.log(10)))
    t1, t2, t3 = f32(2) * np.sqrt(a) * alpha, (a - f32(1)) * np.cos(w0), (a + f32(1)) * np.cos(w0)
    b = [a * ((a + 1) + t2 + t1), f32(-2) * a * ((a - 1) + t3), a * ((a + 1) + t2 - t1)]
    den = [(a + 1) - t2 + t1, f32(2) * ((a - 1) - t3), (a + 1) - t2 - t1]
    return np.array(b, dtype=f32), np.array(den, dtype=f32)


def _highpass_coeffs(sample_rate: int, freq: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    f32 = np.float32
    w0 = f32(2 * math.pi) * f32(freq) / f32(sample_rate)
    alpha = np.sin(w0) / f32(2) / f32(q)
    b0 = (f32(1) + np.cos(w0)) / f32(2)
    b = [b0, f32(-1) - np.cos(w0), b0]
    den = [f32(1) + alpha, f32(-2) * np.cos(w0), f32(1) - alpha]
    return np.array(b, dtype=f32), np.array(den, dtype=f32)


def _biquad_clamped(x: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """torchaudio `biquad` -> `lfilter(..., clamp=True)`: normalise by a0, filter, clamp to [-1, 1]."""
    b, a = (b / a[0]).astype(np.float32), (a / a[0]).astype(np.float32)
    return np.clip(lfilter(b.astype(np.float64), a.astype(np.float64), x, axis=-1), -1.0, 1.0)


def audiocraft_lkfs(wav: np.ndarray, sample_rate: int) -> float:
    """torchaudio 2.1 `loudness(wav, sample_rate)` of `wav` [C, N] in LKFS (NaN when no block passes)."""
    _check_length(wav, sample_rate)
    if wav.shape[0] > len(_CHANNEL_WEIGHTS):
        raise InvalidParameterError("Loudness is defined for up to 5 channels.")
    x = np.asarray(wav, dtype=np.float32).astype(np.float64)  # [C, N]
    x = _biquad_clamped(x, *_treble_coeffs(sample_rate, 4.0, 1500.0, 1 / math.sqrt(2)))
    x = _biquad_clamped(x, *_highpass_coeffs(sample_rate, 38.0, 0.5))
    gate = int(round(GATE_SECONDS * sample_rate))
    step = int(round(gate * 0.25))
    blocks = np.lib.stride_tricks.sliding_window_view(np.square(x), gate, axis=-1)[:, ::step]  # [C, B, gate]
    energy = blocks.mean(axis=-1)  # [C, B]
    weights = _CHANNEL_WEIGHTS[: x.shape[0], None]  # [C, 1]
    with np.errstate(divide="ignore"):
        block_lkfs = -0.691 + 10 * np.log10(np.sum(weights * energy, axis=0))  # [B]
    kept = block_lkfs > -70.0
    if not kept.any():
        return math.nan
    relative = _gated_lkfs(energy, weights, kept) - 10.0
    return _gated_lkfs(energy, weights, kept & (block_lkfs > relative))


def _gated_lkfs(energy: np.ndarray, weights: np.ndarray, kept: np.ndarray) -> float:
    mean_energy = energy[:, kept].mean(axis=-1)  # [C]
    return float(-0.691 + 10 * np.log10(np.sum(weights[:, 0] * mean_energy)))


def audiocraft_normalize(
    wav: np.ndarray,
    sample_rate: int,
    headroom_db: float = 14.0,
    compressor: bool = True,
    energy_floor: float = 2e-3,
) -> np.ndarray:
    """audiocraft `normalize_audio(strategy='loudness')`: gain to -headroom_db LKFS, tanh, clamp to [-1, 1].

    Audio whose RMS is under `energy_floor` is returned unchanged, as audiocraft does (before clamping).
    """
    wav = np.asarray(wav, dtype=np.float32)  # [C, N]
    energy = math.sqrt(float(np.mean(np.square(wav, dtype=np.float32))))
    if energy >= energy_floor:
        lkfs = audiocraft_lkfs(wav, sample_rate)
        if math.isfinite(lkfs):
            gain = np.float32(10.0 ** ((-headroom_db - lkfs) / 20.0))
            wav = wav * gain
            if compressor:
                wav = np.tanh(wav)
    return np.clip(wav, -1.0, 1.0)

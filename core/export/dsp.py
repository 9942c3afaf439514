"""Sample-level export steps: silence trim, resampling, channel layout, fades, level, PCM quantisation.

Every step is linear in the samples except the "audiocraft" level mode (tanh), so a scene's layers can go
through the same steps with the same gains and still sum to the mix.
"""

from __future__ import annotations

import math

import numpy as np
import soxr

from core.errors import InvalidParameterError
from core.export.loudness import audiocraft_normalize, loudness_gain, peak_dbfs, peak_gain
from core.export.settings import ExportSettings
from core.takes.audio_io import convert_channels


def silence_bounds(wav: np.ndarray, threshold_dbfs: float) -> tuple[int, int] | None:
    """First and one-past-last sample above `threshold_dbfs` in any channel; None if no sample is."""
    loud = np.flatnonzero(np.max(np.abs(wav), axis=0) > 10.0 ** (threshold_dbfs / 20.0))  # [N] -> indices
    if loud.size == 0:
        return None
    return int(loud[0]), int(loud[-1]) + 1


def resample(wav: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """`wav` [C, N] from `rate_in` to `rate_out` Hz with soxr, very high quality."""
    if rate_in == rate_out:
        return np.asarray(wav, dtype=np.float32)
    out = soxr.resample(np.ascontiguousarray(wav.T, dtype=np.float32), rate_in, rate_out, quality="VHQ")
    return np.ascontiguousarray(out.reshape(out.shape[0], -1).T)  # [C, N']


def fade_curve(frames: int, sample_rate: int, fade_in: float, fade_out: float) -> np.ndarray | None:
    """Raised-cosine fade gains [N] from silence and to silence (None when there is no fade)."""
    n_in, n_out = min(frames, round(fade_in * sample_rate)), min(frames, round(fade_out * sample_rate))
    if n_in == 0 and n_out == 0:
        return None
    gains = np.ones(frames, dtype=np.float64)
    if n_in:
        gains[:n_in] *= _half_cosine(n_in)  # first sample silent
    if n_out:
        gains[frames - n_out :] *= _half_cosine(n_out)[::-1]  # last sample silent
    return gains


def _half_cosine(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)  # [n]: 0 ... almost 1


def linear_level_gain(wav: np.ndarray, sample_rate: int, settings: ExportSettings) -> float:
    """The gain of the "peak" or "loudness" level mode for `wav` (1.0 for "none")."""
    if settings.level == "peak":
        return peak_gain(wav, settings.level_target)
    if settings.level == "loudness":
        return loudness_gain(wav, sample_rate, settings.level_target)
    if settings.level == "audiocraft":
        raise InvalidParameterError("audiocraft loudness is not a plain gain (it soft-clips with tanh).")
    return 1.0


def apply_level(wav: np.ndarray, sample_rate: int, settings: ExportSettings) -> tuple[np.ndarray, float | None]:
    """`wav` after the level mode, and the gain in dB (None for the non-linear audiocraft mode)."""
    if settings.level == "audiocraft":
        return audiocraft_normalize(wav, sample_rate, headroom_db=-settings.level_target), None
    gain = linear_level_gain(wav, sample_rate, settings)
    return (wav * np.float32(gain)).astype(np.float32), 20.0 * math.log10(gain)


def prepare(wav: np.ndarray, sample_rate: int, settings: ExportSettings) -> tuple[np.ndarray, int, dict]:
    """Run `wav` [C, N] through trim, resample, channels, fades and level; return (wav, rate, report)."""
    report: dict = {"notes": []}
    if settings.trim_silence is not None:
        bounds = silence_bounds(wav, settings.trim_silence)
        if bounds is None:
            report["notes"].append(f"Everything is below {settings.trim_silence:g} dBFS; nothing was trimmed.")
        else:
            wav = wav[:, bounds[0] : bounds[1]]
            report["trimmed_seconds"] = [bounds[0] / sample_rate, bounds[1] / sample_rate]
    rate = settings.sample_rate or sample_rate
    wav = convert_channels(resample(wav, sample_rate, rate), settings.channels)
    curve = fade_curve(wav.shape[-1], rate, settings.fade_in, settings.fade_out)
    if curve is not None:
        wav = (wav * curve).astype(np.float32)
    wav, report["gain_db"] = apply_level(wav, rate, settings)
    return np.ascontiguousarray(wav, dtype=np.float32), rate, report


def clipping_note(wav: np.ndarray, settings: ExportSettings) -> str | None:
    """A sentence when the samples exceed full scale and the format will clip them."""
    peak = peak_dbfs(wav)
    fmt = settings.audio_format
    if peak <= 0.0 or (fmt.bits is None and not fmt.lossy):
        return None
    return f"Peaks reach {peak:+.1f} dBFS and are clipped in {fmt.label}."


def quantise(wav: np.ndarray, bits: int) -> np.ndarray:
    """Round (no dither) `wav` [C, N] to signed `bits`-bit integers within the PCM range; int64 [C, N]."""
    scale = float(1 << (bits - 1))
    q = np.rint(np.asarray(wav, dtype=np.float64) * scale)
    return np.clip(q, -scale, scale - 1).astype(np.int64)


def pcm_frames(q: np.ndarray, bits: int) -> np.ndarray:
    """Integers [C, N] as the [N, C] array soundfile writes bit-exactly (int16, or int32 left-aligned)."""
    if bits == 16:
        return np.ascontiguousarray(q.T, dtype=np.int16)
    return np.ascontiguousarray(q.T.astype(np.int32) << (32 - bits))

"""Exporting a loop take: the same DSP as any take, except what would break the loop.

A loop must stay a loop in the exported file: silence trim and fades are skipped (with a note), resampling is
circular (the loop is resampled as three copies in a row and the middle one kept, so the filter sees the wrap
as the continuous signal it is), and a music loop is cut or padded to the exact bar length at the new rate,
round(seconds * rate) from the exact bar length in seconds the loop record carries (core.loops.meter computed
it), rounded once; at most a sample differs from the resampled length.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.export.dsp import apply_level, resample
from core.export.settings import ExportSettings
from core.takes.audio_io import convert_channels


def loop_record(extra: dict[str, Any]) -> dict[str, Any] | None:
    """The take's `loop` record, or None for an ordinary take."""
    record = extra.get("loop")
    return record if isinstance(record, dict) else None


def circular_resample(wav: np.ndarray, rate_in: int, rate_out: int, frames: int | None = None) -> np.ndarray:
    """`wav` [C, N] as one period of a periodic signal at `rate_out`: [C, frames] (default round(N * ratio))."""
    if rate_in == rate_out and (frames is None or frames == wav.shape[-1]):
        return np.asarray(wav, dtype=np.float32)
    n = wav.shape[-1]
    frames = int(round(n * rate_out / rate_in)) if frames is None else frames
    tiled = resample(np.concatenate([wav, wav, wav], axis=-1), rate_in, rate_out)  # [C, ~3 * frames]
    start = int(round(n * rate_out / rate_in))
    out = tiled[:, start : start + frames]
    if out.shape[-1] < frames:  # never more than a sample or two short
        out = np.concatenate([out, tiled[:, : frames - out.shape[-1]]], axis=-1)
    return np.ascontiguousarray(out, dtype=np.float32)


def target_frames(record: dict[str, Any], frames: int, rate_in: int, rate_out: int) -> int:
    """The loop's length at `rate_out`: exact bars for a music loop, else the resampled length."""
    if record.get("kind") == "music" and record.get("seconds"):
        return int(round(float(record["seconds"]) * rate_out))
    return int(round(frames * rate_out / rate_in))


def prepare_loop(
    wav: np.ndarray, sample_rate: int, settings: ExportSettings, record: dict[str, Any]
) -> tuple[np.ndarray, int, dict]:
    """Like core.export.dsp.prepare for a loop: (wav [C, N'], rate, report) with the loop kept intact."""
    report: dict = {"notes": []}
    steps = {"silence trim": settings.trim_silence is not None, "fade-in": settings.fade_in > 0,
             "fade-out": settings.fade_out > 0}  # fmt: skip
    skipped = [name for name, on in steps.items() if on]
    if skipped:
        report["notes"].append(f"This is a loop, so its length and seam were kept: no {', '.join(skipped)}.")
    rate = settings.sample_rate or sample_rate
    frames = target_frames(record, wav.shape[-1], sample_rate, rate)
    wav = convert_channels(circular_resample(wav, sample_rate, rate, frames), settings.channels)
    wav, report["gain_db"] = apply_level(wav, rate, settings)
    report["loop"] = {"frames": frames, **{k: record[k] for k in ("kind", "bpm", "bars", "meter") if k in record}}
    return np.ascontiguousarray(wav, dtype=np.float32), rate, report

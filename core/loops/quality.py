"""How audible a loop's seam is: the sample jump and the spectral flux where playback wraps, each against the
same measure inside the loop (1.0: the wrap is as smooth as the loop's typical moment; larger: a click/bump).

Both look at the loop played twice in a row, which is what a looping sampler plays:

- jump: |loop[N-1] - loop[0]| over the RMS of the loop's sample-to-sample steps (largest over channels; the
  RMS rather than the median, which is 0 for a loop with silence between its drum hits);
- flux: spectral flux (sum of the positive magnitude increases from one frame of a 1024-point STFT, hop 256,
  to the next) maxed over the frames whose window holds the wrap, over the median of that same windowed
  maximum inside the loop: everywhere for an ambience, or at the loop's own bar lines (`at`) for a music
  loop, whose wrap is a downbeat and so should be compared with its other downbeats, not with the silence
  between hits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.signal import stft

N_FFT = 1024
HOP = 256


def jump_ratio(loop: np.ndarray) -> float:
    """The wrap's sample jump relative to the RMS sample-to-sample step of the loop [C, N]."""
    loop = np.atleast_2d(np.asarray(loop, dtype=np.float64))
    ratios = []
    for channel in loop:
        typical = float(np.sqrt(np.mean(np.square(np.diff(channel)))))
        ratios.append(abs(channel[-1] - channel[0]) / max(typical, 1e-12))
    return float(max(ratios))


def _flux(mono: np.ndarray) -> np.ndarray:
    """[F] spectral flux from frame f-1 to frame f (frame f covers samples f*HOP .. f*HOP + N_FFT - 1)."""
    _, _, spec = stft(mono, nperseg=N_FFT, noverlap=N_FFT - HOP, boundary=None, padded=False)  # [bins, F]
    rise = np.maximum(0.0, np.diff(np.abs(spec), axis=1)).sum(axis=0)  # [F-1]
    return np.concatenate([[0.0], rise])


def _around(flux: np.ndarray, sample: int) -> float:
    """The largest flux of the frames whose window holds `sample`."""
    frames = [f for f in range(len(flux)) if f * HOP <= sample < f * HOP + N_FFT]
    return float(max(flux[f] for f in frames))


def flux_ratio(loop: np.ndarray, at: Sequence[int] | None = None) -> float:
    """Spectral flux across the wrap of `loop` [C, N] (mixed to mono) relative to the median of the same
    measure at the samples `at` inside the loop (default: every hop of the loop)."""
    mono = np.atleast_2d(np.asarray(loop, dtype=np.float64)).mean(axis=0)
    length = len(mono)
    if length < 4 * N_FFT:
        raise ValueError("the loop is too short to measure its spectral flux")
    flux = _flux(np.concatenate([mono, mono, mono]))  # the middle copy's edges are both wraps
    seam = _around(flux, 2 * length)
    points = list(at) if at is not None else list(range(N_FFT, length - N_FFT, HOP))
    reference = float(np.median([_around(flux, length + p) for p in points]))
    return seam / max(reference, 1e-12)


def bar_lines(length: int, bars: int) -> list[int]:
    """Sample positions of a `bars`-bar loop's inner bar lines (its inner beats of 4/4 when it has one bar)."""
    parts = bars if bars > 1 else 4
    return [int(round(k * length / parts)) for k in range(1, parts)]

"""How audible a loop's seam is: the sample jump and the spectral flux where playback wraps, each against the
same measure inside the loop (1.0: the seam is as smooth as the loop's typical moment; larger: a click/bump).

Both measures look at the loop played twice in a row, which is what a looping sampler plays:

- jump: |loop[N-1] - loop[0]| over the median |loop[i+1] - loop[i]| (the largest over channels);
- flux: spectral flux (sum of the positive magnitude increases between consecutive frames of a 1024-point
  STFT, hop 256) maxed over the frames whose window holds the seam, over the median of the same sliding maximum
  inside the loop.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import stft

N_FFT = 1024
HOP = 256


def jump_ratio(loop: np.ndarray) -> float:
    """The wrap's sample jump relative to the loop's median sample-to-sample step; `loop` [C, N]."""
    loop = np.atleast_2d(np.asarray(loop, dtype=np.float64))
    ratios = []
    for channel in loop:
        typical = float(np.median(np.abs(np.diff(channel))))
        ratios.append(abs(channel[-1] - channel[0]) / max(typical, 1e-12))
    return float(max(ratios))


def _flux(mono: np.ndarray) -> np.ndarray:
    """[F] spectral flux between frame f-1 and frame f (frame f starts at f * HOP)."""
    _, _, spec = stft(mono, nperseg=N_FFT, noverlap=N_FFT - HOP, boundary=None, padded=False)  # [bins, F]
    mag = np.abs(spec)
    rise = np.maximum(0.0, np.diff(mag, axis=1)).sum(axis=0)  # [F-1]
    return np.concatenate([[0.0], rise])


def flux_ratio(loop: np.ndarray) -> float:
    """Spectral flux across the wrap relative to the loop's median; `loop` [C, N] (mixed to mono)."""
    mono = np.atleast_2d(np.asarray(loop, dtype=np.float64)).mean(axis=0)
    length = len(mono)
    if length < 4 * N_FFT:
        raise ValueError("the loop is too short to measure its spectral flux")
    flux = _flux(np.concatenate([mono, mono]))  # [F]
    per = N_FFT // HOP  # frames whose window holds any one sample
    windowed = np.array([flux[max(0, f - per + 1) : f + 1].max() for f in range(len(flux))])
    seam_frames = [f for f in range(len(flux)) if f * HOP < length <= f * HOP + N_FFT - 1]
    seam = float(max(flux[f] for f in seam_frames) if seam_frames else 0.0)
    inside = [windowed[f] for f in range(per, len(flux)) if f * HOP + N_FFT <= length]  # first copy, seam-free
    return seam / max(float(np.median(inside)), 1e-12)

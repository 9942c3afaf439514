"""Seamless ambience loops: pick the loop's start and end where the sound matches itself best, then blend.

Rain, room tone or an engine hum has no beat to cut on, so the seam goes where the audio after the loop's end
(what the loop's head is blended with, core.loops.seam) is most like the loop's own head:

1. start candidates: `START_CANDIDATES` rising zero crossings of the mono mix spread over the first
   `START_REGION` of the sound; end candidates: every rising zero crossing that leaves a loop of at least
   `min_seconds` (default: half the sound) and the crossfade's worth of tail after it;
2. for each start, the normalised cross-correlation of its `MATCH_SECONDS` window with the window at every
   end candidate (FFT correlation over the whole end region at once), weighted by how close the two windows'
   levels are over `LEVEL_SECONDS` (correlation alone ignores a level step);
3. the best (start, end) pair is cut and its seam blended with an equal-power crossfade, so sample N-1 of the
   loop flows into sample 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import correlate

from core.cancel import CancelToken, Progress, check_cancel, report
from core.errors import InvalidParameterError
from core.loops.seam import blend_seam

START_REGION = 0.25
START_CANDIDATES = 24
MATCH_SECONDS = 0.05
LEVEL_SECONDS = 0.2
MIN_LOOP_SECONDS = 0.5


@dataclass(frozen=True)
class SeamlessLoop:
    """A seamless loop and where it was cut from the source (samples)."""

    wav: np.ndarray  # [C, L] float32
    start: int
    end: int
    crossfade: int  # samples blended at the seam
    match: float  # the chosen seam's score (1: the two windows are identical)


def rising_zero_crossings(mono: np.ndarray) -> np.ndarray:
    """Indices i with mono[i-1] < 0 <= mono[i] (the sample just after the crossing)."""
    return np.flatnonzero((mono[:-1] < 0) & (mono[1:] >= 0)) + 1


def _window_sums(values: np.ndarray, n: int) -> np.ndarray:
    """Sums of values[i:i+n] for every i (len(values) - n + 1 of them)."""
    total = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    return total[n:] - total[:-n]


def _scores(mono: np.ndarray, start: int, lo: int, hi: int, match: int, level: int) -> np.ndarray:
    """Score of every end e in [lo, hi] against `start`: correlation of the match windows x level ratio."""
    ref = mono[start : start + match].astype(np.float64)
    region = mono[lo : hi + max(match, level)].astype(np.float64)
    corr = correlate(region, ref, mode="valid", method="fft")[: hi - lo + 1]  # [E]
    energy = _window_sums(region**2, match)[: hi - lo + 1]
    ncc = corr / np.sqrt(np.maximum(energy * float(ref @ ref), 1e-20))
    rms_ref = np.sqrt(np.mean(mono[start : start + level].astype(np.float64) ** 2) + 1e-20)
    rms = np.sqrt(_window_sums(region**2, level)[: hi - lo + 1] / level + 1e-20)
    ratio = np.minimum(rms, rms_ref) / np.maximum(rms, rms_ref)
    return ncc * ratio


def find_seam(
    mono: np.ndarray, rate: int, crossfade: int, min_seconds: float | None = None, cancel: CancelToken | None = None
) -> tuple[int, int, float]:
    """(start, end, score) of the best loop in `mono` [N]; InvalidParameterError when the sound is too short."""
    total = len(mono)
    match, level = int(MATCH_SECONDS * rate), int(LEVEL_SECONDS * rate)
    min_length = int(round((min_seconds if min_seconds is not None else total / 2 / rate) * rate))
    min_length = max(min_length, int(MIN_LOOP_SECONDS * rate), 2 * crossfade)
    room = max(crossfade, match, level)  # needed after the end: the tail for the fade and the windows
    if min_length + room > total:
        raise InvalidParameterError(
            f"The sound is {total / rate:.2f} s long; a seamless loop of at least {min_length / rate:.2f} s needs "
            f"{(min_length + room) / rate:.2f} s. Make a longer take or a shorter crossfade."
        )
    crossings = rising_zero_crossings(mono)
    latest_start = min(int(START_REGION * total), total - room - min_length)
    starts = crossings[crossings <= latest_start]
    if len(starts) == 0:
        starts = np.array([0])
    picks = np.unique(np.linspace(0, len(starts) - 1, min(START_CANDIDATES, len(starts))).round().astype(int))
    best = (int(starts[0]), int(starts[0]) + min_length, -np.inf)
    for start in starts[picks]:
        check_cancel(cancel)
        lo, hi = int(start) + min_length, total - room
        if hi < lo:
            continue
        scores = _scores(mono, int(start), lo, hi, match, level)
        ends = crossings[(crossings >= lo) & (crossings <= hi)] - lo
        if len(ends) == 0:
            ends = np.arange(hi - lo + 1)
        i = int(ends[np.argmax(scores[ends])])
        if scores[i] > best[2]:
            best = (int(start), lo + i, float(scores[i]))
    return best


def make_seamless_loop(
    wav: np.ndarray,
    rate: int,
    crossfade_seconds: float = 0.03,
    min_seconds: float | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> SeamlessLoop:
    """A loop of `wav` [C, N] that repeats without a click or bump; its length is chosen by the seam search."""
    if crossfade_seconds < 0:
        raise InvalidParameterError(f"The crossfade must be 0 or more milliseconds, got {crossfade_seconds * 1000}.")
    x = np.asarray(wav, dtype=np.float32)
    report(progress, 0, 2)
    crossfade = int(round(crossfade_seconds * rate))
    start, end, score = find_seam(x.mean(axis=0), rate, crossfade, min_seconds, cancel)
    report(progress, 1, 2)
    loop, fade = blend_seam(x, start, end - start, crossfade)
    report(progress, 2, 2)
    return SeamlessLoop(loop, start, end, fade, score)

"""Bar-exact music loops: stretch a recording to the target tempo, cut N bars from a downbeat, blend the seam.

    loop = make_music_loop(wav, 32000, bpm=120, bars=4)
    loop.wav.shape[-1] == loop_length(120, 4, Meter(4, 4), 32000)  # 256,000 samples, always

Steps: estimate the tempo and downbeats (core.loops.tempo, seeded with the target tempo); when the estimate is
off by more than `STRETCH_TOLERANCE` (0.5 %), time-stretch the whole recording with pedalboard's
`time_stretch` (Rubber Band) by target / detected and check the result's tempo (`stretch_to_tempo`), then find
the stretched recording's downbeats again; among the downbeats with a full loop after them, take the one whose
next-loop downbeat sounds most like it (so the seam blends like with like); cut exactly `loop_length` samples
there; blend the seam (core.loops.seam). Within the tolerance the recording is cut as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import soxr

from core.cancel import CancelToken, Progress, check_cancel, report
from core.errors import InvalidParameterError
from core.loops.meter import FOUR_FOUR, Meter, bars_seconds, check_tempo, loop_length
from core.loops.seam import blend_seam
from core.loops.tempo import TempoEstimate, estimate_tempo

STRETCH_TOLERANCE = 0.005
VERIFY_TOLERANCE = 0.0002  # 0.02 %: 0.024 BPM at 120, 1.6 ms over 8 bars
MATCH_SECONDS = 0.25  # how much of each downbeat is compared when choosing the loop's start


@dataclass(frozen=True)
class MusicLoop:
    """A bar-exact loop and how it was made (sample positions are in the stretched recording)."""

    wav: np.ndarray  # [C, L] float32, L = loop_length(bpm, bars, meter, rate)
    bpm: float
    bars: int
    meter: Meter
    detected_bpm: float
    stretch: float  # speed factor applied (1.0: not stretched)
    start: int
    crossfade: int  # samples actually blended at the seam


def stretch(wav: np.ndarray, rate: int, factor: float, semitones: float = 0.0) -> np.ndarray:
    """`wav` [C, N] played `factor` times faster ([C, about N / factor]), pitch moved by `semitones`; pedalboard."""
    import pedalboard  # native library: only when stretching

    audio = np.ascontiguousarray(wav, dtype=np.float32)  # [C, N]
    out = pedalboard.time_stretch(
        audio, float(rate), stretch_factor=float(factor), pitch_shift_in_semitones=float(semitones)
    )
    return np.asarray(out, dtype=np.float32)


def stretch_to_tempo(
    wav: np.ndarray, rate: int, bpm: float, factor: float, meter: Meter, cancel: CancelToken | None = None
) -> np.ndarray:
    """`wav` [C, N] made `factor` times faster so that its tempo becomes `bpm` ([C, about N / factor]).

    Rubber Band (as pedalboard runs it) realises only some speed ratios: asked for 1.2807 or 1.2796 it plays
    1.2818 both times, about 0.1-0.2 % off, which over 8 bars drifts 15 ms against the DAW's grid. So the
    result's tempo m is measured; if it is off by more than VERIFY_TOLERANCE, the source is stretched again
    with its pitch raised by m / bpm, and that is resampled (soxr) by m / bpm: the tempo lands on `bpm` and the
    resampling's pitch change cancels the raise.
    """
    out = stretch(wav, rate, factor)
    measured = estimate_tempo(out, rate, meter, hint_bpm=bpm).bpm
    if abs(measured / bpm - 1.0) <= VERIFY_TOLERANCE:
        return out
    check_cancel(cancel)
    ratio = measured / bpm
    out = stretch(wav, rate, factor, semitones=12.0 * math.log2(ratio))
    ratio = estimate_tempo(out, rate, meter, hint_bpm=bpm).bpm / bpm
    out = soxr.resample(out.T, rate, rate * ratio, quality="VHQ").T  # [C, N * ratio]
    return np.ascontiguousarray(out, dtype=np.float32)


def _similarity(mono: np.ndarray, a: int, b: int, n: int) -> float:
    """Normalised correlation of mono[a:a+n] and mono[b:b+n] (-1 .. 1; 0 when either is silent)."""
    x, y = mono[a : a + n], mono[b : b + n]
    n = min(len(x), len(y))
    if n == 0:
        return 0.0
    x, y = x[:n], y[:n]
    norm = float(np.sqrt(np.dot(x, x) * np.dot(y, y)))
    return float(np.dot(x, y) / norm) if norm > 0 else 0.0


def choose_start(x: np.ndarray, rate: int, downbeats: np.ndarray, length: int) -> int:
    """The downbeat sample to start the loop at: room for the loop, then the best-matching seam."""
    total = x.shape[-1]
    starts = [int(round(t * rate)) for t in downbeats]
    starts = [s for s in starts if 0 <= s and s + length <= total]
    if not starts:
        return -1
    mono = x.mean(axis=0)  # [N]
    n = int(MATCH_SECONDS * rate)
    with_tail = [s for s in starts if s + length + n <= total]
    if not with_tail:
        return starts[-1]  # the latest start leaves the most pre-roll for the seam
    return max(with_tail, key=lambda s: _similarity(mono, s, s + length, n))


def _two_lengths(need: float, have: float) -> tuple[str, str]:
    """Both lengths in seconds with as many decimals as it takes to tell them apart (2.00 vs 1.994)."""
    for digits in (2, 3, 4):
        texts = f"{need:.{digits}f}", f"{have:.{digits}f}"
        if texts[0] != texts[1]:
            break
    return texts


def make_music_loop(
    wav: np.ndarray,
    rate: int,
    bpm: float,
    bars: int,
    meter: Meter = FOUR_FOUR,
    crossfade_seconds: float = 0.03,
    estimate: TempoEstimate | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    hint_bpm: float | None = None,
) -> MusicLoop:
    """A loop of exactly `bars` bars at `bpm` from `wav` [C, N]; InvalidParameterError when it cannot be made.

    `hint_bpm`: the tempo the recording was made at, if known (a take generated with --bpm), which settles
    half / double tempo better than the target does when the two differ; default: the target."""
    check_tempo(bpm, bars)
    if crossfade_seconds < 0:
        raise InvalidParameterError(f"The crossfade must be 0 or more milliseconds, got {crossfade_seconds * 1000}.")
    length = loop_length(bpm, bars, meter, rate)
    report(progress, 0, 3)
    estimate = estimate or estimate_tempo(wav, rate, meter, hint_bpm=hint_bpm or bpm)
    detected = estimate.bpm
    check_cancel(cancel)
    report(progress, 1, 3)
    factor = bpm / estimate.bpm
    x = np.asarray(wav, dtype=np.float32)
    if abs(factor - 1.0) > STRETCH_TOLERANCE:
        x = stretch_to_tempo(x, rate, bpm, factor, meter, cancel)
        # Rubber Band's output is not aligned to the input to the millisecond: find the new grid's offset
        estimate = estimate_tempo(x, rate, meter, known_bpm=bpm)
    else:
        factor = 1.0
    check_cancel(cancel)
    report(progress, 2, 3)
    start = choose_start(x, rate, estimate.downbeats, length)
    if start < 0:
        first = float(estimate.downbeats[0]) if len(estimate.downbeats) else 0.0
        have = max(0.0, x.shape[-1] / rate - first)
        need, have_text = _two_lengths(bars_seconds(bpm, bars, meter), have)
        raise InvalidParameterError(
            f"{bars} bar(s) of {meter} at {bpm:g} BPM last {need} s, but after matching the tempo only {have_text} s "
            "of this sound follow its first downbeat; make a longer take (e.g. twice the bars) or ask for fewer bars."
        )
    loop, fade = blend_seam(x, start, length, int(round(crossfade_seconds * rate)))
    report(progress, 3, 3)
    return MusicLoop(loop, float(bpm), bars, meter, detected, factor, start, fade)

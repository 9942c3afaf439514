"""Tempo, beat grid and downbeat of a recording, estimated with librosa and refined to a small fraction of a BPM.

librosa's beat tracker alone reports tempo on its tempogram's lag grid (about 1.7 BPM apart near 94 BPM at
its default hop), too coarse for a loop that must sit on a DAW's grid. So:

1. the tracked beats are moved to the onset envelope's sub-frame peak (parabolic interpolation), numbered
   along the tracker's period (a skipped or doubled beat keeps its place), and a line
   `time = offset + index * period` is fitted to them by least squares, refitted without outliers;
2. at every point of that grid, the attack is found at 1 ms resolution (where the short-term level first
   comes within 10 dB of the peak, from 30 ms before to 15 ms after it), and the line is fitted again to
   the attacks that lie within 8 ms of it. The onset envelope's frames are 93 ms wide and 11.6 ms apart,
   and its peak lags the attack; the attacks put the grid, and so the loop's first sample, on the
   transients themselves.

On a click track this gives the tempo to about 0.01 BPM. The downbeat is the beat phase (0 .. numerator-1 on
the grid of the meter's beat unit) whose beats carry the most low-frequency onset energy: kick drums and bass
notes land on the one far more often than elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from core.errors import InvalidParameterError
from core.loops.meter import FOUR_FOUR, Meter

ANALYSIS_RATE = 22050
HOP = 256  # 11.6 ms frames at 22.05 kHz
LOW_MEL_BANDS = 12  # of librosa's 128 mel bands: below about 200 Hz (kick, bass)
MIN_BEATS = 4
ATTACK_SEARCH = 0.03  # seconds before a grid point searched for the attack it marks (half as much after)
ATTACK_TOLERANCE = 0.008  # seconds an attack may sit off the fitted line and still count
ATTACK_DB = 10.0  # an attack begins where the level comes within this of the peak that follows
ATTACK_RISE_DB = 9.0  # the least rise that counts as an attack


@dataclass(frozen=True)
class TempoEstimate:
    """A fitted beat grid: beat k (quarter note) is at `offset + k * period` seconds, k may be negative."""

    bpm: float
    offset: float  # seconds of beat 0 (the first tracked beat after refinement)
    beats: np.ndarray  # [B] refined beat times in seconds, as tracked (before the fit)
    downbeats: np.ndarray  # [D] bar starts in seconds on the fitted grid, inside the recording

    @property
    def period(self) -> float:
        return 60.0 / self.bpm


def _mono(wav: np.ndarray, rate: int) -> np.ndarray:
    mono = np.asarray(wav, dtype=np.float32).reshape(-1, np.shape(wav)[-1]).mean(axis=0)  # [N]
    if rate != ANALYSIS_RATE:
        mono = soxr.resample(mono, rate, ANALYSIS_RATE, quality="HQ").astype(np.float32)
    return mono


def _envelopes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onset strength over all mel bands and over the low ones, both [F] at HOP."""
    import librosa  # heavy (numba): only when analysing

    mel = librosa.feature.melspectrogram(y=y, sr=ANALYSIS_RATE, hop_length=HOP, n_mels=128)  # [128, F]
    spec = librosa.power_to_db(mel, ref=np.max)
    full = librosa.onset.onset_strength(S=spec, sr=ANALYSIS_RATE, hop_length=HOP)  # [F]
    low = librosa.onset.onset_strength(S=spec[:LOW_MEL_BANDS], sr=ANALYSIS_RATE, hop_length=HOP)  # [F]
    return full, low


def _refine(env: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Each beat frame moved to the envelope's peak within +-2 frames, with a parabolic sub-frame offset."""
    out = []
    for frame in frames:
        lo, hi = max(1, int(frame) - 2), min(len(env) - 1, int(frame) + 3)
        if hi - lo < 1:
            out.append(float(frame))
            continue
        peak = lo + int(np.argmax(env[lo:hi]))
        if 1 <= peak < len(env) - 1:
            a, b, c = env[peak - 1], env[peak], env[peak + 1]
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
            out.append(peak + float(np.clip(shift, -0.5, 0.5)))
        else:
            out.append(float(peak))
    return np.asarray(out) * HOP / ANALYSIS_RATE


def _fit_line(
    index: np.ndarray, times: np.ndarray, period: float, fixed: bool, tolerance: float
) -> tuple[float, float]:
    """(offset, period) of `times = offset + index * period` by least squares, refitted without points more
    than `tolerance` seconds off; with `fixed`, only the offset (a median) is fitted."""
    if fixed:
        return float(np.median(times - index * period)), period
    keep = np.ones(len(times), dtype=bool)
    offset = float(times[0] - index[0] * period)
    for _ in range(3):
        if len(np.unique(index[keep])) < 2:
            break
        period, offset = np.polyfit(index[keep], times[keep], 1)
        keep = np.abs(times - (offset + index * period)) < tolerance
        if keep.sum() < MIN_BEATS:
            break
    return float(offset), float(period)


def _attacks(y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """[G] seconds where each grid point's attack begins, at 1 ms resolution; NaN where there is none.

    Searched from ATTACK_SEARCH before to half that after the grid point: the first 1 ms frame whose energy
    comes within ATTACK_DB of the window's peak, provided the peak stands at least ATTACK_RISE_DB above what
    precedes it (a sustained sound has no attack to find). The onset envelope's frames are 93 ms wide and its
    peak lags the attack; a level threshold, unlike the steepest rise, also ignores the low pre-echo a time
    stretcher smears in front of a transient.
    """
    frame = ANALYSIS_RATE // 1000  # [samples] 1 ms
    usable = len(y) // frame * frame
    energy = 10 * np.log10(np.square(y[:usable]).reshape(-1, frame).mean(axis=1) + 1e-12)  # [ms] dB
    search = int(ATTACK_SEARCH * ANALYSIS_RATE / frame)
    out = np.full(len(grid), np.nan)
    for i, t in enumerate(grid):
        centre = int(round(t * ANALYSIS_RATE / frame))
        lo, hi = centre - search, centre + search // 2
        if lo < 0 or hi > len(energy):
            continue
        window = energy[lo:hi]
        peak_at = int(np.argmax(window))
        if window[peak_at] - window[: peak_at + 1].min() < ATTACK_RISE_DB:
            continue
        out[i] = (lo + int(np.argmax(window >= window[peak_at] - ATTACK_DB))) * frame / ANALYSIS_RATE
    return out


def _downbeat_phase(low: np.ndarray, grid: np.ndarray, numerator: int) -> int:
    """The phase p in [0, numerator) whose grid points carry the most low-band onset strength."""
    frames = np.round(grid * ANALYSIS_RATE / HOP).astype(int)
    values = np.array([low[max(0, f - 1) : f + 2].max() if 0 <= f < len(low) else np.nan for f in frames])
    scores = [np.nanmean(values[p::numerator]) if np.isfinite(values[p::numerator]).any() else -np.inf
              for p in range(numerator)]  # fmt: skip
    return int(np.argmax(scores))


def estimate_tempo(
    wav: np.ndarray, rate: int, meter: Meter = FOUR_FOUR, hint_bpm: float | None = None, known_bpm: float | None = None
) -> TempoEstimate:
    """Tempo (quarter notes per minute), beat grid and downbeats of `wav` [C, N] or [N].

    `hint_bpm` (the tempo the take was asked for) seeds the beat tracker and settles half/double tempo:
    of the tracked tempo and its half and double, the one closest to the hint is reported. `known_bpm` (the
    tempo of audio just stretched to it) fixes the grid's period, so only its offset and downbeats are fitted.
    Raises InvalidParameterError when fewer than four beats can be found.
    """
    import librosa

    y = _mono(wav, rate)
    duration = len(y) / ANALYSIS_RATE
    full, low = _envelopes(y)
    hint_bpm = known_bpm or hint_bpm
    start = float(hint_bpm) if hint_bpm else 120.0
    tempo, frames = librosa.beat.beat_track(
        onset_envelope=full, sr=ANALYSIS_RATE, hop_length=HOP, start_bpm=start, trim=False, units="frames"
    )
    tempo = float(np.atleast_1d(tempo)[0])
    if len(frames) < MIN_BEATS or not tempo > 0:
        raise InvalidParameterError(
            f"No steady beat was found in this {duration:.1f} s sound; a music loop needs at least "
            f"{MIN_BEATS} beats (use a seamless loop for ambiences)."
        )
    beats = _refine(full, np.asarray(frames))
    period = 60.0 / (known_bpm or tempo)
    index = np.round((beats - beats[0]) / period)  # skipped or doubled beats keep their place
    offset, period = _fit_line(index, beats, period, bool(known_bpm), 0.25 * period)
    first = offset - np.floor(offset / period) * period
    grid = first + period * np.arange(int((duration - first) / period) + 1)  # [G] beats inside the sound
    attacks = _attacks(y, grid)
    found = np.isfinite(attacks)
    if found.sum() >= MIN_BEATS:
        ks = np.arange(len(grid))[found]
        offset, period = _fit_line(ks, attacks[found], period, bool(known_bpm), ATTACK_TOLERANCE)
    bpm = 60.0 / period
    if hint_bpm and not known_bpm:
        bpm = min((bpm * f for f in (0.5, 1.0, 2.0)), key=lambda b: abs(np.log(b / hint_bpm)))
        period = 60.0 / bpm
    unit = period * 4 / meter.denominator  # the meter's beat (an eighth in 6/8)
    first = offset - np.floor(offset / unit) * unit
    grid = first + unit * np.arange(int((duration - first) / unit) + 1)  # [G] meter beats inside the sound
    phase = _downbeat_phase(low, grid, meter.numerator)
    return TempoEstimate(bpm, offset, beats, grid[phase :: meter.numerator])

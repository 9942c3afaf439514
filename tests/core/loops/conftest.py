"""Synthetic signals with a known answer for the loop tests: a click track, a drum-like pattern, an ambience."""

from __future__ import annotations

import numpy as np

RATE = 32000
BPM = 93.7
FIRST_BEAT = 0.37  # seconds


def beat_times(bpm: float, seconds: float, first: float = FIRST_BEAT) -> np.ndarray:
    period = 60.0 / bpm
    return first + period * np.arange(int((seconds - first - 0.05) / period) + 1)


def _burst(x: np.ndarray, at: float, freq: float, amp: float, decay: float, rate: int) -> None:
    start = int(round(at * rate))
    n = min(len(x) - start, int(8 * decay * rate))
    t = np.arange(n) / rate
    x[start : start + n] += amp * np.sin(2 * np.pi * freq * t) * np.exp(-t / decay)


def click_track(bpm: float = BPM, seconds: float = 20.0, rate: int = RATE) -> np.ndarray:
    """[1, N]: a metronome, accented (louder, higher, with a low thump) on beat 1 of each 4/4 bar."""
    x = np.zeros(int(seconds * rate))
    for k, t in enumerate(beat_times(bpm, seconds)):
        if k % 4 == 0:
            _burst(x, t, 1500.0, 0.6, 0.006, rate)
            _burst(x, t, 60.0, 0.6, 0.03, rate)
        else:
            _burst(x, t, 800.0, 0.4, 0.006, rate)
    return x.astype(np.float32)[None]


def drum_pattern(bpm: float = BPM, seconds: float = 20.0, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """[2, N]: kick on 1 (and softer on 3-and), snare noise on 2 and 4, hi-hat noise on every eighth."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(seconds * rate))
    period = 60.0 / bpm
    for k, t in enumerate(beat_times(bpm, seconds)):
        beat = k % 4
        if beat == 0:
            _burst(x, t, 55.0, 0.9, 0.06, rate)
        if beat == 2:
            _burst(x, t + period / 2, 55.0, 0.4, 0.05, rate)
        if beat in (1, 3):
            start, n = int(round(t * rate)), int(0.12 * rate)
            x[start : start + n] += 0.35 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.03 * rate))
        for half in (0.0, 0.5):
            start, n = int(round((t + half * period) * rate)), int(0.03 * rate)
            noise = rng.standard_normal(n)
            hat = np.diff(noise, prepend=0.0)  # crude high-pass
            x[start : start + n] += 0.08 * hat * np.exp(-np.arange(n) / (0.008 * rate))
    stereo = np.stack([x, 0.8 * x + 0.01 * rng.standard_normal(len(x))])
    return (stereo / np.abs(stereo).max() * 0.8).astype(np.float32)


def ambience(seconds: float = 12.0, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """[1, N]: pink noise plus a 110 Hz tone whose level drifts slowly (period about 8 s)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    pink = np.fft.irfft(spectrum, n)
    pink /= np.abs(pink).max()
    t = np.arange(n) / rate
    tone = np.sin(2 * np.pi * 110 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.13 * t))
    return (0.3 * pink + 0.3 * tone).astype(np.float32)[None]

"""Loop quality on material with a known answer, and on the real recordings in ../shared/audio.

Synthetic (32 kHz, 20 s): a click track and a drum-like pattern (kick, snare, hats) at 93.7 BPM with the
first beat at 0.37 s; 12 s of pink noise plus a slowly swelling 110 Hz tone. For each it prints:

- tempo: the detected BPM and its error against the known 93.7;
- length: the loop's samples against bars x quarter beats x 60 / bpm x rate rounded once (0 = exact);
- seam: the wrap's sample jump and the spectral flux across the wrap, each relative to the same measure inside
  the loop (core.loops.quality: the jump against the RMS sample step; the flux of a music loop against its own
  bar lines, of an ambience against its median; 1.0 = as smooth as the loop's typical moment), for the loop
  and for a naive cut: for music the same bars from the same downbeat without the seam blend (a hard cut on
  the grid), for an ambience the first as many samples of the source;
- grid: for the click track stretched to 120 BPM, the largest distance of a click from the 120 BPM grid.

Real recordings: music loops (beatbox at its known 90 BPM; bach and electronic at their detected tempo to
0.1 BPM, as many bars as fit, 4 at most) and seamless loops (the duck and siren ambiences).

    python benchmarks/bench_loops.py [--audio ../shared/audio]

Measured (2-core AMD EPYC, 2 threads): click track 93.701 BPM (+0.0006), drum pattern 93.700 (+0.0002), first
downbeats within 0.2 ms of 0.37 s; every loop length exact; seam jump / flux 0.00-0.64 / 1.02-1.27 on the
synthetic music (4 bars, cut at 93.7 or stretched to 120 BPM; the stretched clicks within 2.3 ms of the 120 BPM
grid) and 1.01 / 1.16 on pink noise + tone; beatbox 90.003 BPM, 0.35 / 0.62 (hard cut 13.9 / 1.62); bach.mp3
0.01 / 2.53 (hard cut 11.5 / 12.0); duck ambience 0.92 / 2.15 (2.64 for the first samples); the passing siren
matches itself poorly (0.62) and its seam, 2.09 / 2.02, is no better than a hard cut's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine  # noqa: E402
from core.errors import SoundDeskError  # noqa: E402
from core.loops.meter import FOUR_FOUR, loop_length  # noqa: E402
from core.loops.music import make_music_loop, stretch_to_tempo  # noqa: E402
from core.loops.quality import bar_lines, flux_ratio, jump_ratio  # noqa: E402
from core.loops.seamless import make_seamless_loop  # noqa: E402
from core.loops.tempo import estimate_tempo  # noqa: E402
from core.takes.audio_io import load_audio  # noqa: E402

RATE = 32000
BPM = 93.7
FIRST = 0.37


def _burst(x: np.ndarray, at: float, freq: float, amp: float, decay: float) -> None:
    start = int(round(at * RATE))
    t = np.arange(min(len(x) - start, int(8 * decay * RATE))) / RATE
    x[start : start + len(t)] += amp * np.sin(2 * np.pi * freq * t) * np.exp(-t / decay)


def click_track(seconds: float = 20.0) -> np.ndarray:
    x = np.zeros(int(seconds * RATE))
    for k, t in enumerate(FIRST + 60 / BPM * np.arange(int((seconds - 0.5) * BPM / 60))):
        _burst(x, t, 1500.0 if k % 4 == 0 else 800.0, 0.6 if k % 4 == 0 else 0.4, 0.006)
        if k % 4 == 0:
            _burst(x, t, 60.0, 0.6, 0.03)
    return x.astype(np.float32)[None]


def drum_pattern(seconds: float = 20.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(int(seconds * RATE))
    period = 60 / BPM
    for k, t in enumerate(FIRST + period * np.arange(int((seconds - 0.5) / period))):
        if k % 4 == 0:
            _burst(x, t, 55.0, 0.9, 0.06)
        if k % 4 == 2:
            _burst(x, t + period / 2, 55.0, 0.4, 0.05)
        if k % 4 in (1, 3):
            s, n = int(round(t * RATE)), int(0.12 * RATE)
            x[s : s + n] += 0.35 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.03 * RATE))
        for half in (0.0, 0.5):
            s, n = int(round((t + half * period) * RATE)), int(0.03 * RATE)
            x[s : s + n] += 0.08 * np.diff(rng.standard_normal(n), prepend=0.0) * np.exp(-np.arange(n) / (0.008 * RATE))
    return (x / np.abs(x).max() * 0.8).astype(np.float32)[None]


def ambience(seconds: float = 12.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    pink = np.fft.irfft(spectrum, n)
    t = np.arange(n) / RATE
    tone = np.sin(2 * np.pi * 110 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.13 * t))
    return (0.3 * pink / np.abs(pink).max() + 0.3 * tone).astype(np.float32)[None]


def seam(loop: np.ndarray, naive: np.ndarray, at: list[int] | None = None) -> str:
    return (
        f"jump {jump_ratio(loop):5.2f} (naive {jump_ratio(naive):5.2f})  "
        f"flux {flux_ratio(loop, at):5.2f} (naive {flux_ratio(naive, at):5.2f})"
    )


def naive_head(wav: np.ndarray, rate: int, loop) -> np.ndarray:
    """The loop's first `crossfade` samples as they were before blending (the audio at its start)."""
    x = np.asarray(wav, dtype=np.float32)
    if loop.stretch != 1.0:
        x = stretch_to_tempo(x, rate, loop.bpm, loop.stretch, FOUR_FOUR)
    return x[:, loop.start : loop.start + loop.crossfade]


def grid_error_ms(loop: np.ndarray, bpm: float, skip: int) -> float:
    """Largest distance (ms) of a click onset (silence -> above 0.05) from the loop's beat grid."""
    mono = np.abs(loop).max(axis=0)
    loud = mono > 0.05
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    quiet = int(0.1 * RATE)
    starts = [s for s in starts if s > skip and not loud[max(0, s - quiet) : s].any()]
    beat = 60 / bpm * RATE
    off = [((s + beat / 2) % beat) - beat / 2 for s in starts]
    return 1000 * max(abs(o) for o in off) / RATE


def music_row(name: str, wav: np.ndarray, rate: int, target: float, bars: int, known: float | None) -> None:
    started = time.perf_counter()
    try:
        loop = make_music_loop(wav, rate, target, bars)
    except SoundDeskError as exc:
        print(f"  {name:28s} {target:6.1f} BPM x {bars} bars: not made ({exc})")
        return
    took = time.perf_counter() - started
    exact = loop.wav.shape[-1] - loop_length(target, bars, FOUR_FOUR, rate)
    tempo = f"detected {loop.detected_bpm:7.3f}" + (f" (error {loop.detected_bpm - known:+.3f})" if known else "")
    print(f"  {name:28s} -> {target:6.1f} BPM x {bars} bars: {tempo}, stretch {loop.stretch:.4f}, "
          f"length {loop.wav.shape[-1]} (off by {exact}), {took:.1f} s")  # fmt: skip
    # the naive cut: the same bars from the same downbeat of the (stretched) audio, without the seam blend
    stretched = loop.wav.copy()
    stretched[:, : loop.crossfade] = naive_head(wav, rate, loop)
    lines = bar_lines(loop.wav.shape[-1], bars)
    print(f"  {'':28s}    seam {seam(loop.wav, stretched, lines)}  (flux vs the loop's own bar lines)")
    if name.startswith("click"):
        worst = grid_error_ms(loop.wav, target, loop.crossfade)
        print(f"  {'':28s}    clicks off the {target:g} BPM grid: at most {worst:.2f} ms")


def seamless_row(name: str, wav: np.ndarray, rate: int) -> None:
    started = time.perf_counter()
    loop = make_seamless_loop(wav, rate, 0.03)
    took = time.perf_counter() - started
    print(f"  {name:28s} seamless: {loop.wav.shape[-1] / rate:.2f} s of {wav.shape[-1] / rate:.2f} s, "
          f"match {loop.match:.3f}, {took:.1f} s")  # fmt: skip
    print(f"  {'':28s}    seam {seam(loop.wav, wav[:, : loop.wav.shape[-1]])}  (naive: the first as many samples)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audio", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "audio")
    args = parser.parse_args()
    print(machine())
    estimate_tempo(click_track(4.0), RATE)  # compile librosa's numba code before timing anything
    print(f"synthetic, {RATE} Hz, true tempo {BPM} BPM:")
    for name, wav in (("click track", click_track()), ("drum pattern", drum_pattern())):
        estimate = estimate_tempo(wav, RATE)
        first = estimate.downbeats[0]
        print(f"  {name:28s} tempo {estimate.bpm:.3f} BPM (error {estimate.bpm - BPM:+.4f}), "
              f"first downbeat {first:.4f} s (true {FIRST} s, error {1000 * (first - FIRST):+.2f} ms)")  # fmt: skip
        music_row(f"{name} (no stretch)", wav, RATE, BPM, 4, BPM)
        music_row(f"{name} (stretched)", wav, RATE, 120.0, 4, BPM)
    seamless_row("pink noise + slow tone", ambience(), RATE)
    if not args.audio.is_dir():
        print(f"{args.audio} not found: real recordings skipped")
        return
    print(f"real recordings in {args.audio}:")
    for path in sorted(args.audio.iterdir()):
        clip = load_audio(path)
        if "Beatbox" in path.name:
            music_row(path.name, clip.samples, clip.sample_rate, 90.0, 2, 90.0)
        elif path.stem in ("bach", "electronic"):
            detected = estimate_tempo(clip.samples, clip.sample_rate).bpm
            target = round(detected, 1)
            bars = max((b for b in (1, 2, 4) if b * 4 * 60 / target < clip.duration * 0.8), default=1)
            music_row(path.name, clip.samples, clip.sample_rate, target, bars, None)
        else:
            seamless_row(path.name[:28], clip.samples, clip.sample_rate)


if __name__ == "__main__":
    main()

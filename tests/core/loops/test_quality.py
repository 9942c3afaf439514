"""The seam measures of the benchmark: a seamless sine scores about 1, a cut in the middle of a cycle far more."""

from __future__ import annotations

import numpy as np

from core.loops.quality import bar_lines, flux_ratio, jump_ratio

RATE = 32000


def test_whole_cycles_wrap_smoothly_and_a_broken_cycle_does_not():
    n = 32000  # 1 s: 220 Hz makes exactly 220 cycles, so the wrap continues the sine
    t = np.arange(n) / RATE
    whole = np.sin(2 * np.pi * 220 * t)[None]
    assert jump_ratio(whole) < 1.5
    assert flux_ratio(whole) < 1.5
    broken = whole[:, : n - 37]  # stops mid-cycle: the wrap jumps
    assert jump_ratio(broken) > 5 * jump_ratio(whole)
    assert flux_ratio(broken) > 5.0


def test_bar_lines_of_a_loop():
    assert bar_lines(400, 4) == [100, 200, 300]
    assert bar_lines(400, 1) == [100, 200, 300]  # one bar: its inner beats
    assert bar_lines(300, 2) == [150]

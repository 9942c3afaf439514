"""Seamless ambience loops: no click and no bump where playback wraps."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidParameterError
from core.loops.seamless import make_seamless_loop
from tests.core.loops.conftest import RATE, ambience


def _short_term_rms(x: np.ndarray, n: int) -> np.ndarray:
    frames = len(x) // n
    return np.sqrt(np.mean(x[: frames * n].reshape(frames, n) ** 2, axis=1))


def test_wrap_is_no_bigger_a_step_than_the_loop_takes_anyway():
    source = ambience()
    loop = make_seamless_loop(source, RATE, crossfade_seconds=0.03)
    wav = loop.wav[0]
    assert loop.end - loop.start == wav.shape[-1] >= source.shape[-1] // 2
    steps = np.abs(np.diff(wav))
    assert abs(wav[0] - wav[-1]) <= np.percentile(steps, 99)  # the wrap is an ordinary step, not a click
    # no level bump around the seam: the 10 ms RMS of the loop played twice stays in the loop's own range
    twice = np.concatenate([wav, wav])
    rms = _short_term_rms(twice[len(wav) - 4800 : len(wav) + 4800], 320)
    inside = _short_term_rms(wav, 320)
    assert rms.max() <= inside.max() and rms.min() >= inside.min()


def test_naive_cut_is_worse_than_the_chosen_seam():
    source = ambience(seed=3)
    loop = make_seamless_loop(source, RATE)
    naive = source[0, : loop.wav.shape[-1]]
    typical = np.median(np.abs(np.diff(loop.wav[0])))
    assert abs(loop.wav[0, 0] - loop.wav[0, -1]) / typical < abs(naive[0] - naive[-1]) / typical + 1.0
    assert loop.match > 0.8  # the windows either side of the seam nearly coincide


def test_stereo_channels_share_one_seam():
    mono = ambience()
    stereo = np.concatenate([mono, 0.5 * mono])
    loop = make_seamless_loop(stereo, RATE)
    assert loop.wav.shape[0] == 2
    assert np.allclose(loop.wav[1], 0.5 * loop.wav[0], atol=1e-6)


def test_too_short_for_a_loop_says_so():
    with pytest.raises(InvalidParameterError, match="seamless loop"):
        make_seamless_loop(ambience(seconds=0.6), RATE)

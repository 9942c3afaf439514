"""Bar-exact music loops: exact length, the target tempo, a downbeat at sample 0, a smooth seam."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidParameterError
from core.loops.music import make_music_loop
from tests.core.loops.conftest import BPM, RATE, click_track, drum_pattern


def _click_onsets(wav: np.ndarray, rate: int) -> np.ndarray:
    """Sample positions where the signal jumps from silence to a click (threshold crossings after quiet)."""
    mono = np.abs(wav).max(axis=0)
    loud = mono > 0.05
    quiet_before = np.convolve(loud.astype(float), np.ones(int(0.1 * rate)), mode="full")[: len(loud)]
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    return np.array([s for s in starts if quiet_before[s - 1] == 0])


def test_click_track_stretched_to_120_bpm_is_exactly_four_bars_starting_on_a_downbeat():
    loop = make_music_loop(click_track(), RATE, bpm=120, bars=4)
    assert loop.wav.shape == (1, 256000)  # 4 bars * 4 beats * 60 / 120 * 32000, exactly
    assert abs(loop.detected_bpm - BPM) < 0.5
    assert loop.stretch == pytest.approx(120 / BPM, rel=0.005)
    # the clicks inside the loop sit on the 120 BPM grid from sample 0 (within 4 ms; Rubber Band smears)
    onsets = _click_onsets(loop.wav[:, loop.crossfade :], RATE) + loop.crossfade
    grid = RATE * 0.5
    offsets = (onsets + 0.5 * grid) % grid - 0.5 * grid
    assert len(onsets) >= 12 and np.max(np.abs(offsets)) < 0.004 * RATE
    # sample 0 is a downbeat: the accented (loudest) click of a bar
    head = np.abs(loop.wav[0, : int(0.02 * RATE)]).max()
    beat2 = np.abs(loop.wav[0, int(grid) : int(grid + 0.02 * RATE)]).max()
    assert head > 1.2 * beat2


def test_close_tempo_is_not_stretched_and_the_cut_is_exact():
    source = drum_pattern()
    loop = make_music_loop(source, RATE, bpm=93.9, bars=2)  # 0.2 % off: within the 0.5 % tolerance
    assert loop.stretch == 1.0
    assert loop.wav.shape == (2, int(round(2 * 4 * 60 / 93.9 * RATE)))
    tail = source[:, loop.start + loop.crossfade : loop.start + loop.wav.shape[-1]]
    assert np.array_equal(loop.wav[:, loop.crossfade :], tail)  # outside the seam: the source, untouched


def test_seam_flows_from_the_last_sample_into_the_first():
    source = drum_pattern()
    loop = make_music_loop(source, RATE, bpm=93.7, bars=2, crossfade_seconds=0.03)
    end = loop.start + loop.wav.shape[-1]
    # sample 0 of the loop is the source's sample right after the loop's last one: the wrap is continuous
    assert np.allclose(loop.wav[:, 0], source[:, end], atol=1e-6)
    assert np.array_equal(loop.wav[:, -1], source[:, end - 1])


def test_too_short_a_take_says_so():
    with pytest.raises(InvalidParameterError, match="longer take"):
        make_music_loop(click_track(seconds=6.0), RATE, bpm=BPM, bars=4)

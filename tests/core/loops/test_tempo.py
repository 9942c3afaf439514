"""Tempo, beat grid and downbeats of signals whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidParameterError
from core.loops.meter import Meter
from core.loops.tempo import estimate_tempo
from tests.core.loops.conftest import BPM, FIRST_BEAT, RATE, click_track, drum_pattern


def test_click_track_tempo_within_half_a_bpm_and_downbeats_on_the_accents():
    estimate = estimate_tempo(click_track(), RATE)
    assert abs(estimate.bpm - BPM) < 0.5
    bar = 4 * 60.0 / BPM
    expected = FIRST_BEAT + bar * np.arange(len(estimate.downbeats))
    assert np.max(np.abs(estimate.downbeats - expected)) < 0.01  # within 10 ms of every accented click


def test_drum_pattern_tempo_and_downbeat_on_the_kick():
    estimate = estimate_tempo(drum_pattern(), RATE)
    assert abs(estimate.bpm - BPM) < 0.5
    assert abs(estimate.downbeats[0] - FIRST_BEAT) < 0.01


def test_a_hint_settles_half_and_double_tempo():
    double = estimate_tempo(click_track(), RATE, hint_bpm=2 * BPM)
    assert abs(double.bpm - 2 * BPM) < 1.0
    half = estimate_tempo(click_track(), RATE, hint_bpm=BPM / 2)
    assert abs(half.bpm - BPM / 2) < 0.5


def test_three_four_downbeats_every_three_beats():
    x = np.zeros(int(20 * RATE), dtype=np.float32)
    period = 60.0 / 100.0
    for k in range(int(19 / period)):
        start = int(round((0.5 + k * period) * RATE))
        n = np.arange(int(0.04 * RATE))
        accent = k % 3 == 0
        x[start : start + len(n)] += (
            (0.7 if accent else 0.3)
            * np.sin(2 * np.pi * (60 if accent else 900) * n / RATE)
            * np.exp(-n / (0.01 * RATE))
        )
    estimate = estimate_tempo(x[None], RATE, Meter(3, 4))
    assert abs(estimate.bpm - 100.0) < 0.5
    assert np.allclose(np.diff(estimate.downbeats), 3 * 60.0 / estimate.bpm)
    bars_from_first_accent = (estimate.downbeats[0] - 0.5) / (3 * period)
    assert abs(bars_from_first_accent - round(bars_from_first_accent)) < 0.02


def test_no_beat_is_a_sentence():
    with pytest.raises(InvalidParameterError, match="steady beat"):
        estimate_tempo(np.zeros((1, RATE), dtype=np.float32), RATE)

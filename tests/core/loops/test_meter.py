"""Tempo grid arithmetic: meters, bar lengths and the single rounding to whole samples."""

from __future__ import annotations

import pytest

from core.errors import InvalidParameterError
from core.loops.meter import Meter, bars_of, bars_seconds, loop_beats, loop_length


def test_meter_parse_and_quarter_beats():
    assert Meter.parse("4/4") == Meter(4, 4)
    assert Meter.parse(" 6 / 8 ").quarters_per_bar == 3.0
    assert Meter.parse("7/8").quarters_per_bar == 3.5
    assert str(Meter.parse("3/4")) == "3/4"
    for bad in ("4", "4/3", "0/4", "four/four", "33/4"):
        with pytest.raises(InvalidParameterError):
            Meter.parse(bad)


def test_loop_length_is_rounded_once_over_the_whole_loop():
    # 4 bars of 4/4 at 93.7 BPM, 32 kHz: 16 beats * 60 / 93.7 * 32000 = 327,854.86... samples
    assert loop_length(93.7, 4, Meter(4, 4), 32000) == 327855
    # per-bar rounding would give 4 * round(81,963.71) = 327,856: one sample off the DAW's grid
    assert loop_length(93.7, 4, Meter(4, 4), 32000) != 4 * loop_length(93.7, 1, Meter(4, 4), 32000)
    assert loop_length(120, 4, Meter(4, 4), 48000) == 384000
    assert loop_length(120, 2, Meter(6, 8), 32000) == 96000  # 2 bars of 3 quarter beats = 3 s
    assert bars_seconds(120, 4) == 8.0
    assert loop_beats(4, Meter(7, 8)) == 14.0
    assert bars_of(384000, 48000, 120) == pytest.approx(4.0)


@pytest.mark.parametrize("bpm, bars", [(10, 4), (500, 4), (120, 0), (120, 2.5), (120, 1000)])
def test_tempo_and_bars_out_of_range_are_sentences(bpm, bars):
    with pytest.raises(InvalidParameterError, match=r"(tempo|bars)"):
        loop_length(bpm, bars, Meter(), 32000)


def test_default_loop_bars_is_the_power_of_two_below_the_takes_bars():
    from core.loops.takes import default_loop_bars

    assert [default_loop_bars(n) for n in (1, 2, 3, 4, 5, 8, 9, 16, 17)] == [1, 1, 2, 2, 4, 4, 8, 8, 16]

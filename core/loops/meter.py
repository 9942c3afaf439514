"""Tempo grid arithmetic: meters ("4/4", "6/8"), bar lengths in seconds and the one rounding to whole samples.

BPM counts quarter notes per minute, as DAWs do (Ableton, Logic, Reaper, FL Studio): a 4/4 bar is 4 beats,
a 6/8 bar 3 beats, a 7/8 bar 3.5 beats. A loop of `bars` bars is exactly

    length = round(bars * quarters_per_bar * 60 / bpm * rate)   samples

rounded once, to the nearest sample (halves to even, Python's `round`), never per bar: 4 bars at 93.7 BPM and
32 kHz are round(4 * 4 * 60 / 93.7 * 32000) = 327,855 samples, and the drift against the DAW's grid stays
below half a sample over the whole loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidParameterError

MIN_BPM = 20.0
MAX_BPM = 400.0
MAX_BARS = 256
_METER = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")


@dataclass(frozen=True)
class Meter:
    """A time signature: `numerator` beats of a 1/`denominator` note per bar."""

    numerator: int = 4
    denominator: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.numerator <= 32 or self.denominator not in (1, 2, 4, 8, 16, 32):
            raise InvalidParameterError(
                f"A meter is N/D with N from 1 to 32 and D a power of two up to 32 (4/4, 3/4, 6/8), "
                f"got {self.numerator}/{self.denominator}."
            )

    @classmethod
    def parse(cls, text: str) -> Meter:
        """`"6/8"` -> Meter(6, 8); anything else raises InvalidParameterError with a sentence."""
        match = _METER.match(str(text))
        if not match:
            raise InvalidParameterError(f"A meter is written like 4/4, 3/4 or 6/8, got {text!r}.")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def quarters_per_bar(self) -> float:
        """Quarter-note beats in one bar (4/4 -> 4, 6/8 -> 3, 7/8 -> 3.5)."""
        return self.numerator * 4 / self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


FOUR_FOUR = Meter(4, 4)


def check_tempo(bpm: float, bars: int | None = None) -> None:
    """Raise InvalidParameterError unless `bpm` (and `bars`, when given) are in range."""
    if not isinstance(bpm, int | float) or not MIN_BPM <= bpm <= MAX_BPM:
        raise InvalidParameterError(f"The tempo must lie between {MIN_BPM:g} and {MAX_BPM:g} BPM, got {bpm}.")
    if bars is not None and (isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_BARS):
        raise InvalidParameterError(f"The number of bars must be a whole number from 1 to {MAX_BARS}, got {bars}.")


def bars_seconds(bpm: float, bars: int, meter: Meter = FOUR_FOUR) -> float:
    """The exact length of `bars` bars in seconds (no rounding)."""
    check_tempo(bpm, bars)
    return bars * meter.quarters_per_bar * 60.0 / bpm


def loop_length(bpm: float, bars: int, meter: Meter, rate: int) -> int:
    """The loop's length in samples: bars x quarter beats per bar x 60 / bpm x rate, rounded once."""
    return int(round(bars_seconds(bpm, bars, meter) * rate))


def loop_beats(bars: int, meter: Meter) -> float:
    """Quarter-note beats in `bars` bars (what the acid chunk calls the number of beats)."""
    return bars * meter.quarters_per_bar


def bars_of(samples: int, rate: int, bpm: float, meter: Meter = FOUR_FOUR) -> float:
    """How many bars `samples` samples last at `bpm` (for display: 4.0 for an exact 4-bar loop)."""
    return samples / rate * bpm / 60.0 / meter.quarters_per_bar

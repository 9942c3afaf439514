"""Tempo-aware generation: the duration of N bars, the tempo phrase added to a prompt, the take's tempo record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.loops.meter import FOUR_FOUR, Meter, bars_seconds, check_tempo


@dataclass(frozen=True)
class TempoRequest:
    """A take asked for at `bpm`, `bars` long in `meter`; `in_prompt`: say the tempo in the prompt."""

    bpm: float
    bars: int
    meter: Meter = FOUR_FOUR
    in_prompt: bool = True

    def __post_init__(self) -> None:
        check_tempo(self.bpm, self.bars)

    @property
    def duration(self) -> float:
        """Seconds of exactly `bars` bars (the model makes about this many; `loop` cuts it exactly)."""
        return bars_seconds(self.bpm, self.bars, self.meter)

    def prompt(self, text: str) -> str:
        """`text` with ", 120 bpm" appended (as MusicGen's training captions say it), unless switched off."""
        phrase = f"{self.bpm:g} bpm"
        if not self.in_prompt or text.rstrip().lower().endswith(phrase):  # a recalled prompt says it already
            return text
        return f"{text.rstrip().rstrip(',')}, {phrase}"

    def record(self) -> dict[str, Any]:
        """What the take's sidecar records: bpm, bars, meter."""
        return {"bpm": float(self.bpm), "bars": int(self.bars), "meter": str(self.meter)}

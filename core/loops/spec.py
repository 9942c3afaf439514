"""What loop to make (`LoopSpec`) and its limits, apart from the loop code: the CLI builds its options from them."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidParameterError
from core.loops.meter import FOUR_FOUR, Meter

LOOP_KINDS = ("music", "seamless")
DEFAULT_CROSSFADE_MS = 30.0
MAX_CROSSFADE_MS = 2000.0


@dataclass(frozen=True)
class LoopSpec:
    """What loop to make: a bar-exact music loop (`bpm`, `bars`, `meter`) or a seamless one."""

    kind: str = "music"
    bpm: float | None = None
    bars: int | None = None
    meter: Meter = FOUR_FOUR
    crossfade_ms: float = DEFAULT_CROSSFADE_MS

    def __post_init__(self) -> None:
        if self.kind not in LOOP_KINDS:
            raise InvalidParameterError(f"A loop is 'music' or 'seamless', got {self.kind!r}.")
        if self.kind == "music" and (self.bpm is None or self.bars is None):
            raise InvalidParameterError("A music loop needs a tempo (BPM) and a number of bars.")
        if not 0 <= self.crossfade_ms <= MAX_CROSSFADE_MS:
            raise InvalidParameterError(
                f"The crossfade must lie between 0 and {MAX_CROSSFADE_MS:g} ms, got {self.crossfade_ms:g}."
            )

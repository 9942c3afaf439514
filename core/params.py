"""Generation parameters: one frozen dataclass shared by the CLI, the window and the take sidecars."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidParameterError

SPAN_ARRANGEMENTS = ("nonoverlap", "stride1")
_FLOATS = {
    "duration": "Duration",
    "top_p": "top-p",
    "temperature": "Temperature",
    "cfg_coef": "CFG coefficient",
    "extend_stride": "Extend stride",
    "max_cfg_coef": "Maximum CFG coefficient",
    "min_cfg_coef": "Minimum CFG coefficient",
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class GenerationParams:
    """How to sample a take. Defaults are audiocraft's MusicGen defaults; see `catalog` for per-model ones.

    `use_sampling=False` is greedy (argmax) decoding. As in audiocraft, `top_p > 0` takes precedence over
    `top_k`. The MAGNeT fields are ignored by autoregressive models; `cfg_coef` is ignored by MAGNeT, which
    anneals its guidance from `max_cfg_coef` to `min_cfg_coef`.
    """

    duration: float = 10.0
    use_sampling: bool = True
    top_k: int = 250
    top_p: float = 0.0
    temperature: float = 1.0
    cfg_coef: float = 3.0
    extend_stride: float = 18.0
    decoding_steps: tuple[int, ...] = (20, 10, 10, 10)
    max_cfg_coef: float = 10.0
    min_cfg_coef: float = 1.0
    span_arrangement: str = "nonoverlap"

    def __post_init__(self) -> None:
        self._check_types()
        if self.duration <= 0:
            raise InvalidParameterError(f"Duration must be a positive number of seconds, got {self.duration}.")
        if self.top_k < 0:
            raise InvalidParameterError(f"top-k must be 0 (off) or a positive integer, got {self.top_k}.")
        if not 0.0 <= self.top_p <= 1.0:
            raise InvalidParameterError(f"top-p must lie between 0 and 1, got {self.top_p}.")
        if self.temperature < 0:
            raise InvalidParameterError(f"Temperature must be 0 or more, got {self.temperature}.")
        if self.extend_stride <= 0:
            raise InvalidParameterError(f"Extend stride must be positive, got {self.extend_stride}.")
        if not self.decoding_steps or any(s < 1 for s in self.decoding_steps):
            raise InvalidParameterError(f"Decoding steps must be positive integers, got {self.decoding_steps}.")
        if self.span_arrangement not in SPAN_ARRANGEMENTS:
            raise InvalidParameterError(
                f"Span arrangement must be one of {', '.join(SPAN_ARRANGEMENTS)}, got {self.span_arrangement!r}."
            )

    def _check_types(self) -> None:
        """Numbers must be finite numbers of the right kind (a hand-edited sidecar can hold anything)."""
        for name, label in _FLOATS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise InvalidParameterError(f"{label} must be a finite number, got {value!r}.")
            object.__setattr__(self, name, float(value))
        if not _is_int(self.top_k):
            raise InvalidParameterError(f"top-k must be a whole number, got {self.top_k!r}.")
        if not isinstance(self.use_sampling, bool):
            raise InvalidParameterError(f"use_sampling must be true or false, got {self.use_sampling!r}.")
        steps = self.decoding_steps
        if isinstance(steps, str | bytes) or not hasattr(steps, "__iter__") or not all(_is_int(s) for s in steps):
            raise InvalidParameterError(f"Decoding steps must be a list of whole numbers, got {steps!r}.")
        object.__setattr__(self, "decoding_steps", tuple(int(s) for s in steps))

    def replace(self, **changes: Any) -> GenerationParams:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["decoding_steps"] = list(self.decoding_steps)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationParams:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        return cls(**kwargs)

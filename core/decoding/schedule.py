"""MAGNeT's decoding schedule: per step, how much to mask, how strongly to guide, how hot to sample.

For a stage (codebook) decoded in `steps` steps, step i has time t_i = linspace(0, 1, steps)[i] and
mask_p = cos(t_i * pi / 2) (1 -> 0). It masks max(int(mask_p * units), 1) units, guides with
`mask_p * max_cfg + (1 - mask_p) * min_cfg` and samples at temperature `temperature * steps_left / steps`
(the softmax uses at least 0.01). The float32 arithmetic is audiocraft's, so the counts agree exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

MIN_SOFTMAX_TEMPERATURE = 1e-2


@dataclass(frozen=True)
class StepPlan:
    """What one decoding step does."""

    stage: int
    timestep: float
    mask_p: float
    num_masked: int  # units (spans, or frames with stride1) masked in this step's input
    cfg_coef: float
    temperature: float

    @property
    def softmax_temperature(self) -> float:
        return max(self.temperature, MIN_SOFTMAX_TEMPERATURE)


def stage_plan(
    stage: int, steps: int, units: int, temperature: float, max_cfg_coef: float, min_cfg_coef: float
) -> list[StepPlan]:
    """The `steps` plans of one stage with `units` maskable units."""
    plans = []
    times = torch.linspace(0, 1, steps)
    for timestep, steps_left in zip(times, reversed(range(steps)), strict=True):
        mask_p = torch.cos(timestep * math.pi * 0.5)  # float32, as audiocraft
        num_masked = max(int((mask_p * units).item()), 1)
        p = float(mask_p)
        plans.append(
            StepPlan(
                stage=stage,
                timestep=float(timestep),
                mask_p=p,
                num_masked=num_masked,
                cfg_coef=p * max_cfg_coef + (1 - p) * min_cfg_coef,
                temperature=temperature * (steps_left / steps),
            )
        )
    return plans

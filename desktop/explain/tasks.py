"""What the explain jobs do off the GUI thread: AudioGenX on a take, and the take regenerated with its mask.

Like desktop.jobs.engine, each task is `task(report, cancel) -> result`, never touches a widget, and imports torch
(through core.explain) only inside the worker. The model comes from the window's one EngineHolder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.cancel import CancelToken
from core.models.precision import recorded_precision
from core.takes.take import Take, load_take
from desktop.jobs.engine import EngineHolder, load_model
from desktop.jobs.worker import Report


def explain_task(holder: EngineHolder, sidecar: Path, ref: str, settings: Any = None):
    """A job task: load the take's model and run AudioGenX on the take (`settings`: ExplainSettings).
    Its result is the core.explain.explainer.Explanation."""

    def task(report: Report, cancel: CancelToken) -> Any:
        take = load_take(sidecar)
        model = load_model(holder, ref, report, cancel, recorded_precision(take.extra))
        from core.explain.explainer import ExplainSettings, explain_take

        progress = lambda step, total: report("explaining", step, total)  # noqa: E731
        return explain_take(model, take, settings or ExplainSettings(), None, progress, cancel)

    return task


def regenerate_task(holder: EngineHolder, sidecar: Path, ref: str, explanation: Any, counterfactual: bool):
    """A job task: the take made again with its explanation's mask M (or 1 - M); kept in memory only."""

    def task(report: Report, cancel: CancelToken) -> Take:
        take = load_take(sidecar)
        model = load_model(holder, ref, report, cancel, recorded_precision(take.extra))
        from core.explain.regenerate import regenerate_take

        progress = lambda step, total: report("regenerating", step, total)  # noqa: E731
        return regenerate_take(model, take, explanation, counterfactual, progress, cancel)

    return task

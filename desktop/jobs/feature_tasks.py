"""What the explain, separate and stem-export jobs do off the GUI thread: plain functions over core.

Like desktop.jobs.tasks, each task is `task(report, cancel) -> result`, never touches a widget, and imports torch
(through core.explain.explainer or core.separation.takes) only inside the worker. Files are written completely or not at
all: a separation whose third stem fails to write removes the two already written.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.cancel import CancelToken, check_cancel
from core.precision import recorded_precision
from core.takes.take import Take, TakeFiles, load_take
from desktop.jobs.tasks import EngineHolder, load_model, write_all
from desktop.jobs.worker import Report


@dataclass(frozen=True)
class TakeJob:
    """The context of a job about one library take: its id, sidecar and model reference (`ref`)."""

    take_id: int
    sidecar: Path
    ref: str  # the model that made the take; the controller's "Loading <ref>" progress reads it


@dataclass
class ExplainResult:
    take_id: int
    explanation: Any  # core.explain.explainer.Explanation


@dataclass
class RegenerateResult:
    take_id: int
    counterfactual: bool
    take: Take


@dataclass
class SeparationResult:
    take_id: int
    stems: list[tuple[Take, TakeFiles, float]] = field(default_factory=list)  # take, files, created


@dataclass(frozen=True)
class StemsJob:
    """The context of a stem export: the scene, where it goes and how (core.export.settings)."""

    scene: Any  # core.export.scene.Scene
    folder: Path
    settings: Any  # core.export.settings.ExportSettings
    ref: str = ""


class SeparatorHolder:
    """Owns the demucs separator once loaded (in a worker), so a second separation starts at once."""

    def __init__(self) -> None:
        self._separator: Any = None
        self._lock = threading.Lock()

    def get(self, report: Report, cancel: CancelToken) -> Any:
        with self._lock:
            if self._separator is None:
                from core.separation.htdemucs import load_separator

                progress = lambda done, total: report("download", done, total)  # noqa: E731
                self._separator = load_separator(progress=progress, cancel=cancel)
            return self._separator

    def unload(self) -> None:
        self._separator = None


def explain_task(holder: EngineHolder, job: TakeJob, settings: Any = None):
    """A job task: load the take's model and run AudioGenX on the take (`settings`: ExplainSettings)."""

    def task(report: Report, cancel: CancelToken) -> ExplainResult:
        take = load_take(job.sidecar)
        model = load_model(holder, job.ref, report, cancel, recorded_precision(take.extra))
        from core.explain.explainer import ExplainSettings, explain_take

        progress = lambda step, total: report("explaining", step, total)  # noqa: E731
        explanation = explain_take(model, take, settings or ExplainSettings(), None, progress, cancel)
        return ExplainResult(job.take_id, explanation)

    return task


def regenerate_task(holder: EngineHolder, job: TakeJob, explanation: Any, counterfactual: bool):
    """A job task: the take made again with its explanation's mask M (or 1 - M); kept in memory only."""

    def task(report: Report, cancel: CancelToken) -> RegenerateResult:
        take = load_take(job.sidecar)
        model = load_model(holder, job.ref, report, cancel, recorded_precision(take.extra))
        from core.explain.regenerate import regenerate_take

        progress = lambda step, total: report("regenerating", step, total)  # noqa: E731
        made = regenerate_take(model, take, explanation, counterfactual, progress, cancel)
        return RegenerateResult(job.take_id, counterfactual, made)

    return task


def separate_task(separators: SeparatorHolder, job: TakeJob, library_dir: Path):
    """A job task: split the take into stems (demucs htdemucs) and write each as a library take."""

    def task(report: Report, cancel: CancelToken) -> SeparationResult:
        take = load_take(job.sidecar)
        separator = separators.get(report, cancel)
        from core.separation.takes import separate_take

        progress = lambda step, total: report("separating", step, total)  # noqa: E731
        stems = separate_take(take, separator, progress, cancel)
        check_cancel(cancel)  # once writing starts it finishes: the stems are written all or none
        created = time.time()
        return SeparationResult(job.take_id, write_all(library_dir, stems, created))

    return task


def stems_task(job: StemsJob):
    """A job task: core.export.scene.export_stems of the scene into the folder (all files or none)."""

    def task(report: Report, cancel: CancelToken) -> Any:
        from core.export.scene import export_stems

        progress = lambda step, total: report("exporting stems", step, total)  # noqa: E731
        return export_stems(job.scene, job.folder, job.settings, progress, cancel)

    return task

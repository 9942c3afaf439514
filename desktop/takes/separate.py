"""Separate stems: split the selected music take into drums, bass, other and vocals takes, as a queued job.

The separator is the engine's one (`Engine.separator`), so melody conditioning and separation share a single
htdemucs and "Free loaded models" frees it. The job writes the four stems all or none, then answers this object,
which records them in the library on the GUI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from core.cancel import CancelToken, check_cancel
from core.errors import SoundDeskError
from core.takes.library import TakeRecord
from core.takes.take import Take, TakeFiles, load_take
from desktop.generate.model_picker import ModelInfo
from desktop.jobs.engine import EngineHolder, write_all
from desktop.jobs.queue import Job, short_prompt
from desktop.jobs.worker import Report
from desktop.services.app import AppServices
from desktop.services.feature import TakeActionFeature

SEPARATE_TIP = "Split this music take into drums, bass, other and vocals takes (demucs htdemucs)"

Written = list[tuple[Take, TakeFiles, float]]  # take, files, created


def separation_unavailable(record: TakeRecord, info: ModelInfo) -> str | None:
    """Why this take cannot be split into stems (a tooltip sentence), or None."""
    if "stem" in record.extra:
        return f"This take is already the {record.extra['stem']} stem of another take."
    return info.capabilities.why_not_separable() if info.capabilities is not None else None


def separate_task(holder: EngineHolder, sidecar: Path, library_dir: Path):
    """A job task: split the take into stems with the engine's separator and write each as a library take."""

    def task(report: Report, cancel: CancelToken) -> Written:
        take = load_take(sidecar)
        engine = holder.get()
        separator = engine.separator(lambda done, total: report("download", done, total), cancel)
        from core.separation.takes import separate_take

        progress = lambda step, total: report("separating", step, total)  # noqa: E731
        stems = separate_take(take, separator, progress, cancel)
        check_cancel(cancel)  # once writing starts it finishes: the stems are written all or none
        return write_all(library_dir, stems, time.time())

    return task


class Separation(TakeActionFeature):
    """The "Separate stems" action for the selected take and the jobs it queues; `takes_added` the stems."""

    def __init__(
        self, services: AppServices, model_info: Callable[[str], ModelInfo], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.services, self.queue, self.engine = services, services.queue, services.engine
        self._model_info = model_info
        self.record: TakeRecord | None = None
        self.action = QAction("Separate stems", self)
        self.action.setObjectName("separate")
        self.action.setToolTip(SEPARATE_TIP)
        self.action.triggered.connect(self.separate)

    def show_take(self, record: TakeRecord | None) -> None:
        self.record = record
        why = separation_unavailable(record, self._model_info(record.model)) if record is not None else None
        self.action.setEnabled(record is not None and why is None)
        self.action.setToolTip(why or SEPARATE_TIP)

    def separate(self) -> Job | None:
        record = self.record
        if record is None or not self.action.isEnabled():
            return None
        title = f"separate “{short_prompt(record.prompt)}”"
        task = separate_task(self.engine, record.sidecar_path, self.services.library_dir())
        return self.queue.submit(Job(title, task, lambda written: self._record(title, written)))

    def _record(self, title: str, written: Written) -> None:
        library = self.services.library
        if library is None:
            self.error.emit("The library is closed; the stems were written but not recorded.")
            return
        try:
            records = [library.add(take, files, created) for take, files, created in written]
        except SoundDeskError as exc:
            self.error.emit(str(exc))
            return
        self.takes_added.emit(records)
        names = ", ".join(take.extra.get("stem", "?") for take, _, _ in written)
        self.message.emit(f"Separated {title[len('separate ') :]} into {len(records)} takes: {names}.")

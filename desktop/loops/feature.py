""" "Make loop" in the window: the action on the selected take, its queued job, and the loop take's library row.

The loop is made and its files written on the window's one JobQueue (so it shows in the queue, waits its turn
and can be cancelled); the library row is added back on the GUI thread, where the library lives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from core.cancel import CancelToken, check_cancel
from core.errors import SoundDeskError
from core.loops.takes import LoopSpec, loop_label, make_loop_take, record_loop, write_loop_take_files
from core.takes.library import TakeRecord
from core.takes.take import Take, TakeFiles, load_take
from desktop.jobs.queue import Job
from desktop.jobs.worker import Report
from desktop.loops.dialog import MakeLoopDialog
from desktop.services.app import AppServices
from desktop.services.feature import TakeActionFeature

LOOP_TIP = "Make a tempo-exact or seamless loop of this take (a new take; this one is kept as it is)"


@dataclass(frozen=True)
class LoopJob:
    """The context of a loop job: which take, what loop, and the library folder the loop is written to."""

    take_id: int
    sidecar: Path
    spec: LoopSpec
    library_dir: Path
    ref: str = ""


@dataclass
class LoopResult:
    source_id: int
    take: Take
    files: TakeFiles
    created: float


def loop_task(job: LoopJob):
    """A job task: make the loop take and write its files into the library folder (all or none)."""

    def task(report: Report, cancel: CancelToken) -> LoopResult:
        source = load_take(job.sidecar)
        progress = lambda step, total: report("looping", step, total)  # noqa: E731
        take = make_loop_take(source, job.spec, str(job.sidecar), progress, cancel)
        check_cancel(cancel)
        created = time.time()
        return LoopResult(job.take_id, take, write_loop_take_files(job.library_dir, take, created), created)

    return task


class LoopFeature(TakeActionFeature):
    """The "Make loop…" action for the selected take, the jobs it queues and the loop takes it records.

    A take feature like Separation: the queue, the library and its folder, and the settings the dialog remembers
    its fields in come from the AppServices; it answers with signals (takes_added, message, error).
    """

    def __init__(self, services: AppServices, parent: QWidget) -> None:
        super().__init__(parent)
        self.services, self.queue, self._settings = services, services.queue, services.settings
        self.record: TakeRecord | None = None
        self.follow_tempo: Callable[[], float | None] = lambda: None  # a DAW's tempo (Link) that loops are made at
        self.action = QAction("Make loop…", self)
        self.action.setObjectName("make_loop")
        self.action.setToolTip(LOOP_TIP)
        self.action.triggered.connect(lambda: self.make_loop())
        self.show_take(None)

    def make_loop(self, spec: LoopSpec | None = None) -> Job | None:
        """Queue a loop of the selected take: `spec`, or what the dialog asks for (None when cancelled)."""
        record = self.record
        if record is None:
            return None
        if spec is None:
            dialog = MakeLoopDialog(record, self._settings, self.parent())
            if (bpm := self.follow_tempo()) is not None:
                dialog.bpm.setValue(bpm)
            if dialog.exec() != MakeLoopDialog.DialogCode.Accepted:
                return None
            try:
                spec = dialog.spec()
            except SoundDeskError as exc:
                self.error.emit(str(exc))
                return None
            dialog.remember()
        context = LoopJob(record.id, record.sidecar_path, spec, self.services.library_dir())
        what = f"{spec.bars} bars at {spec.bpm:g} BPM" if spec.kind == "music" else "seamless"
        return self.queue.submit(Job(f"loop ({what}) of “{record.name}”", loop_task(context), self._recorded))

    def _recorded(self, result: LoopResult) -> None:
        library = self.services.library
        if library is None:
            self.error.emit("The library is closed; the loop was written but not recorded.")
            return
        try:
            record = record_loop(library, result.take, result.files, result.created)
        except SoundDeskError as exc:
            self.error.emit(str(exc))
            return
        self.takes_added.emit([record])
        self.message.emit(f"Made a loop: {loop_label(result.take.extra['loop'])}, {record.wav_path.name}.")

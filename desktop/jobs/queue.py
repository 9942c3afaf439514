"""The job queue ensures no two jobs run at once: one worker thread at a time, the rest wait in a list.

Each job gets a fresh QThread with a Worker moved onto it, and starts once the previous thread has really ended.
A job answers whoever submitted it: its result goes to the job's own `on_finished` callback, on the GUI thread
(napari's `create_worker(_connect={"returned": cb})`). The queue's signals are for whoever shows the queue
(progress, status, errors), and carry the job. `shutdown()` cancels, drops the waiting jobs and `wait()`s for the
thread: the owner calls it on close. Never `QThread.terminate()`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from desktop.jobs.worker import Task, Worker

_ids = itertools.count(1)


def short_prompt(prompt: str, limit: int = 32) -> str:
    """A prompt cut to fit a job's title in the queue list."""
    return prompt if len(prompt) <= limit else prompt[: limit - 1] + "…"


@dataclass(eq=False)
class Job:
    """A unit of work: a title for the queue list, the task, and the callback its result goes to."""

    title: str
    task: Task
    on_finished: Callable[[Any], None] | None = None  # called on the GUI thread with the task's result
    subject: str = ""  # what the job works on, named in its progress line ("Loading <subject>…")
    id: int = field(default_factory=lambda: next(_ids))


class JobQueue(QObject):
    """Runs submitted jobs one after another on worker threads; all signals arrive on the GUI thread."""

    started = Signal(object)  # Job
    progress = Signal(object, str, int, int)  # Job, stage, step, total
    finished = Signal(object, object)  # Job, result
    failed = Signal(object, str)  # Job, message
    cancelled = Signal(object)  # Job
    changed = Signal()  # the running job or the waiting list changed
    idle = Signal()  # the last job ended and nothing waits

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: list[Job] = []
        self._current: Job | None = None
        self._worker: Worker | None = None
        self._thread: QThread | None = None

    @property
    def current(self) -> Job | None:
        return self._current

    @property
    def pending(self) -> list[Job]:
        return list(self._pending)

    def jobs(self) -> list[Job]:
        """The running job (if any), then the waiting ones."""
        return ([self._current] if self._current is not None else []) + self._pending

    @property
    def busy(self) -> bool:
        return self._current is not None

    def submit(self, job: Job) -> Job:
        self._pending.append(job)
        self.changed.emit()
        self._start_next()
        return job

    def cancel_current(self) -> None:
        """Ask the running job to stop at its next step; `cancelled` follows."""
        if self._worker is not None:
            self._worker.cancel()

    def remove(self, job: Job) -> bool:
        """Drop a waiting job (a running one is cancelled instead)."""
        if job is self._current:
            self.cancel_current()
            return True
        if job in self._pending:
            self._pending.remove(job)
            self.changed.emit()
            return True
        return False

    def cancel_all(self) -> None:
        self._pending.clear()
        self.cancel_current()
        self.changed.emit()

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Cancel everything and wait for the worker thread to end (by default for as long as it takes: a
        step that ignores the token, such as reading a large checkpoint, still ends); True when none is left."""
        self.cancel_all()
        thread = self._thread
        if thread is None:
            return True
        return thread.wait() if timeout_ms is None else thread.wait(timeout_ms)

    def _start_next(self) -> None:
        if self._current is not None or not self._pending:
            return
        job = self._current = self._pending.pop(0)
        worker = self._worker = Worker(job.task)
        thread = self._thread = QThread(self)
        thread.setObjectName(f"sounddesk-job-{job.id}")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            # Direct: quit() is thread-safe, and a queued call would never run while shutdown() waits.
            signal.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        thread.finished.connect(self._on_thread_finished)
        self.changed.emit()
        self.started.emit(job)
        thread.start()

    @Slot(str, int, int)
    def _on_progress(self, stage: str, step: int, total: int) -> None:
        if self._current is not None:
            self.progress.emit(self._current, stage, step, total)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        job = self._current
        if job is not None and job.on_finished is not None:
            job.on_finished(result)
        self.finished.emit(job, result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.failed.emit(self._current, message)

    @Slot()
    def _on_cancelled(self) -> None:
        self.cancelled.emit(self._current)

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        # The worker has no parent: dropping the last reference deletes it (its thread has ended).
        self._thread = self._worker = self._current = None
        self.changed.emit()
        if self._pending:
            self._start_next()
        else:
            self.idle.emit()

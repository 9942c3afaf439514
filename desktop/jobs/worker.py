"""A thin worker: runs one core task off the GUI thread and turns its callbacks into past-tense signals.

The task is a plain function `task(report, cancel) -> result` built from core calls; `report(stage, step,
total)` forwards core's `progress(step, total)` and `cancel` is the core CancelToken the task hands to core.
`Worker.cancel()` only sets that token: core raises GenerationCancelled at its next step, and the worker
emits `cancelled`. A SoundDeskError becomes `failed(its sentence)`; anything else is logged and becomes
`failed` with a short sentence, so a bug never takes the window down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from core.cancel import CancelToken
from core.errors import GenerationCancelled, ModelNotDownloadedError, SoundDeskError

log = logging.getLogger(__name__)

Report = Callable[[str, int, int], None]
"""`report(stage, step, total)`: a stage name ("download", "load", "generate", ...) and its progress."""

Task = Callable[[Report, CancelToken], Any]

PROGRESS_INTERVAL_S = 0.03
"""Progress signals are thinned to about 30 per second (plus every stage's first and last step)."""


OPEN_FOLDER = "open a model folder you already have (File ▸ Open model folder…)"


def window_sentence(exc: SoundDeskError) -> str:
    """The error's sentence, in the window's words where core's speaks command line (a model not downloaded:
    the window's way out is its menus, not a --model argument)."""
    if isinstance(exc, ModelNotDownloadedError):
        download = "untick Model ▸ Work offline" if exc.offline else "connect to the network"
        return exc.sentence(f"{download} to download it, or {OPEN_FOLDER}")
    return str(exc)


class Worker(QObject):
    """Runs `task` once in whatever thread it lives in; emits exactly one of finished / failed / cancelled."""

    progress = Signal(str, int, int)  # stage, step, total
    finished = Signal(object)  # the task's result
    failed = Signal(str)  # a sentence for the user
    cancelled = Signal()

    def __init__(self, task: Task) -> None:
        super().__init__()
        self._task = task
        self._token = CancelToken()
        self._last_emit = 0.0
        self._last_stage = ""

    def cancel(self) -> None:
        """Ask the task to stop at its next step (thread-safe; returns at once)."""
        self._token.cancel()

    @Slot()
    def run(self) -> None:
        try:
            result = self._task(self._report, self._token)
        except GenerationCancelled:
            self.cancelled.emit()
        except SoundDeskError as exc:
            self.failed.emit(window_sentence(exc))
        except MemoryError:
            self.failed.emit("Out of memory: try a shorter duration, fewer variations or a smaller model.")
        except Exception as exc:
            log.exception("task failed")
            self.failed.emit(f"Unexpected error ({type(exc).__name__}: {exc}). Details are in the log file.")
        else:
            self.finished.emit(result)

    def _report(self, stage: str, step: int, total: int) -> None:
        now = time.monotonic()
        boundary = stage != self._last_stage or step >= total or step <= 1
        if boundary or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit, self._last_stage = now, stage
            self.progress.emit(stage, step, total)

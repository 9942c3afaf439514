"""Takes whose files exist but whose history row could not be added yet, because another program held the
library's lock or the library was still opening: retried every few seconds (and at once when the library
opens) with a short wait each, until every one is recorded, so a long-lived window recovers by itself.

A take still pending when the window closes is not lost: its files are in the library folder, and the next open
records it (core.takes.adopt).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from core.errors import SoundDeskError
from core.takes.history_db import LibraryBusyError
from core.takes.library import Library

RETRY_MS = 2000
RETRY_WAIT_S = 0.25  # per retry, on the GUI thread: short, the timer tries again

Pending = tuple[Any, Any, float, Any]  # take, files, created, (CLAP name, vector) or None


class PendingTakes(QObject):
    """Retries recording takes in the library; `recorded` carries the records that made it."""

    recorded = Signal(list)  # [TakeRecord]

    def __init__(self, library: Callable[[], Library | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._items: list[Pending] = []
        self._timer = QTimer(self)
        self._timer.setInterval(RETRY_MS)
        self._timer.timeout.connect(self.retry)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, items: list[Pending]) -> None:
        self._items.extend(items)
        if self._items:
            self._timer.start()

    def retry(self) -> None:
        """Record what is pending, oldest first, until the library is busy again."""
        library = self._library()
        if library is None:
            return
        records = []
        while self._items:
            take, files, created, embedding = self._items[0]
            try:
                records.append(library.add(take, files, created, embedding=embedding, wait_s=RETRY_WAIT_S))
            except LibraryBusyError:
                break
            except SoundDeskError:  # not a lock: the files stay, and the next open records them
                pass
            self._items.pop(0)
        if not self._items:
            self._timer.stop()
        if records:
            self.recorded.emit(records)

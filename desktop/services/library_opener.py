"""Opening the take library off the GUI thread while another program keeps its history locked.

The window first tries to open its library at once (one short attempt). If another program holds the lock
(a CLI run, a second window, a backup tool), a LibraryOpener keeps trying on its own thread, so the window is
shown and usable at once and its status line says what it waits for; `opened` hands the Library to the GUI
thread, which uses it from then on. The owner calls `stop()` (which waits) before it closes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from core.errors import SoundDeskError
from core.takes.history_db import BUSY_TIMEOUT_S, LibraryBusyError
from core.takes.library import Library

ATTEMPT_S = 0.5  # one attempt's wait for the lock; stop() returns within about this long


def open_now(folder: Path) -> Library:
    """The library after one short attempt on the calling thread (LibraryBusyError when another program holds
    it), with the usual wait for its later changes."""
    library = Library(folder, busy_timeout_s=0)
    library.busy_timeout_s = BUSY_TIMEOUT_S
    return library


class LibraryOpener(QThread):
    """Tries to open one library folder until it opens, fails for another reason, or `stop()` is called."""

    opened = Signal(object)  # Library, to be used on the GUI thread from now on
    failed = Signal(str)  # a sentence: the library cannot be opened at all

    def __init__(self, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.setObjectName(f"open library {self.folder}")
        self._stopped = False

    def run(self) -> None:
        while not self._stopped:
            try:
                library = Library(self.folder, busy_timeout_s=ATTEMPT_S)
            except LibraryBusyError:
                continue
            except SoundDeskError as exc:
                self.failed.emit(str(exc))
                return
            if self._stopped:
                library.close()
                return
            library.busy_timeout_s = BUSY_TIMEOUT_S
            self.opened.emit(library)
            return

    def stop(self) -> None:
        """Stop trying and wait for the thread (at most about one attempt)."""
        self._stopped = True
        self.wait()

"""Unhandled exceptions: logged to a file in the user log folder and shown once, guarded against a storm."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

import platformdirs
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from core.errors import SoundDeskError

log = logging.getLogger("sounddesk")
QUIET_SECONDS = 10.0
"""After one dialog, further exceptions within this time are only logged."""


def log_file() -> Path:
    return Path(platformdirs.user_log_dir("SoundDesk", "SoundDesk")) / "sounddesk.log"


def setup_logging(path: Path | None = None) -> Path:
    """Log to a rotating file; returns the file."""
    path = path or log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if not any(getattr(h, "baseFilename", None) == str(path.resolve()) for h in root.handlers):
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return path


class ExceptionHandler(QObject):
    """`sys.excepthook` replacement: logs every exception; shows at most one dialog per quiet period.

    Exceptions may come from any thread, so the dialog is raised through a queued signal on the GUI thread.
    """

    raised = Signal(str, str)  # short text, details

    def __init__(self, log_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log_path = log_path
        self.shown = 0
        self._last_shown = float("-inf")
        self._box: QMessageBox | None = None
        self._previous = sys.excepthook
        self.raised.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        sys.excepthook = self.handle

    def uninstall(self) -> None:
        sys.excepthook = self._previous

    def handle(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        details = "".join(traceback.format_exception(kind, value, tb))
        log.error("unhandled exception\n%s", details)
        if sys.stderr is not None:  # a terminal sees it too (a windowed app on Windows/macOS has no stderr)
            sys.stderr.write(details)
        if isinstance(value, SoundDeskError):
            text = str(value)
        else:
            text = f"Something went wrong inside SoundDesk ({kind.__name__}: {value})."
        self.raised.emit(text, details)

    @Slot(str, str)
    def _show(self, text: str, details: str) -> None:
        now = time.monotonic()
        if (self._box is not None and self._box.isVisible()) or now - self._last_shown < QUIET_SECONDS:
            return  # a storm of the same failure: one dialog is enough, the log has the rest
        self._last_shown = now
        self.shown += 1
        self._box = QMessageBox(QMessageBox.Icon.Critical, "SoundDesk", text, QMessageBox.StandardButton.Ok)
        self._box.setInformativeText(f"The details were written to {self.log_path}. SoundDesk keeps running.")
        self._box.setDetailedText(details)
        self._box.open()

    @property
    def dialog(self) -> QMessageBox | None:
        return self._box

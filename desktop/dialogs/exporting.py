"""Exporting the selected take from the window: the export dialog, core.export.writer, then "Show in folder".

A take that was given a name is exported under it (the dialog's default file name is `{name}`); the status bar
keeps a "Show in folder" button for the last export.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QToolButton, QWidget

from core.errors import SoundDeskError
from core.takes.library import TakeRecord, given_name
from core.takes.take import load_take
from desktop.dialogs.export_dialog import ExportDialog
from desktop.settings import group, read_str
from desktop.widgets.reveal import reveal

EXPORTS_DIR = "exports"


class TakeExporter(QObject):
    """Asks how to export a take, writes it, and offers its folder afterwards."""

    message = Signal(str)  # what was written (status bar)
    error = Signal(str)  # why nothing was written (one dialog)

    def __init__(self, settings: QSettings, library_dir: Callable[[], Path], parent: QWidget) -> None:
        super().__init__(parent)
        self._settings, self._library_dir, self._parent = settings, library_dir, parent
        self.last: Path | None = None  # the last exported file
        self.reveal_button = QToolButton(text="Show in folder")
        self.reveal_button.setObjectName("showExport")
        self.reveal_button.clicked.connect(self.reveal_last)
        self.reveal_button.hide()

    def default_folder(self) -> Path:
        return self._library_dir() / EXPORTS_DIR

    def folder(self) -> Path:
        """Where exports go: the folder chosen last in the export dialog, else the library's exports folder."""
        with group(self._settings, "export"):
            chosen = read_str(self._settings, "folder")
        return Path(chosen).expanduser() if chosen else self.default_folder()

    def dialog(self, record: TakeRecord) -> ExportDialog:
        return ExportDialog(self._settings, self.default_folder(), self._parent, namer=lambda s: file_name(record, s))

    def ask(self, record: TakeRecord) -> None:
        """Ask how to export `record` (ExportDialog), then write the file through core.export.writer."""
        dialog = self.dialog(record)
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        if self.export(record, dialog.destination(), dialog.export_settings()) is not None:
            dialog.remember()

    def export(self, record: TakeRecord, folder: Path, export_settings: Any) -> Any:
        """Export one take with core.export.writer; returns its ExportResult, or None after saying why not."""
        from core.export.writer import export_take

        try:
            take = load_take(record.sidecar_path)
            result = export_take(take, folder, export_settings, source=record.sidecar_path, name=given_name(record))
        except SoundDeskError as exc:
            self.error.emit(str(exc))
            return None
        self.last = result.path
        self.reveal_button.setToolTip(f"Open the folder of {result.path}")
        self.reveal_button.show()
        notes = (" " + " ".join(result.notes)) if result.notes else ""
        self.message.emit(f"Exported {result.path}.{notes}")
        return result

    def reveal_last(self) -> bool:
        return self.last is not None and reveal(self.last)

    def reveal_folder(self) -> bool:
        """Open the exports folder in the file manager (made first if it does not exist yet)."""
        folder = self.folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.error.emit(f"Cannot create the exports folder {folder}: {exc.strerror or exc}.")
            return False
        return reveal(folder)


def file_name(record: TakeRecord, export_settings: Any) -> str:
    """The file name exporting `record` with `export_settings` gives (before any -2 for an existing file)."""
    from core.export.writer import file_stem

    stem = file_stem(export_settings, record.prompt, record.model, record.seed, 1, datetime.now(), given_name(record))
    return stem + export_settings.audio_format.extension

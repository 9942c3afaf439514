"""The export dialog: choose folder, format, sample rate and levelling, then core.export.writer writes the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QWidget,
)

from desktop.settings import group, read_str
from desktop.widgets.folder_field import FolderField

LEVEL_LABELS = {
    "none": "As generated",
    "peak": "Peak -1 dBFS",
    "loudness": "Loudness -14 LUFS",
    "audiocraft": "audiocraft loudness (-14 LUFS, compressor)",
}


class ExportDialog(QDialog):
    """Collects an ExportSettings and a destination folder; remembers them in settings group "export"."""

    def __init__(self, settings: QSettings, default_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from core.export.settings import FORMATS, SAMPLE_RATES

        self.setWindowTitle("Export take")
        self._settings = settings
        row = FolderField("Export to")
        self.folder = row.edit
        self.format = QComboBox()
        for key, fmt in FORMATS.items():
            self.format.addItem(fmt.label, key)
        self.rate = QComboBox()
        self.rate.addItem("As generated", None)
        for rate in SAMPLE_RATES:
            self.rate.addItem(f"{rate} Hz", rate)
        self.level = QComboBox()
        for key, label in LEVEL_LABELS.items():
            self.level.addItem(label, key)
        form = QFormLayout(self)
        form.addRow("Folder", row)
        form.addRow("Format", self.format)
        form.addRow("Sample rate", self.rate)
        form.addRow("Level", self.level)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        with group(settings, "export"):
            self.folder.setText(read_str(settings, "folder", str(default_folder)))
            self._select(self.format, read_str(settings, "format", "wav24"))
            self._select(self.rate, settings.value("sample_rate", 48000))
            self._select(self.level, read_str(settings, "level", "none"))

    @staticmethod
    def _select(combo: QComboBox, value: Any) -> None:
        for i in range(combo.count()):
            if str(combo.itemData(i)) == str(value):
                combo.setCurrentIndex(i)
                return

    def export_settings(self) -> Any:
        from core.export.settings import ExportSettings

        return ExportSettings(
            format=self.format.currentData(),
            sample_rate=self.rate.currentData(),
            level=self.level.currentData(),
        )

    def destination(self) -> Path:
        return Path(self.folder.text()).expanduser()

    def remember(self) -> None:
        with group(self._settings, "export"):
            self._settings.setValue("folder", self.folder.text())
            self._settings.setValue("format", self.format.currentData())
            self._settings.setValue("sample_rate", self.rate.currentData() or "")
            self._settings.setValue("level", self.level.currentData())

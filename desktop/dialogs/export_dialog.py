"""The export dialog: folder, format, sample rate, level, file name, trim and fades; core.export.writer writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QWidget,
)

from core.errors import SoundDeskError
from desktop.settings import group, read_bool, read_float, read_str
from desktop.widgets.folder_field import FolderField

LEVEL_LABELS = {
    "none": "As generated",
    "peak": "Peak -1 dBFS",
    "loudness": "Loudness -14 LUFS",
    "audiocraft": "audiocraft loudness (-14 LUFS, compressor)",
}
NAMING_PRESETS = ("{name}", "{prompt}_{model}_{seed}", "{date}_{name}", "{name}_{index}")
NAMING_HELP = (
    "File name pattern: {name} is the name you gave the take (Rename…), else prompt_model_seed; "
    "also {prompt}, {model}, {seed}, {date}, {index}"
)
TRIM_DEFAULT_DB = -60.0

FileNamer = Callable[[Any], str]
"""`namer(export_settings)`: the file name the export would get (core.export.writer's naming), for the preview."""


def _spin(minimum: float, maximum: float, value: float, suffix: str, decimals: int = 0) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(minimum=minimum, maximum=maximum, decimals=decimals, suffix=suffix)
    spin.setValue(value)
    return spin


class ExportDialog(QDialog):
    """Collects an ExportSettings and a destination folder; remembers them in settings group "export"."""

    def __init__(
        self, settings: QSettings, default_folder: Path, parent: QWidget | None = None, namer: FileNamer | None = None
    ) -> None:
        super().__init__(parent)
        from core.export.settings import FORMATS, SAMPLE_RATES

        self.setWindowTitle("Export take")
        self._settings, self._namer = settings, namer
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
        self.naming = QComboBox(editable=True, toolTip=NAMING_HELP)
        self.naming.addItems(NAMING_PRESETS)
        self.file_name = QLabel(wordWrap=True)
        self.trim = QCheckBox("Trim silence below")
        self.trim.setToolTip("Cut quiet samples at the start and the end of the take")
        self.trim_db = _spin(-120.0, -1.0, TRIM_DEFAULT_DB, " dBFS")
        self.fade_in = _spin(0.0, 10_000.0, 0.0, " ms")
        self.fade_out = _spin(0.0, 10_000.0, 0.0, " ms")
        form = QFormLayout(self)
        form.addRow("Folder", row)
        form.addRow("Format", self.format)
        form.addRow("Sample rate", self.rate)
        form.addRow("Level", self.level)
        form.addRow("File name", self.naming)
        form.addRow("", self.file_name)
        form.addRow("Trim", self._pair(self.trim, self.trim_db))
        form.addRow("Fade in / out", self._pair(self.fade_in, self.fade_out))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        form.addRow(buttons)
        self._restore(settings, default_folder)
        self.trim.toggled.connect(self.trim_db.setEnabled)
        self.trim_db.setEnabled(self.trim.isChecked())
        for combo in (self.format, self.naming):
            combo.currentTextChanged.connect(self._show_file_name)
        self.naming.editTextChanged.connect(self._show_file_name)
        self._show_file_name()

    @staticmethod
    def _pair(first: QWidget, second: QWidget) -> QWidget:
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(first)
        layout.addWidget(second)
        layout.addStretch(1)
        return box

    def _restore(self, settings: QSettings, default_folder: Path) -> None:
        """The fields as last accepted; never accepted: core's defaults (core.export.settings.ExportSettings)."""
        from core.export.settings import ExportSettings

        default = ExportSettings()
        with group(settings, "export"):
            self.folder.setText(read_str(settings, "folder", str(default_folder)))
            self._select(self.format, read_str(settings, "format", default.format))
            self._select(self.rate, settings.value("sample_rate", default.sample_rate))
            self._select(self.level, read_str(settings, "level", default.level))
            self.naming.setEditText(read_str(settings, "naming", NAMING_PRESETS[0]) or NAMING_PRESETS[0])
            self.trim.setChecked(read_bool(settings, "trim", False))
            self.trim_db.setValue(read_float(settings, "trim_db", TRIM_DEFAULT_DB))
            self.fade_in.setValue(read_float(settings, "fade_in_ms", 0.0))
            self.fade_out.setValue(read_float(settings, "fade_out_ms", 0.0))

    @staticmethod
    def _select(combo: QComboBox, value: Any) -> None:
        for i in range(combo.count()):
            if str(combo.itemData(i)) == str(value):
                combo.setCurrentIndex(i)
                return

    def export_settings(self) -> Any:
        """The ExportSettings the dialog shows (raises InvalidParameterError for a malformed name pattern)."""
        from core.export.settings import ExportSettings

        return ExportSettings(
            format=self.format.currentData(),
            sample_rate=self.rate.currentData(),
            level=self.level.currentData(),
            naming=self.naming.currentText().strip() or NAMING_PRESETS[0],
            trim_silence=self.trim_db.value() if self.trim.isChecked() else None,
            fade_in=self.fade_in.value() / 1000.0,
            fade_out=self.fade_out.value() / 1000.0,
        )

    def _show_file_name(self) -> None:
        """Say which file the export writes, or why the pattern cannot be used (then OK is disabled)."""
        try:
            export_settings = self.export_settings()
        except SoundDeskError as exc:
            self.file_name.setText(f"<i>{exc}</i>")
            self.ok_button.setEnabled(False)
            return
        self.ok_button.setEnabled(True)
        self.file_name.setText(f"→ {self._namer(export_settings)}" if self._namer is not None else "")

    def destination(self) -> Path:
        return Path(self.folder.text()).expanduser()

    def remember(self) -> None:
        with group(self._settings, "export"):
            self._settings.setValue("folder", self.folder.text())
            self._settings.setValue("format", self.format.currentData())
            self._settings.setValue("sample_rate", self.rate.currentData() or "")
            self._settings.setValue("level", self.level.currentData())
            self._settings.setValue("naming", self.naming.currentText().strip())
            self._settings.setValue("trim", self.trim.isChecked())
            self._settings.setValue("trim_db", self.trim_db.value())
            self._settings.setValue("fade_in_ms", self.fade_in.value())
            self._settings.setValue("fade_out_ms", self.fade_out.value())

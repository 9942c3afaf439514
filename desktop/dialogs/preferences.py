"""The preferences dialog: library folder, audio output, offline mode, ranking, theme, preview while generating."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QWidget,
)

from desktop.playback import output_devices
from desktop.settings import Preferences
from desktop.widgets.folder_field import FolderField


class PreferencesDialog(QDialog):
    """Edits a copy of Preferences; `preferences()` returns the edited one."""

    def __init__(self, preferences: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        row = FolderField("Library folder", str(preferences.library_dir), openable=True)
        self.library_dir, self.library_field = row.edit, row
        where = QLabel(
            "Every take is saved here as soon as it is made (WAV, codes and a JSON file); exports go to its "
            "“exports” folder unless you choose another when exporting, and renamed takes you drag out to its "
            "“Named” folder."
        )
        where.setWordWrap(True)
        self.device = QComboBox()
        self.device.addItem("System default", "")
        for _index, name in output_devices():
            self.device.addItem(name, name)
        if self.device.findData(preferences.output_device) < 0 and preferences.output_device:
            self.device.addItem(f"{preferences.output_device} (not connected)", preferences.output_device)
        self.device.setCurrentIndex(max(0, self.device.findData(preferences.output_device)))
        self.offline = QCheckBox("Work offline (never reach the model hub; use downloaded models only)")
        self.offline.setChecked(preferences.offline)
        self.rank_takes = QCheckBox("Rank every generation by how well it matches the prompt (CLAP text match)")
        self.rank_takes.setChecked(preferences.rank_takes)
        self.theme = QComboBox()
        self.theme.addItem("Dark", "dark")
        self.theme.addItem("Light", "light")
        self.theme.setCurrentIndex(max(0, self.theme.findData(preferences.theme)))
        self.preview = QCheckBox("Hear takes while they are generated (uses some CPU: generation is a little slower)")
        self.preview.setChecked(preferences.preview)
        form = QFormLayout(self)
        form.addRow("Library folder", row)
        form.addRow("", where)
        form.addRow("Audio output", self.device)
        form.addRow("Theme", self.theme)
        form.addRow(self.preview)
        form.addRow(self.offline)
        form.addRow(self.rank_takes)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def preferences(self) -> Preferences:
        return Preferences(
            library_dir=Path(self.library_dir.text()).expanduser(),
            output_device=str(self.device.currentData() or ""),
            offline=self.offline.isChecked(),
            rank_takes=self.rank_takes.isChecked(),
            theme=str(self.theme.currentData() or "dark"),
            preview=self.preview.isChecked(),
        )

"""The "Render a manifest" dialog: the manifest's validation result, the output folder and the library option."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from core.render.manifest import Manifest
from desktop.widgets.folder_field import FolderField


class RenderDialog(QDialog):
    """Shows what the manifest holds (every invalid row with its line); Render needs a folder and a valid row."""

    def __init__(self, manifest: Manifest, out: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manifest = manifest
        self.setWindowTitle(f"Render {manifest.path.name}")
        self.summary = QLabel(manifest.summary())
        self.summary.setWordWrap(True)
        self.errors = QPlainTextEdit("\n".join(str(error) for error in manifest.errors))
        self.errors.setReadOnly(True)
        self.errors.setVisible(bool(manifest.errors))
        self.skip_invalid = QCheckBox("Render the valid rows and leave the invalid ones out")
        self.skip_invalid.setVisible(bool(manifest.errors))
        self.folder = FolderField("Render into folder", str(out))
        self.add_to_library = QCheckBox("Add the new takes to the library")
        form = QFormLayout()
        form.addRow("Output folder", self.folder)
        form.addRow("", self.add_to_library)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.render_button = self.buttons.addButton("Render", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.summary, self.errors, self.skip_invalid):
            layout.addWidget(widget)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.skip_invalid.toggled.connect(self._update)
        self.folder.edit.textChanged.connect(self._update)
        self._update()

    def out(self) -> Path:
        return Path(self.folder.edit.text().strip()).expanduser()

    def _update(self) -> None:
        valid = bool(self.manifest.rows) and (not self.manifest.errors or self.skip_invalid.isChecked())
        self.render_button.setEnabled(valid and bool(self.folder.edit.text().strip()))

"""A folder path field: a line edit, a "…" button that opens the folder chooser and, if asked, an "Open" button."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QToolButton, QWidget

from desktop.widgets.reveal import reveal


class FolderField(QWidget):
    """`edit` holds the path; the button lets the user pick a folder (caption `title`)."""

    def __init__(self, title: str, text: str = "", parent: QWidget | None = None, openable: bool = False) -> None:
        super().__init__(parent)
        self.title = title
        self.edit = QLineEdit(text)
        browse = QToolButton(text="…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        self.open_button = None
        if openable:  # shows the folder in the file manager (made first, so a new library can be looked at)
            self.open_button = QToolButton(text="Open", toolTip="Show this folder in the file manager")
            self.open_button.clicked.connect(self.open_folder)
            row.addWidget(self.open_button)

    def open_folder(self) -> bool:
        folder = Path(self.edit.text()).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return reveal(folder)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.title, self.edit.text())
        if folder:
            self.edit.setText(folder)

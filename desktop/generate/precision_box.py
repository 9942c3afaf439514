"""The precision preference of the generation settings (auto, fp32, bf16, int8, int4) and the mode auto picked."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from core.models.precision import DESCRIPTIONS, PRECISIONS

LABELS = {"auto": "Auto (fastest)", "fp32": "fp32 (exact)", "bf16": "bf16", "int8": "int8", "int4": "int4"}


class PrecisionBox(QWidget):
    """A combo of the precisions and a label naming the one the last loaded model runs in."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        for name in PRECISIONS:
            self.combo.addItem(LABELS[name], name)
            self.combo.setItemData(self.combo.count() - 1, DESCRIPTIONS[name], role=3)  # Qt.ToolTipRole
        self.picked = QLabel("")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.picked)

    def choice(self) -> str:
        return str(self.combo.currentData())

    def set_choice(self, precision: str) -> None:
        index = self.combo.findData(precision)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def show_picked(self, precision: str | None) -> None:
        """Name the precision the model really runs in ("using int8"), e.g. what auto chose."""
        self.picked.setText(f"using {precision}" if precision else "")

    def save_state(self, settings: QSettings) -> None:
        settings.setValue("precision", self.choice())

    def restore_state(self, settings: QSettings) -> None:
        self.set_choice(str(settings.value("precision", "auto")))

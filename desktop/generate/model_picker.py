"""Model picker: the catalog models (family, size, licence, on disk or not) plus local release folders."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from core.models import hub
from core.models.capabilities import Capabilities
from core.models.catalog import CATALOG, ModelSpec
from desktop.settings import read_json, read_str, write_json
from desktop.widgets.layouts import column

MAX_FOLDERS = 12


@dataclass(frozen=True)
class ModelInfo:
    """What the window knows of a model: its capabilities from the catalog before loading, from its checkpoint
    after (`LoadedModel.capabilities`); None for a local folder not loaded yet."""

    ref: str
    capabilities: Capabilities | None = None
    precision: str | None = None  # the resolved precision it runs in, once loaded

    @property
    def melody(self) -> bool:
        return self.capabilities is not None and self.capabilities.melody


def catalog_info(spec: ModelSpec) -> ModelInfo:
    return ModelInfo(spec.id, Capabilities.from_spec(spec))


def describe(spec: ModelSpec, on_disk: bool) -> str:
    where = "on disk" if on_disk else "not downloaded"
    title = Capabilities.from_spec(spec).title
    return f"{spec.id.split('/')[-1]}  ·  {title} · {spec.size} · {spec.licence} · {where}"


class ModelPicker(QWidget):
    """A combo box of models and an "Open model folder…" button; emits `model_changed(ref)`."""

    model_changed = Signal(str)
    folder_opened = Signal(str)
    refilled = Signal()  # the list was rebuilt (the chosen model kept): views sharing it re-select that one

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(18)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.open_button = QPushButton("Open model folder…")
        self.open_button.clicked.connect(self.ask_folder)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setObjectName("modelDetails")
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        row.addWidget(self.open_button)
        column(self, row, self.details)
        self._folders: list[str] = []
        self._loaded: dict[str, ModelInfo] = {}
        self._fill()
        self.combo.currentIndexChanged.connect(self._on_index)

    def _fill(self) -> None:
        current = self.current_ref()
        self.combo.blockSignals(True)
        self.combo.clear()
        for spec in CATALOG.values():
            self.combo.addItem(describe(spec, hub.is_downloaded(spec.id)), spec.id)
        for folder in self._folders:
            self.combo.addItem(f"{Path(folder).name}  ·  local folder", folder)
            self.combo.setItemData(self.combo.count() - 1, folder, Qt.ItemDataRole.ToolTipRole)
        index = self.combo.findData(current) if current else -1
        self.combo.setCurrentIndex(max(index, 0))
        self.combo.blockSignals(False)
        self._show_details()
        self.refilled.emit()

    def local_folders(self) -> list[str]:
        """The model folders opened on this computer, most recent first."""
        return list(self._folders)

    def refresh(self) -> None:
        """Re-check which catalog models are on disk (after a download)."""
        self._fill()

    def current_ref(self) -> str:
        data = self.combo.currentData() if self.combo.count() else None
        return str(data) if data else ""

    def info(self, ref: str | None = None) -> ModelInfo:
        """The best knowledge of `ref` (default: the chosen model)."""
        ref = ref if ref is not None else self.current_ref()
        if ref in self._loaded:
            return self._loaded[ref]
        if ref in CATALOG:
            return catalog_info(CATALOG[ref])
        return ModelInfo(ref, None)

    def set_loaded(self, info: ModelInfo) -> None:
        """Record what loading revealed (the capabilities of a local folder's checkpoint)."""
        self._loaded[info.ref] = info
        if info.ref == self.current_ref():
            self._show_details()

    def select(self, ref: str) -> bool:
        """Choose `ref`, adding it as a local folder if it is one; False if it is unknown."""
        index = self.combo.findData(ref)
        if index < 0 and ref not in CATALOG and os.path.isdir(ref):
            self.add_folder(ref)
            index = self.combo.findData(ref)
        if index < 0:
            return False
        self.combo.setCurrentIndex(index)
        return True

    def add_folder(self, folder: str | os.PathLike) -> str:
        ref = str(Path(folder).expanduser().resolve())
        if ref in self._folders:
            self._folders.remove(ref)
        self._folders.insert(0, ref)
        del self._folders[MAX_FOLDERS:]
        self._fill()
        self.select(ref)
        return ref

    def ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a model folder (state_dict.bin + compression…)")
        if folder:
            self.folder_opened.emit(self.add_folder(folder))

    def _on_index(self, _index: int) -> None:
        self._show_details()
        self.model_changed.emit(self.current_ref())

    def _show_details(self) -> None:
        ref = self.current_ref()
        info = self.info(ref)
        spec = CATALOG.get(ref)
        parts = []
        can = info.capabilities
        if spec is not None:
            parts.append(f"{can.title} {spec.size}, {can.task}, {can.sample_rate // 1000} kHz")
            parts.append(f"{can.channels} ch, up to {can.max_duration:.0f} s per window, licence {spec.licence}")
            parts.append("on disk" if hub.is_downloaded(ref) else "will be downloaded on first use")
        elif can is not None:
            parts.append(f"local {can.title} model, {can.sample_rate} Hz: {ref}")
        else:
            parts.append(f"local folder (loaded on first use): {ref}")
        if info.melody:
            parts.append("melody conditioning")
        self.details.setText("; ".join(parts))

    def save_state(self, settings: QSettings) -> None:
        write_json(settings, "folders", self._folders)
        settings.setValue("model", self.current_ref())

    def restore_state(self, settings: QSettings) -> None:
        folders = read_json(settings, "folders", [])
        self._folders = [f for f in folders if isinstance(f, str) and os.path.isdir(f)][:MAX_FOLDERS]
        self._fill()
        self.select(read_str(settings, "model"))

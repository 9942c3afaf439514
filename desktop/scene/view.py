"""The scene view: takes as layers on one timeline (offset, gain, mute, solo), mix playback, stems, scene files.

Each layer is a row: name, gain in dB, M(ute), S(olo), remove, and its lane on the shared timeline (drag the
clip to move it). `scene()` is the core.export.scene.Scene the rows describe. "Play mix" sums
`core.export.scene.build_layers` on the GUI thread (reading a few takes is milliseconds) and plays it through the
shared Player; "Export stems…" asks for a folder and emits `export_requested(scene, folder)`, which the window
queues as a job; `show_export` then offers the written files and their folder for drag-out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import SoundDeskError
from core.takes.naming import TakeFiles
from desktop.playback import Player
from desktop.scene.lane import DragHandle, LayerLane
from desktop.takes.library_model import read_wav
from desktop.widgets.layouts import scrolling

# core.export.scene imports core.export.writer (scipy, via pyloudnorm): loaded on first use, not at start-up
if TYPE_CHECKING:
    from core.export.scene import Layer, Scene

MIX_KEY = "scene-mix"
MIN_TIMELINE_S = 4.0
TIMELINE_MARGIN = 1.2  # the timeline shows 20 % beyond the end of the last clip, so clips can move right
MIN_GAIN_DB = -60.0
NAME_WIDTH = 150
SCENE_FILTER = "SoundDesk scene (*.scene.json *.json)"


def take_label(sidecar: Path) -> str:
    """A layer without a name of its own is labelled with its take's prompt (the file name if unreadable)."""
    try:
        return str(json.loads(sidecar.read_text(encoding="utf-8"))["prompt"])
    except (OSError, ValueError, KeyError, TypeError):
        return sidecar.stem


class SceneRow(QWidget):
    """One layer: its controls and its lane; `changed` after any edit, `remove_requested` for ✕."""

    changed = Signal()
    remove_requested = Signal(object)  # SceneRow

    def __init__(self, layer: Layer, wav: np.ndarray, sample_rate: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from core.export.scene import MAX_GAIN_DB

        self.layer = layer
        self.label = QLabel(layer.name or take_label(layer.take))
        self.label.setFixedWidth(NAME_WIDTH)
        self.label.setToolTip(str(layer.take))
        self.gain = QDoubleSpinBox(suffix=" dB", decimals=1, singleStep=1.0)
        self.gain.setRange(MIN_GAIN_DB, MAX_GAIN_DB)
        self.gain.setValue(layer.gain_db)
        self.gain.setToolTip("Layer gain")
        self.mute = QToolButton(text="M", checkable=True, checked=layer.mute, toolTip="Mute this layer")
        self.solo = QToolButton(text="S", checkable=True, checked=layer.solo, toolTip="Solo: hear only soloed")
        self.remove = QToolButton(text="✕", toolTip="Remove this layer from the scene")
        self.lane = LayerLane(wav, sample_rate, layer.offset)
        self.gain.valueChanged.connect(self._edited)
        self.mute.toggled.connect(self._edited)
        self.solo.toggled.connect(self._edited)
        self.lane.offset_changed.connect(self._edited)
        self.remove.clicked.connect(lambda: self.remove_requested.emit(self))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.gain, self.mute, self.solo, self.remove):
            row.addWidget(widget)
        row.addWidget(self.lane, 1)

    @property
    def end(self) -> float:
        return self.layer.offset + self.lane.duration

    def _edited(self) -> None:
        try:
            self.layer = replace(
                self.layer,
                offset=self.lane.offset,
                gain_db=self.gain.value(),
                mute=self.mute.isChecked(),
                solo=self.solo.isChecked(),
            )
        except SoundDeskError:  # the controls keep values in range; a failure keeps the last good layer
            return
        self.changed.emit()


class SceneView(QWidget):
    """Layers of takes on a timeline; plays the mix, saves / opens scene files, asks for stem exports."""

    export_requested = Signal(object, object)  # core.export.scene.Scene, Path (folder)
    message = Signal(str)
    changed = Signal()

    def __init__(self, player: Player, folder: Callable[[], Path] = Path.home, parent: QWidget | None = None):
        super().__init__(parent)
        self.player = player
        self.default_folder = folder  # where the file dialogs start (the library folder)
        self.path: Path | None = None  # the scene file last saved or opened
        self.rows: list[SceneRow] = []
        self.name = QLineEdit("scene", placeholderText="scene name (used in the stem file names)")
        self.name.setMaximumWidth(220)
        self.play_button = QPushButton("Play mix")
        self.export_button = QPushButton("Export stems…")
        self.open_button = QPushButton("Open…")
        self.save_button = QPushButton("Save…")
        self.play_button.clicked.connect(self.toggle_mix)
        self.export_button.clicked.connect(self.ask_export)
        self.open_button.clicked.connect(self.ask_open)
        self.save_button.clicked.connect(self.ask_save)
        self.placeholder = QLabel("<i>Select a take and choose “Add to scene” to lay it on the timeline.</i>")
        self.result = QLabel()
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.drag_files = DragHandle("⇱ stems", "Drag the exported stems and mix into a DAW")
        self.drag_folder = DragHandle("⇱ folder", "Drag the folder holding the stems")
        self.reveal_button = QPushButton("Show folder")
        self.reveal_button.clicked.connect(self._reveal)
        self._stems_folder: Path | None = None
        self._exporting = False
        self._build()
        player.position.connect(self._on_position)
        player.stopped.connect(self._on_stopped)
        self._sync()

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Scene"))
        top.addWidget(self.name)
        for button in (self.play_button, self.export_button, self.open_button, self.save_button):
            top.addWidget(button)
        top.addStretch(1)
        rows = QWidget()
        self._rows_layout = QVBoxLayout(rows)
        self._rows_layout.setContentsMargins(2, 2, 2, 2)
        self._rows_layout.addWidget(self.placeholder)
        self._rows_layout.addStretch(1)
        scroll = scrolling(rows)
        bottom = QHBoxLayout()
        bottom.addWidget(self.result, 1)
        for widget in (self.drag_files, self.drag_folder, self.reveal_button):
            bottom.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)

    def scene(self) -> Scene:
        from core.export.scene import Scene

        return Scene(self.name.text().strip() or "scene", tuple(row.layer for row in self.rows))

    def add_take(self, sidecar: Path, name: str, wav: np.ndarray | None = None, rate: int | None = None) -> bool:
        """Lay the take (its JSON sidecar) on the timeline at 0 s; False (and a message) if it cannot be read."""
        from core.export.scene import Layer

        return self._add(Layer(Path(sidecar), name=name), wav, rate)

    def _add(self, layer: Layer, wav: np.ndarray | None = None, rate: int | None = None) -> bool:
        if wav is None or rate is None:
            try:
                wav, rate = read_wav(TakeFiles.of_sidecar(layer.take).wav)
            except (OSError, RuntimeError) as exc:
                self.message.emit(f"Cannot read the take {layer.take}: {exc}.")
                return False
        row = SceneRow(layer, wav, rate)
        row.changed.connect(self._on_row_changed)
        row.remove_requested.connect(self.remove_row)
        self._rows_layout.insertWidget(len(self.rows), row)
        self.rows.append(row)
        self._on_row_changed()
        return True

    def remove_row(self, row: SceneRow) -> None:
        self.stop_mix()
        self.rows.remove(row)
        self._rows_layout.removeWidget(row)
        row.deleteLater()
        self._on_row_changed()

    def clear(self) -> None:
        for row in list(self.rows):
            self.remove_row(row)

    def set_scene(self, scene: Scene) -> None:
        self.clear()
        self.name.setText(scene.name)
        layers = [replace(layer, take=layer.take.resolve()) for layer in scene.layers]  # no "scenes/../" paths
        missing = [str(layer.take) for layer in layers if not self._add(layer)]
        if missing:
            self.message.emit(f"{len(missing)} take(s) of the scene could not be read: {', '.join(missing)}.")

    def mix(self) -> tuple[np.ndarray, int]:
        """The audible layers summed, [C, N] at the scene's rate (core.export.scene.build_layers, float, no dither)."""
        from core.export.scene import build_layers
        from core.export.settings import ExportSettings

        stack = build_layers(self.scene(), ExportSettings(format="wav32f", sample_rate=None))
        return stack.mix, stack.sample_rate

    def toggle_mix(self) -> None:
        if self.player.is_playing(MIX_KEY):
            self.stop_mix()
            return
        if not self.rows:
            self.message.emit("The scene is empty: add takes to it first.")
            return
        try:
            wav, rate = self.mix()
        except SoundDeskError as exc:
            self.message.emit(str(exc))
            return
        if self.player.play(MIX_KEY, wav, rate):
            self.play_button.setText("Stop")

    def stop_mix(self) -> None:
        if self.player.is_playing(MIX_KEY):
            self.player.stop()

    def ask_export(self) -> None:
        if not self.rows:
            self.message.emit("The scene is empty: add takes to it first.")
            return
        folder = QFileDialog.getExistingDirectory(self, "Export stems to", str(self.default_folder()))
        if folder:
            self.export_requested.emit(self.scene(), Path(folder))

    def show_export(self, result) -> None:
        """A core.export.scene.StemsResult arrived: say where the files went and offer them for drag-out."""
        files = [stem.path for stem in result.stems] + [result.mix.path]
        self._stems_folder = result.mix.path.parent
        self.drag_files.set_paths(files)
        self.drag_folder.set_paths([self._stems_folder])
        notes = (" " + " ".join(result.notes)) if result.notes else ""
        self.result.setText(f"{len(result.stems)} stem(s) and the mix in {self._stems_folder}.{notes}")
        self._sync()

    def set_exporting(self, exporting: bool) -> None:
        """While a stem export is queued or running, Export waits."""
        self._exporting = exporting
        self._sync()

    def save(self, path: Path) -> bool:
        from core.export.scene import save_scene

        try:
            self.path = save_scene(self.scene(), path)
        except SoundDeskError as exc:
            self.message.emit(str(exc))
            return False
        self.message.emit(f"Saved the scene to {self.path}.")
        return True

    def load(self, path: Path) -> bool:
        from core.export.scene import load_scene

        try:
            scene = load_scene(path)
        except SoundDeskError as exc:
            self.message.emit(str(exc))
            return False
        self.stop_mix()
        self.path = Path(path)
        self.set_scene(scene)
        return True

    def ask_save(self) -> None:
        start = self.path or self.default_folder() / f"{self.scene().name}.scene.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save scene", str(start), SCENE_FILTER)
        if path:
            self.save(Path(path))

    def ask_open(self) -> None:
        start = self.path.parent if self.path else self.default_folder()
        path, _ = QFileDialog.getOpenFileName(self, "Open scene", str(start), SCENE_FILTER)
        if path:
            self.load(Path(path))

    def _on_row_changed(self) -> None:
        seconds = max([MIN_TIMELINE_S] + [row.end * TIMELINE_MARGIN for row in self.rows])
        audible = set(self.scene().audible())
        for index, row in enumerate(self.rows):
            row.lane.set_timeline(seconds)
            row.lane.set_dimmed(index not in audible)
        self.stop_mix()  # the mix playing no longer matches the scene
        self._sync()
        self.changed.emit()

    def _sync(self) -> None:
        self.placeholder.setVisible(not self.rows)
        for button in (self.play_button, self.export_button, self.save_button):
            button.setEnabled(bool(self.rows))
        self.export_button.setEnabled(bool(self.rows) and not self._exporting)
        shown = self._stems_folder is not None
        for widget in (self.result, self.drag_files, self.drag_folder, self.reveal_button):
            widget.setVisible(shown)

    def _on_position(self, key: object, seconds: float) -> None:
        if key == MIX_KEY:
            for row in self.rows:
                row.lane.set_playhead(seconds)

    def _on_stopped(self, key: object) -> None:
        if key == MIX_KEY:
            self.play_button.setText("Play mix")
            for row in self.rows:
                row.lane.set_playhead(None)

    def _reveal(self) -> None:
        if self._stems_folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._stems_folder)))

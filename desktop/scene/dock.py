"""The scene dock: the scene view in a bottom dock, its Scene menu, "Add to scene", and stem exports as jobs.

A stem export runs on the window's one JobQueue (it shows in the queue, waits its turn, Cancel stops it); its
result comes back to this dock through the job's callback, which offers the files for drag-out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from core.cancel import CancelToken
from core.takes.library import TakeRecord, default_name
from desktop.jobs.queue import Job, JobQueue, short_prompt
from desktop.jobs.worker import Report
from desktop.playback import Player
from desktop.scene.view import SceneView

SCENE_DOCK_HEIGHT = 200  # pixels the scene dock takes when "Add to scene" first opens it (two to three rows)


def stems_task(scene: Any, folder: Path, settings: Any):
    """A job task: core.export.scene.export_stems of the scene into the folder (all files or none)."""

    def task(report: Report, cancel: CancelToken) -> Any:
        from core.export.scene import export_stems

        progress = lambda step, total: report("exporting stems", step, total)  # noqa: E731
        return export_stems(scene, folder, settings, progress, cancel)

    return task


class SceneDock(QDockWidget):
    """Takes as layers on one timeline, docked at the bottom of the window; hidden until first used."""

    message = Signal(str)

    def __init__(self, player: Player, library_dir: Callable[[], Path], queue: JobQueue, window: QMainWindow):
        super().__init__("Scene", window)
        self.setObjectName("sceneDock")
        self.queue, self._window = queue, window
        self.view = SceneView(player, library_dir)
        self.setWidget(self.view)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self)
        self.hide()  # shown by "Add to scene" or the Scene menu; the window state remembers it
        self._jobs: list[Job] = []
        self.add_action = QAction("Add to scene", self)
        self.add_action.setObjectName("add_to_scene")
        self.add_action.setToolTip("Lay this take on the scene")
        self.view.message.connect(self.message)
        self.view.export_requested.connect(self.export_stems)
        queue.changed.connect(self._sync_exporting)

    def fill_menu(self, menu: QMenu) -> None:
        view = self.view
        menu.addAction(self.add_action)
        menu.addAction("Play mix", view.toggle_mix)
        menu.addAction("Export stems…", view.ask_export)
        menu.addSeparator()
        menu.addAction("Open scene…", view.ask_open)
        menu.addAction("Save scene…", view.ask_save)
        menu.addAction(self.toggleViewAction())

    def add_take(self, record: TakeRecord, wav: np.ndarray, rate: int) -> bool:
        """Lay a library take on the scene (named by its prompt unless the user renamed it) and show the dock."""
        renamed = record.name != default_name(record.prompt, record.seed)
        if not self.view.add_take(record.sidecar_path, record.name if renamed else "", wav, rate):
            return False
        if not self.isVisible():
            self.show()
            self._window.resizeDocks([self], [SCENE_DOCK_HEIGHT], Qt.Orientation.Vertical)
        self.raise_()
        self.message.emit(f"Added “{record.name}” to the scene: drag it along the timeline to place it.")
        return True

    def export_stems(self, scene: Any, folder: Path) -> Job:
        from core.export.settings import ExportSettings

        title = f"stems of “{short_prompt(scene.name)}”"
        job = Job(title, stems_task(scene, Path(folder), ExportSettings()), self._exported)
        self._jobs.append(job)
        return self.queue.submit(job)

    def _exported(self, result: Any) -> None:
        self.view.show_export(result)
        self.message.emit(f"Exported {len(result.stems)} stem(s) and the mix to {result.mix.path.parent}.")

    def _sync_exporting(self) -> None:
        live = self.queue.jobs()
        self._jobs = [job for job in self._jobs if job in live]
        self.view.set_exporting(bool(self._jobs))

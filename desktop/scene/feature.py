"""The scene as a take feature: "Add to scene" on the selected take, in the Take menu and under its details.

The SceneDock (desktop.scene.dock) is docked in the window and plays through the app's Player; this feature
reads the selected take's audio and lays it on the scene.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QMenu

from desktop.scene.dock import SceneDock
from desktop.services.app import AppServices
from desktop.services.feature import TakeActionFeature
from desktop.takes.panel import TakesPanel


class SceneFeature(TakeActionFeature):
    """The scene dock and its "Add to scene" action for the selected take."""

    def __init__(self, services: AppServices, takes: TakesPanel, window: QMainWindow) -> None:
        super().__init__(window)
        self.takes = takes
        self.dock = SceneDock(services.player, services.library_dir, services.queue, window)
        self.dock.message.connect(self.message)
        self.action = self.dock.add_action
        self.action.triggered.connect(self.add_selected)

    def fill_menu(self, menu: QMenu) -> None:
        """The Scene menu: add, play the mix, export stems, open and save, show the dock."""
        self.dock.fill_menu(menu)

    def add_selected(self) -> bool:
        """Lay the selected take on the scene; False (and why, in a message) when it cannot."""
        record = self.takes.current()
        if record is None:
            return False
        try:
            wav, rate = self.takes.model.audio(record)
        except (OSError, RuntimeError) as exc:
            self.message.emit(f"Cannot read {record.wav_path}: {exc}.")
            return False
        return self.dock.add_take(record, wav, rate)

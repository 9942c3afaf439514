"""Switching between the main window and the compact window, and keeping the compact one up to date.

`CompactMode` owns the CompactWindow and the checkable "Compact mode" action: on, the main window hides and
the compact window shows where it was last (or at the top right of the screen); off, the reverse. The compact
window follows the controller's progress and busy state; its Generate goes through the main window's
`generate` (one queue, one engine). A take feature (desktop.services.feature) with a File menu entry and a
toolbar button.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QWidget

from desktop.compact.window import CompactWindow
from desktop.generate.controller import GenerationController
from desktop.generate.panel import GeneratePanel
from desktop.services.feature import TakeFeature
from desktop.takes.panel import TakesPanel
from desktop.widgets import theme

MARGIN = 24


class CompactMode(TakeFeature):
    """The compact window and the action that toggles it."""

    def __init__(
        self,
        main: QWidget,
        panel: GeneratePanel,
        takes: TakesPanel,
        controller: GenerationController,
        generate: Callable[[], None],
    ) -> None:
        super().__init__(main)
        self.main = main
        self.window = CompactWindow(panel, takes)
        self.window.generate_requested.connect(generate)
        self.window.cancel_requested.connect(controller.cancel)
        self.window.expand_requested.connect(lambda: self.action.setChecked(False))
        controller.progress.connect(self.window.show_progress)
        controller.busy_changed.connect(self.window.set_busy)
        self.action = QAction("Compact mode", main, checkable=True)
        self.action.setObjectName("compact")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.action.setToolTip("A small always-on-top window to keep beside your DAW (Ctrl+Shift+M)")
        self.action.toggled.connect(self.set_compact)
        self._placed = False

    def menu_entries(self) -> list[tuple[str, QAction]]:
        return [("window", self.action), ("toolbar", self.action)]

    def apply_icons(self) -> None:
        """The action's and the compact window's icons in the current theme's colour."""
        self.action.setIcon(theme.icon("compact"))
        self.window.apply_icons()

    @property
    def active(self) -> bool:
        return self.window.isVisible()

    def set_compact(self, compact: bool) -> None:
        if self.action.isChecked() != compact:
            self.action.setChecked(compact)  # comes back here through `toggled`
            return
        if compact:
            if not self._placed:
                self._place()
            self.window.show()
            self.window.raise_()
            self.main.hide()
        else:
            self.main.show()
            self.main.raise_()
            self.window.hide()

    def _place(self) -> None:
        """First show without a remembered place: the top right corner of the main window's screen."""
        self._placed = True
        screen = self.main.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        self.window.move(area.right() - self.window.width() - MARGIN, area.top() + MARGIN)

    def save_state(self, settings: QSettings) -> None:
        self.window.save_state(settings)

    def restore_state(self, settings: QSettings) -> None:
        self.window.restore_state(settings)
        self._placed = settings.contains("compact/geometry")

    def close(self) -> None:
        self.window.hide()
        self.window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)

"""The one shape of a take feature: its menu entries, its buttons and section under the take details, `show_take`.

The main window registers every feature in one loop (desktop.main_window): it puts `menu_entries()` in the named
places, `detail_actions()` as buttons in one row under the take details and `section()` below them, calls
`show_take(record)` whenever the selection changes, and connects `takes_added`, `message` and `error`. A feature
gets what it needs from the AppServices (desktop.services.app), never the window.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from core.takes.library import TakeRecord

MENU_PLACES = ("file", "window", "take", "model", "toolbar")
"""Where a menu entry can go: the File menu's documents (after "Open model folder…") or its window entries
(before "Preferences…"), the Take menu, the Model menu, the end of the toolbar."""


class TakeFeature(QObject):
    """A feature of the window: everything but its own work has a default, so a feature names only what it has."""

    takes_added = Signal(list)  # [TakeRecord] it just recorded: the takes list shows them
    message = Signal(str)  # a status line
    error = Signal(str)  # a readable sentence for the error dialog

    def menu_entries(self) -> list[tuple[str, QAction]]:
        """(place, action) pairs; a place is one of MENU_PLACES."""
        return []

    def detail_actions(self) -> list[QAction]:
        """Actions shown as buttons in the row under the take details."""
        return []

    def section(self) -> QWidget | None:
        """A widget under the take details' buttons, or None."""
        return None

    def show_take(self, record: TakeRecord | None) -> None:
        """The selected take changed (None: no take selected)."""

    def apply_icons(self) -> None:
        """Draw its icons in the current theme's colour (again after a theme change)."""


class TakeActionFeature(TakeFeature):
    """A feature that is one action on the selected take (`self.action`, set by the subclass): in the Take menu
    and as a button under the take details, enabled while a take is selected (`self.record`)."""

    action: QAction
    record: TakeRecord | None = None

    def menu_entries(self) -> list[tuple[str, QAction]]:
        return [("take", self.action)]

    def detail_actions(self) -> list[QAction]:
        return [self.action]

    def show_take(self, record: TakeRecord | None) -> None:
        self.record = record
        self.action.setEnabled(record is not None)

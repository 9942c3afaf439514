"""Space presses the focused button: the window-wide Space shortcut (Play) must not take it from a button, check
box or combo box that has the keyboard focus (text fields keep their spaces already)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox


class SpaceForFocusedButtons(QObject):
    """The application's event filter: Space (no modifiers) on a focused button goes to the button, not to a
    shortcut. One per application (`install`), however many windows open: every event of every widget passes an
    application filter, so a filter per window would multiply that cost with each window."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Space
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and isinstance(watched, QAbstractButton | QComboBox)
        ):
            event.accept()  # "the widget wants this key": Qt delivers the press to it instead of the shortcut
            return True
        return False


def install() -> SpaceForFocusedButtons | None:
    """The application's one SpaceForFocusedButtons (made and installed the first time); None without an app."""
    app = QApplication.instance()
    if app is None:
        return None
    guard = app.findChild(SpaceForFocusedButtons)
    if guard is None:
        guard = SpaceForFocusedButtons(app)
        app.installEventFilter(guard)
    return guard

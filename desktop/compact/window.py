"""The compact window: prompt, model, Generate / Cancel, progress and the last takes, always on top.

It owns no engine and no queue: it edits the main window's generate panel (prompt, model) and asks the main
window to generate, so both show one queue and one library. Its takes list is a TakesList over the main
window's TakesModel: thumbnails, drag-out to a DAW (desktop.takes.drag) and the selection are the same; a
click plays a take.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.takes.library import TakeRecord
from desktop.generate.panel import GeneratePanel
from desktop.settings import group, restore_bytes
from desktop.takes.panel import TakesPanel
from desktop.takes.view import TakesList
from desktop.widgets import theme
from desktop.widgets.run_controls import run_buttons, show_busy, show_progress

DEFAULT_SIZE = (380, 460)
IDLE_TEXT = "Nothing plays: click a take to hear it."


class CompactWindow(QWidget):
    """A small tool window kept above other windows; `expand_requested` goes back to the main window."""

    generate_requested = Signal()
    cancel_requested = Signal()
    expand_requested = Signal()

    def __init__(self, panel: GeneratePanel, takes: TakesPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("SoundDesk")
        self.setObjectName("compactWindow")
        self.panel, self.takes = panel, takes
        self.prompt = QLineEdit(placeholderText="Describe a sound, press Enter…", clearButtonEnabled=True)
        self.prompt.returnPressed.connect(self._generate)
        self.model = QComboBox()
        self.model.setModel(panel.models.combo.model())  # one list of models, kept in step with the main picker
        self.model.setMinimumContentsLength(16)
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.currentIndexChanged.connect(self._on_model)
        panel.models.combo.currentIndexChanged.connect(self._sync_model)
        panel.models.refilled.connect(self._sync_model)  # a refill moves this view's index, not the picker's
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("generateButton")
        self.generate_button.clicked.connect(self._generate)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.expand_button = QToolButton()
        self.expand_button.setToolTip("Back to the full window (Ctrl+Shift+M)")
        self.expand_button.clicked.connect(self.expand_requested)
        self.progress = QProgressBar()
        self.progress.setFormat("Idle")
        self.progress.setValue(0)
        self.list = TakesList(takes.model)
        # One selection for both windows: each list follows the other (a shared QItemSelectionModel would be
        # reset silently by the second view on every model reset).
        self.list.current_record_changed.connect(lambda record: self._follow(record, takes.list))
        takes.list.current_record_changed.connect(lambda record: self._follow(record, self.list))
        self.list.clicked.connect(lambda _index: self.play())
        self.list.setToolTip("Click to play (again to stop), drag into your DAW")
        self.play_button = QToolButton()  # Play / Stop, as the main window's toolbar (Space here too)
        self.play_button.setDefaultAction(takes.play_action)
        self.play_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addAction(takes.play_action)
        self.now_playing = QLabel(IDLE_TEXT)
        self.now_playing.setObjectName("nowPlaying")
        self.now_playing.setWordWrap(True)
        takes.playing_changed.connect(self._show_playing)
        QShortcut(QKeySequence("Ctrl+Shift+M"), self, activated=self.expand_requested.emit)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.cancel_requested.emit)
        self._layout()
        self._sync_model()
        self.apply_icons()
        self.resize(*DEFAULT_SIZE)

    def apply_icons(self) -> None:
        """Icons in the current theme's colour; Generate's stays white on its accent background."""
        self.generate_button.setIcon(theme.icon("generate", on_accent=True))
        self.cancel_button.setIcon(theme.icon("cancel"))
        self.expand_button.setIcon(theme.icon("expand"))

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.model, 1)
        top.addWidget(self.expand_button)
        buttons = run_buttons(self.generate_button, self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.prompt)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.list, 1)
        playing = QHBoxLayout()
        playing.addWidget(self.play_button)
        playing.addWidget(self.now_playing, 1)
        layout.addLayout(playing)

    @staticmethod
    def _follow(record: TakeRecord | None, other: TakesList) -> None:
        current = other.current_record()
        if record is not None and (current is None or current.id != record.id):
            other.select_take(record.id)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.prompt.setText(self.panel.prompt.prompt())
        self._sync_model()
        self._follow(self.takes.current(), self.list)
        super().showEvent(event)

    def current(self) -> TakeRecord | None:
        return self.list.current_record()

    def play(self) -> None:
        """Play the selected take through the main window's player (instead of what played), or stop it."""
        self.takes.audition(self.current())

    def _show_playing(self, take_id: int | None, text: str) -> None:
        """The list marks the take that plays; the line under it says what plays."""
        self.list.set_playing(take_id)
        self.now_playing.setText(text or IDLE_TEXT)

    def _generate(self) -> None:
        text = self.prompt.text().strip()
        if text:
            self.panel.prompt.set_prompt(text)
        self.generate_requested.emit()

    def _on_model(self, index: int) -> None:
        if index >= 0 and self.panel.models.combo.currentIndex() != index:
            self.panel.models.combo.setCurrentIndex(index)

    def _sync_model(self, *_args) -> None:
        index = self.panel.models.combo.currentIndex()
        if self.model.currentIndex() != index:
            self.model.setCurrentIndex(index)

    def set_busy(self, busy: bool) -> None:
        show_busy(self.generate_button, self.cancel_button, busy)

    def show_progress(self, stage: str, step: int, total: int, text: str) -> None:
        show_progress(self.progress, stage, step, total, text)

    def save_state(self, settings: QSettings) -> None:
        with group(settings, "compact"):
            settings.setValue("geometry", self.saveGeometry())

    def restore_state(self, settings: QSettings) -> None:
        with group(settings, "compact"):
            restore_bytes(settings, "geometry", self.restoreGeometry)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Closing the compact window goes back to the main window (it never quits the app on its own)."""
        event.ignore()
        self.expand_requested.emit()

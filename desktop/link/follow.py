"""The "Follow tempo (Ableton Link)" switch: while on, the BPM field follows the Link session and the status
bar shows its peers.

The session (core.loops.link_session) is read on the GUI thread every POLL_MS by a QTimer: a reading is a
lock-free copy inside Link, and no Link callback ever runs Python on Link's own threads. When the binding is
missing or Link cannot start, the switch is disabled and its tooltip says why; the window goes on as before.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QWidget

from core.loops.link_session import LinkSession, LinkState, LinkUnavailableError, import_binding
from desktop.generate.tempo_fields import BPM_TIP, TempoFields
from desktop.settings import read_bool

POLL_MS = 250
SETTINGS_KEY = "link/follow_tempo"
FOLLOW_TIP = (
    "Follow the tempo of Ableton Live, Bitwig, Reason or any other program with Link switched on, on this computer "
    "or network: the BPM field, bar-exact takes and Make loop… use it"
)
FOLLOWING_TIP = "Following the Link session's tempo (switch off “Follow tempo” to type one)"


class LinkFollow(QObject):
    """Joins the Link session while `action` is checked and keeps `tempo.bpm` at the session's tempo.

    Placed by the main window: it gets the tempo fields it drives and the settings that remember the switch; it
    offers `action` (menu and toolbar), `label` (the peers, for the status bar), `bpm()` (the followed tempo,
    None when not following) and `message` (one line for the status bar).
    """

    message = Signal(str)

    def __init__(self, tempo: TempoFields, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tempo, self.settings = tempo, settings
        self.session: LinkSession | None = None
        self.state: LinkState | None = None
        self.action = QAction("Follow tempo (Ableton Link)", self, checkable=True)
        self.action.setObjectName("follow_link")
        self.action.setIconText("Link")
        self.action.setToolTip(FOLLOW_TIP)
        self.label = QLabel()
        self.label.setObjectName("linkStatus")
        self.label.hide()
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.action.toggled.connect(self.set_following)
        try:
            import_binding()
        except LinkUnavailableError as exc:
            self._disable(str(exc))
            return
        self.action.setChecked(read_bool(settings, SETTINGS_KEY, False))

    def bpm(self) -> float | None:
        """The session's tempo as the BPM field takes it while following, else None."""
        return self.state.bpm if self.session is not None and self.state is not None else None

    def set_following(self, on: bool) -> None:
        """Join (on) or leave (off) the Link session; a Link that cannot start disables the switch, saying why."""
        if on == (self.session is not None):
            return
        if not on:
            self.stop()
            self.settings.setValue(SETTINGS_KEY, False)
            self.message.emit("Tempo is yours again: no longer following Link.")
            return
        try:
            self.session = LinkSession(self.tempo.bpm.value())
        except LinkUnavailableError as exc:
            self._disable(str(exc))
            self.message.emit(str(exc))
            return
        self.settings.setValue(SETTINGS_KEY, True)
        self.tempo.bpm.setReadOnly(True)
        self.tempo.bpm.setToolTip(FOLLOWING_TIP)
        self.label.show()
        self.poll()
        self.timer.start()

    def poll(self) -> None:
        """Read the session: keep the BPM field at its tempo (also after anything else set the field) and show its
        peers in the status bar."""
        if self.session is None:
            return
        state = self.session.state()
        if self.tempo.bpm.value() != state.bpm:
            self.tempo.bpm.setValue(state.bpm)
        if self.state is None or (state.bpm, state.peers) != (self.state.bpm, self.state.peers):
            self.state = state
            self.label.setText(state.describe())
            self.label.setToolTip(f"The Link session's tempo is {state.tempo:.2f} BPM")

    def stop(self) -> None:
        """Leave the session and give the BPM field back to the user (the switch keeps its remembered state)."""
        self.timer.stop()
        if self.session is not None:
            self.session.close()
        self.session = self.state = None
        self.tempo.bpm.setReadOnly(False)
        self.tempo.bpm.setToolTip(BPM_TIP)
        self.label.hide()

    def _disable(self, why: str) -> None:
        self.stop()
        self.action.blockSignals(True)
        self.action.setChecked(False)
        self.action.blockSignals(False)
        self.action.setEnabled(False)
        self.action.setToolTip(f"Follow tempo (Ableton Link) is not available: {why}")
        self.action.setStatusTip(self.action.toolTip())  # menus show status tips, not tooltips

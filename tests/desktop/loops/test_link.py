"""Follow tempo (Ableton Link) in the real window (offscreen), with a second Link peer in another process: the BPM
field follows the session, bar-exact takes and Make loop use its tempo, the status bar shows the peers, the switch
is remembered; without the binding, or when Link cannot start, the switch is disabled and says why.
"""

from __future__ import annotations

import sys
import types

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from core.loops.meter import bars_seconds
from desktop.loops.dialog import MakeLoopDialog
from tests.core.loops.conftest import click_track
from tests.core.loops.link_peer import LinkPeer
from tests.desktop.loops.test_loop_window import add_take

TIMEOUT_MS = 30_000  # Link finds a peer within about a second on loopback; generous for a busy machine


def follows(window, bpm: float) -> bool:
    link = window.link
    return link.state is not None and link.state.peers >= 1 and window.generate_panel.params.tempo.bpm.value() == bpm


def test_bpm_field_follows_a_second_peer_and_loops_use_it(qtbot, make_window):
    with LinkPeer(97.0) as peer:
        window = make_window()
        tempo, action, label = window.generate_panel.params.tempo, window.link.action, window.link.label
        assert action.isEnabled() and not action.isChecked() and not label.isVisible()
        action.trigger()
        peer.set_tempo(97.0)  # the DAW's tempo, once the two are in one session
        qtbot.waitUntil(lambda: follows(window, 97.0), timeout=TIMEOUT_MS)
        assert label.isVisible() and label.text().startswith("Link: ") and " peer" in label.text()
        assert tempo.bpm.isReadOnly()  # the session decides the tempo while following
        peer.set_tempo(133.33)  # the DAW's tempo moves
        qtbot.waitUntil(lambda: follows(window, 133.33), timeout=TIMEOUT_MS)
        assert "133.33 BPM" in label.text()
        tempo.enabled.setChecked(True)  # Bars: a bar-exact take at the session's tempo
        request = tempo.request()
        assert request.bpm == 133.33 and window.generate_panel.params.duration.value() == pytest.approx(
            bars_seconds(133.33, request.bars, request.meter), abs=1e-3
        )
        add_take(window, "groove", click_track(seconds=4.0), {"bpm": 93.7, "bars": 8, "meter": "4/4"})
        seen = []

        def look_at_dialog():
            dialog = QApplication.activeModalWidget()
            assert isinstance(dialog, MakeLoopDialog)
            seen.append(dialog.bpm.value())
            dialog.reject()

        QTimer.singleShot(0, look_at_dialog)
        window.loops.action.trigger()
        assert seen == [pytest.approx(133.33)]  # the loop is made at the DAW's tempo, not the take's own 93.7
        window.close()
        window = make_window()  # a restart follows again: the switch is remembered
        assert window.link.action.isChecked() and window.link.session is not None
        # Left alone, the peer founded a new session (Link does), as young as the window's: which of the two
        # tempos a merge keeps is then Link's coin toss, so the DAW's tempo is set again once they have met.
        peer.set_tempo(133.33)
        qtbot.waitUntil(lambda: follows(window, 133.33), timeout=TIMEOUT_MS)
        window.link.action.trigger()  # off: the field is the user's again, at the tempo it had
        assert not window.link.label.isVisible() and not window.generate_panel.params.tempo.bpm.isReadOnly()
        assert window.link.bpm() is None and window.generate_panel.params.tempo.bpm.value() == 133.33


def test_switch_is_disabled_without_the_binding(qtbot, make_window, monkeypatch):
    monkeypatch.setitem(sys.modules, "link", None)  # what `import link` meets when the package is not installed
    window = make_window()
    action = window.link.action
    assert not action.isEnabled() and not action.isChecked()
    assert "LinkPython-extern" in action.toolTip() and "not available" in action.toolTip()
    assert not window.generate_panel.params.tempo.bpm.isReadOnly()


def test_switch_is_disabled_when_link_cannot_start(qtbot, make_window, monkeypatch):
    broken = types.ModuleType("link")

    def refuse(_bpm):
        raise OSError("no network interface")

    broken.Link = refuse
    monkeypatch.setitem(sys.modules, "link", broken)
    window = make_window()
    action = window.link.action
    assert action.isEnabled()  # the binding imports; only starting shows that Link does not work here
    action.trigger()
    assert not action.isEnabled() and not action.isChecked() and window.link.session is None
    assert "could not start: no network interface" in action.toolTip()
    assert "could not start" in window.statusBar().currentMessage()
    assert not window.generate_panel.params.tempo.bpm.isReadOnly() and not window.link.label.isVisible()

"""What the window shows must be what happens (issue 27): a cancelled take leaves the details, compact mode names
the model that generates, Make loop proposes a loop the take holds, and Play / Space / tooltips say what plays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QToolButton

from core.loops.meter import bars_seconds
from core.params import GenerationParams
from core.takes.take import Take
from desktop.loops.dialog import MakeLoopDialog
from desktop.main_window import MainWindow
from desktop.playback import output_devices
from desktop.takes.detail import EMPTY_TEXT
from tests.core.loops.conftest import RATE, click_track

GENERATION_TIMEOUT_MS = 180_000


def prepare(window: MainWindow, model_dir: Path, seconds: float) -> str:
    panel = window.generate_panel
    ref = panel.models.add_folder(model_dir)
    panel.prompt.set_prompt("rain on a tin roof")
    panel.params.duration.setValue(seconds)
    panel.params.variations.setValue(1)
    return ref


def add_take(window: MainWindow, prompt: str, wav: np.ndarray | None = None, extra: dict | None = None):
    """A take in the window's library without a model run (a click track by default)."""
    wav = click_track(seconds=1.0) if wav is None else wav
    params = GenerationParams(duration=wav.shape[-1] / RATE)
    take = Take(prompt, "facebook/musicgen-small", 5, params, RATE, wav, np.zeros((4, 10), np.int64), extra or {})
    record = window.library.save(take)
    window.takes_panel.added([record])
    return record


def active(qtbot, window) -> None:
    """Make `window` the active one: window shortcuts (Space) only work there."""
    qtbot.waitExposed(window)
    window.windowHandle().requestActivate()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def require_output_device() -> None:
    if not output_devices():
        pytest.skip("no PortAudio output device (install libportaudio2 and give ALSA a null default device)")


def test_cancel_gives_the_details_back(qtbot, make_window, fixtures_dir):
    """Item 3: after Cancel the details no longer say "Generating … so far" while the status says Idle."""
    window = make_window()
    prepare(window, fixtures_dir / "musicgen", seconds=20.0)  # ~1000 steps: far longer than the test
    detail = window.takes_panel.detail
    with qtbot.waitSignal(window.controller.preview_chunk, timeout=GENERATION_TIMEOUT_MS):
        window.generate()
    qtbot.waitUntil(lambda: "Generating" in detail.title.text(), timeout=10_000)
    assert "so far" in detail.info.text()
    with qtbot.waitSignal(window.controller.queue.idle, timeout=GENERATION_TIMEOUT_MS):
        window.generate_panel.cancel_button.click()
    assert window.generate_panel.progress.format() == "Idle"
    assert "Generating" not in detail.title.text() and "so far" not in detail.info.text()
    assert detail.title.text() == "<i>No take selected.</i>" and detail.waveform.empty_text.toPlainText() == EMPTY_TEXT
    assert detail.waveform.wave_data() is None or len(detail.waveform.wave_data()[0]) == 0
    assert not window.takes_panel.play_action.isEnabled()  # nothing to play: the preview is gone


def test_cancel_shows_the_selected_take_again(qtbot, make_window, fixtures_dir):
    """Item 3, with a take in the list: the details go back to it (not to the dropped preview)."""
    window = make_window()
    record = add_take(window, "kept groove")
    prepare(window, fixtures_dir / "musicgen", seconds=20.0)
    with qtbot.waitSignal(window.controller.preview_chunk, timeout=GENERATION_TIMEOUT_MS):
        window.generate()
    qtbot.waitUntil(lambda: "Generating" in window.takes_panel.detail.title.text(), timeout=10_000)
    with qtbot.waitSignal(window.controller.queue.idle, timeout=GENERATION_TIMEOUT_MS):
        window.cancel_action.trigger()
    detail = window.takes_panel.detail
    assert detail.record is not None and detail.record.id == record.id == window.takes_panel.current().id
    assert "kept groove" in detail.title.text() and "so far" not in detail.info.text()


def test_compact_mode_keeps_the_folder_it_generated_with(qtbot, make_window, fixtures_dir):
    """Item 4: generating from compact mode with a local folder leaves its picker on that folder."""
    window = make_window()
    ref = prepare(window, fixtures_dir / "musicgen", seconds=0.5)
    window.compact.set_compact(True)
    compact = window.compact.window
    assert compact.model.currentData() == ref
    compact.prompt.setText("footsteps on gravel")
    with qtbot.waitSignal(window.controller.takes_added, timeout=GENERATION_TIMEOUT_MS) as added:
        compact.generate_button.click()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert added.args[0][0].model.rstrip("/").endswith("musicgen")
    assert window.generate_panel.models.current_ref() == ref
    assert compact.model.currentData() == ref  # the compact picker names the model the next Generate uses
    assert compact.model.currentText() == window.generate_panel.models.combo.currentText()
    window.compact.set_compact(False)


def test_make_loop_proposes_a_loop_the_take_holds(qtbot, make_window):
    """Item 5: a 5 s take at 120 BPM is offered a loop it holds (not 4 bars = 8 s), and a loop longer than the
    take cannot be asked for: the dialog says so instead of an error dialog after the job."""
    window = make_window()
    record = add_take(window, "short groove", click_track(bpm=120.0, seconds=5.0), {"family": "musicgen"})
    dialog = MakeLoopDialog(record, window.settings, window)
    qtbot.addWidget(dialog)
    assert dialog.music.isChecked() and dialog.bpm.value() == 120.0
    proposed = bars_seconds(dialog.bpm.value(), dialog.bars.value())
    assert proposed <= 5.0 - 2.0  # one 2 s bar kept in hand for where the first downbeat falls
    assert dialog.ok_button.isEnabled() and "fits" in dialog.fit.text()
    dialog.bars.setValue(4)
    assert not dialog.ok_button.isEnabled() and "too long" in dialog.fit.text() and "5.00 s" in dialog.fit.text()
    dialog.bars.setValue(1)
    errors: list[str] = []
    window.controller.error.connect(errors.append)
    window.loops.error.connect(errors.append)
    job = window.loops.make_loop(dialog.spec())
    with qtbot.waitSignal(window.controller.queue.finished, timeout=GENERATION_TIMEOUT_MS):
        pass
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert job is not None and not errors
    assert window.takes_panel.current().extra["loop"]["bars"] == 1


def test_repeat_playback_is_not_confused_with_make_loop(make_window):
    """Item 5: the Take menu says "Repeat playback" beside Play, apart from "Make loop…" (which makes a take)."""
    window = make_window()
    texts = [action.text() if not action.isSeparator() else "|" for action in window.take_menu.actions()]
    assert "Loop" not in texts
    repeat, make = texts.index("Repeat playback"), texts.index("Make loop…")
    assert texts[repeat - 1] == "Play" and "|" in texts[repeat:make]
    assert window.takes_panel.loop_action.isCheckable() and window.takes_panel.loop_action.objectName() == "loop"
    assert "not changed" in window.takes_panel.loop_action.toolTip()


def test_play_says_stop_while_another_take_plays(qtbot, make_window):
    """Item 7: picking another take while one loops leaves the toolbar saying Stop (and what it stops);
    Play then stops it, and plays the selected take next."""
    require_output_device()
    window = make_window()
    first = add_take(window, "first groove")
    second = add_take(window, "second groove")
    takes, player = window.takes_panel, window.takes_panel.player
    takes.list.select_take(first.id)
    takes.loop_action.setChecked(True)
    takes.play_action.trigger()
    assert player.is_playing(first.id)
    takes.list.select_take(second.id)
    assert player.is_playing(first.id)  # picking a take does not cut the sound
    assert takes.play_action.text() == "Stop" and "first groove" in takes.play_action.toolTip()
    takes.play_action.trigger()
    assert not player.is_playing() and takes.play_action.text() == "Play"
    takes.play_action.trigger()
    assert player.is_playing(second.id)
    takes.list.activated_record.emit(takes.list.current_record())  # Enter / double click on the playing take
    assert not player.is_playing()


def test_space_presses_the_focused_button(qtbot, make_window):
    """Item 7: Space on a focused button presses it; on the takes list it still plays."""
    window = make_window()
    add_take(window, "groove")
    active(qtbot, window)
    played: list[bool] = []
    window.takes_panel.play_action.triggered.connect(lambda: played.append(True))
    lock = window.generate_panel.params.seed_lock
    lock.setFocus()
    qtbot.keyClick(lock, Qt.Key.Key_Space)
    advanced = window.generate_panel.params.advanced_toggle
    advanced.setFocus()
    qtbot.keyClick(advanced, Qt.Key.Key_Space)
    assert lock.isChecked() and advanced.isChecked() and not played
    window.takes_panel.list.setFocus()
    qtbot.keyClick(window.takes_panel.list, Qt.Key.Key_Space)
    assert played == [True]


def test_windows_share_one_space_filter(qapp, make_window):
    """Every event of every widget passes an application event filter: a second window must not add another."""
    from desktop.widgets.space_key import SpaceForFocusedButtons

    make_window(), make_window()
    assert len(qapp.findChildren(SpaceForFocusedButtons)) == 1


def test_icon_only_buttons_say_what_they_do(make_window):
    """Item 7: every icon-only button in the take details and in compact mode has a tooltip that explains it."""
    window = make_window()
    add_take(window, "groove")
    compact = [b for b in window.compact.window.findChildren(QToolButton) if not isinstance(b.parent(), QLineEdit)]
    buttons = list(window.takes_panel.detail.buttons.values()) + compact  # (not a text field's clear button)
    icon_only = [
        b for b in buttons if b.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly and not b.icon().isNull()
    ]
    assert len(icon_only) >= 7
    vague = [(b.text(), b.toolTip()) for b in icon_only if len(b.toolTip()) < len(b.text()) + 12]
    assert not vague


def test_compact_mode_shows_what_plays(qtbot, make_window):
    """Item 7: compact mode marks and names the take that plays, and has a Stop for it."""
    require_output_device()
    window = make_window()
    record = add_take(window, "field recording")
    window.compact.set_compact(True)
    compact = window.compact.window
    assert "Nothing plays" in compact.now_playing.text()
    compact.list.select_take(record.id)
    compact.play()  # a click on the row
    assert window.takes_panel.player.is_playing(record.id)
    assert "field recording" in compact.now_playing.text() and compact.list.delegate.playing_id == record.id
    assert compact.play_button.text() == "Stop"
    compact.play_button.click()
    assert not window.takes_panel.player.is_playing() and "Nothing plays" in compact.now_playing.text()
    assert compact.list.delegate.playing_id is None
    window.compact.set_compact(False)

"""Small things that misled (issue 27, item 9): a seed field that looked locked, a duration Bars left behind, the
light theme's lost icon and dark waveform, a time-left guess far off, PortAudio's "device -1", CLI words."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtGui import QColor

from desktop import playback
from desktop.generate import controller as controller_module
from desktop.generate.controller import GenerationController
from desktop.jobs.queue import Job
from desktop.main_window import MainWindow
from desktop.playback import Player
from desktop.services.app import AppServices
from desktop.widgets import theme
from tests.desktop.test_clarity import GENERATION_TIMEOUT_MS, add_take


def icon_lightness(icon) -> float:
    """The mean lightness (0-255) of an icon's drawn pixels at 24 px."""
    image = icon.pixmap(24, 24).toImage()
    drawn = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
    drawn = [c for c in drawn if c.alpha() > 128]
    assert drawn, "the icon draws nothing"
    return sum(c.lightness() for c in drawn) / len(drawn)


def test_seed_field_says_random_until_a_seed_is_kept(make_window, tmp_path):
    """An unlocked seed field shows "Random", not the last run's seed (which looked like a seed every run uses);
    Lock keeps the last run's seed, a typed seed locks, unlocking says Random again."""
    window = make_window()
    panel, params = window.generate_panel, window.generate_panel.params
    panel.models.select("facebook/musicgen-small")
    panel.prompt.set_prompt("rain")
    params.seed_lock.setChecked(False)
    first, second = panel.spec(tmp_path).seed, panel.spec(tmp_path).seed  # what Generate asks for, twice
    assert first != second and params.seed.text() == "Random" and not params.seed_lock.isChecked()
    params.seed_lock.setChecked(True)
    assert params.seed.value() == second and panel.spec(tmp_path).seed == second
    params.seed_lock.setChecked(False)
    assert params.seed.text() == "Random"
    params.seed.setValue(1234)  # typed
    assert params.seed_lock.isChecked() and panel.spec(tmp_path).seed == 1234


def test_unticking_bars_gives_the_typed_duration_back(make_window):
    window = make_window()
    params = window.generate_panel.params
    params.duration.setValue(3.0)
    params.tempo.bpm.setValue(240.0)
    params.tempo.bars.setValue(1)
    params.tempo.enabled.setChecked(True)
    assert params.duration.value() == pytest.approx(1.0) and params.params().duration == 1.0
    params.tempo.enabled.setChecked(False)
    assert params.duration.isEnabled() and params.duration.value() == pytest.approx(3.0)
    assert params.params().duration == 3.0


@pytest.mark.slow
def test_light_theme_keeps_the_generate_icon(qtbot, make_window):
    """The Generate icon was drawn white for the blue button: on the light toolbar it vanished."""
    window = make_window()
    try:
        window._apply_preferences(replace(window.preferences, theme="light"))
        toolbar = QColor(theme.THEMES["light"].window).lightness()
        assert icon_lightness(window.generate_action.icon()) < toolbar - 80  # visible on the light toolbar
        assert icon_lightness(window.generate_panel.generate_button.icon()) > 200  # white on the blue button
        assert icon_lightness(window.compact.window.generate_button.icon()) > 200
    finally:
        window._apply_preferences(replace(window.preferences, theme="dark"))
    assert icon_lightness(window.generate_action.icon()) > 120  # light strokes on the dark toolbar again


@pytest.mark.slow
def test_light_theme_lightens_the_waveform(qtbot, make_window):
    """pyqtgraph caches the view's background: switching to the light theme kept the dark one behind the wave."""
    window = make_window()
    add_take(window, "groove")  # the waveform shows a take
    waveform = window.takes_panel.detail.waveform
    qtbot.waitExposed(window)
    assert waveform.grab().toImage().pixelColor(3, 3).lightness() < 80
    try:
        window._apply_preferences(replace(window.preferences, theme="light"))
        assert waveform.grab().toImage().pixelColor(3, 3).lightness() > 180
    finally:
        window._apply_preferences(replace(window.preferences, theme="dark"))
    assert waveform.grab().toImage().pixelColor(3, 3).lightness() < 80


def test_time_left_follows_the_measured_step_rate(qtbot, monkeypatch, tmp_settings):
    """Three slow warm-up steps (5 s each), then 0.1 s steps: at step 50 of 100 about 5 s are left, not the
    15 s that averaging from the stage's start says."""
    now = [0.0]
    monkeypatch.setattr(controller_module.time, "monotonic", lambda: now[0])
    controller = GenerationController(AppServices())  # QSettings in tmp_settings
    texts: list[str] = []
    controller.progress.connect(lambda stage, step, total, text: texts.append(text))
    job = Job("a take", lambda report, cancel: None)
    for step in range(1, 51):
        now[0] = 5.0 * (step - 1) if step <= 3 else 10.0 + 0.1 * (step - 3)
        controller.queue.progress.emit(job, "generate", step, 100)
    assert texts[0] == "Generating: step 1 of 100"  # nothing measured yet: no guess
    assert texts[-1] == "Generating: step 50 of 100, 5 s left"


def test_no_output_device_is_a_sentence(qtbot):
    """PortAudio's "Error querying device -1" (the system has no default output) becomes what to do."""
    if playback.sd is None:
        pytest.skip("PortAudio is not installed here")
    playback.sd.default.device = -1, -1  # what PortAudio reports on a system with no output device
    try:
        player = Player()
        with qtbot.waitSignal(player.error, timeout=2000) as blocker:
            assert not player.play("x", np.zeros((1, 1600), np.float32), 16000)
    finally:
        playback.sd.default.device = None  # sounddevice's start value: PortAudio's own default (not restorable
        # with monkeypatch: the attribute is a pair object that the assignment above changed in place)
    message = blocker.args[0]
    assert "-1" not in message and "querying" not in message
    assert message.startswith("No sound output was found: connect headphones or speakers") and "Preferences" in message


def test_offline_error_speaks_the_windows_words(qtbot, make_window):
    """A model not downloaded, offline: the way out names the window's menus, not a command-line argument."""
    window: MainWindow = make_window()
    panel = window.generate_panel
    assert panel.models.select("facebook/audiogen-medium")
    panel.prompt.set_prompt("footsteps on gravel")
    panel.params.duration.setValue(0.5)
    with qtbot.waitSignal(window.controller.error, timeout=GENERATION_TIMEOUT_MS) as blocker:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    message = blocker.args[0]
    assert "not downloaded yet and offline mode is on" in message
    assert "pass a local model folder" not in message
    assert "Open model folder…" in message and "Work offline" in message

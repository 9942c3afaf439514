"""The scene and separation in the real window: takes laid on the timeline (drag, gain, mute, solo), the mix,
stems exported by a queued job and offered for drag-out, scene files, and music takes split into stem takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from core.params import GenerationParams
from core.takes.library import DB_NAME
from core.takes.take import Take, load_take
from desktop.jobs.engine import write_all
from desktop.main_window import MainWindow
from desktop.playback import output_devices
from desktop.scene.view import MIX_KEY

TIMEOUT_MS = 120_000
RATE = 32000


@pytest.fixture
def window(qtbot, make_window):
    window = make_window(size=(1200, 900))
    qtbot.waitExposed(window)
    return window


def sine(seconds: float, freq: float, amplitude: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)[None]  # [1, N]


def add_take(
    window: MainWindow, prompt: str, wav: np.ndarray, extra: dict | None = None, rate: int = RATE, seed=1,
    model: str = "facebook/musicgen-small",
):  # fmt: skip
    """A take written into the window's library and selected, as a generation would leave it."""
    take = Take(
        prompt, model, seed, GenerationParams(duration=wav.shape[-1] / rate), rate, wav,
        np.zeros((4, 10), np.int64), extra if extra is not None else {"family": "musicgen"},
    )  # fmt: skip
    record = window.library.save(take)
    window.takes_panel.added([record])
    return record


def placed(wav: np.ndarray, offset_s: float, length: int, gain_db: float = 0.0) -> np.ndarray:
    out = np.zeros((wav.shape[0], length), np.float64)
    start = round(offset_s * RATE)
    out[:, start : start + wav.shape[-1]] = wav * 10 ** (gain_db / 20)
    return out


def drag_clip(lane, dx: int) -> None:
    left, width = lane.clip_rect_x()
    start = QPoint(left + width // 2, lane.height() // 2)
    QTest.mousePress(lane, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 6):
        QTest.mouseMove(lane, start + QPoint(dx * i // 5, 0))
    QTest.mouseRelease(lane, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(dx, 0))


def build_scene(qtbot, window: MainWindow):
    """Two takes on the scene; the second dragged 100 px to the right; the first at -6 dB."""
    rain = sine(1.0, 220, 0.2)
    bell = sine(0.5, 880, 0.3)
    add_take(window, "rain on a roof", rain)
    window.scene.action.trigger()
    add_take(window, "a bell", bell)
    window.scene.action.trigger()
    view = window.scene.dock.view
    qtbot.waitUntil(lambda: window.scene.dock.isVisible() and view.rows[1].lane.width() > 200)
    lane = view.rows[1].lane
    scale = lane.pixels_per_second
    drag_clip(lane, 100)
    view.rows[0].gain.setValue(-6.0)
    return view, rain, bell, 100 / scale


def test_takes_become_layers_dragged_in_time_and_the_mix_follows(qtbot, window):
    view, rain, bell, offset = build_scene(qtbot, window)
    layers = view.scene().layers
    assert [layer.name for layer in layers] == ["", ""]  # not renamed: the stems are named by the prompt
    assert [row.label.text() for row in view.rows] == ["rain on a roof", "a bell"]
    assert layers[0].offset == 0.0 and layers[1].offset == pytest.approx(offset, rel=1e-6) and offset > 0.05
    assert layers[0].gain_db == -6.0
    mix, rate = view.mix()
    length = max(rain.shape[-1], round(offset * RATE) + bell.shape[-1])
    assert rate == RATE and mix.shape == (1, length)
    np.testing.assert_allclose(mix, placed(rain, 0, length, -6.0) + placed(bell, offset, length), atol=1e-6)

    view.rows[0].mute.click()
    assert view.rows[0].lane.dimmed and not view.rows[1].lane.dimmed
    np.testing.assert_allclose(view.mix()[0], placed(bell, offset, length), atol=1e-6)
    view.rows[0].mute.click()
    view.rows[0].solo.click()
    assert view.rows[1].lane.dimmed
    np.testing.assert_allclose(view.mix()[0], placed(rain, 0, rain.shape[-1], -6.0), atol=1e-6)
    view.rows[0].solo.click()

    if not output_devices():
        pytest.skip("no PortAudio output device here (see tests/desktop/test_playback.py)")
    player = window.takes_panel.player
    with qtbot.waitSignal(player.started, timeout=2000) as started:
        qtbot.mouseClick(view.play_button, Qt.MouseButton.LeftButton)
    assert started.args == [MIX_KEY] and view.play_button.text() == "Stop"
    with qtbot.waitSignal(player.stopped, timeout=2000):
        qtbot.mouseClick(view.play_button, Qt.MouseButton.LeftButton)
    assert view.play_button.text() == "Play mix"


def test_export_stems_runs_as_a_job_and_offers_the_files_for_drag_out(qtbot, window, tmp_path, monkeypatch):
    view, rain, bell, offset = build_scene(qtbot, window)
    view.name.setText("alley")
    folder = tmp_path / "stems"
    folder.mkdir()
    monkeypatch.setattr("desktop.scene.view.QFileDialog.getExistingDirectory", lambda *a: str(folder))
    with qtbot.waitSignal(window.controller.queue.finished, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
        assert window.generate_panel.queue_list.item(0).text().startswith("▶ stems of “alley”")
    job, result = done.args
    assert job.title == "stems of “alley”" and result.mix.path == folder / "alley_mix.wav"
    written = sorted(p for p in folder.iterdir() if p.suffix == ".wav")
    assert [p.name for p in written] == sorted(["alley_01_rain-on-a-roof.wav", "alley_02_a-bell.wav", "alley_mix.wav"])
    stems = [sf.read(p, dtype="int32")[0] for p in written if "_mix" not in p.name]
    mix, mix_rate = sf.read(folder / "alley_mix.wav", dtype="int32")
    assert mix_rate == 48000 and all(s.shape == mix.shape for s in stems)
    np.testing.assert_array_equal(np.sum(stems, axis=0, dtype=np.int64), mix.astype(np.int64))  # stems sum to mix

    qtbot.waitUntil(lambda: view.drag_files.isVisible())
    urls = [Path(u.toLocalFile()) for u in view.drag_files.mime_data().urls()]
    assert sorted(urls) == written and all(p.is_file() for p in urls)
    assert [Path(u.toLocalFile()) for u in view.drag_folder.mime_data().urls()] == [folder]
    assert str(folder) in view.result.text() and str(folder) in window.statusBar().currentMessage()


def test_a_scene_with_every_layer_muted_fails_with_one_message_and_writes_nothing(qtbot, window, tmp_path):
    view, *_ = build_scene(qtbot, window)
    for row in view.rows:
        row.mute.click()
    with qtbot.waitSignal(window.controller.error, timeout=TIMEOUT_MS) as blocker:
        window.scene.dock.export_stems(view.scene(), tmp_path / "out")
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert "muted" in blocker.args[0] and window.error_box.text() == blocker.args[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not view.drag_files.isVisible()


def test_scene_file_saves_and_opens_the_layers(qtbot, window, tmp_path):
    view, *_ = build_scene(qtbot, window)
    view.rows[1].solo.click()
    before = view.scene()
    path = tmp_path / "scenes" / "street.scene.json"
    assert view.save(path) and path.is_file()
    view.clear()
    assert view.rows == [] and view.placeholder.isVisibleTo(view)
    assert view.load(path)
    assert view.scene().layers == tuple(before.layers) and len(view.rows) == 2
    assert view.rows[1].solo.isChecked() and view.rows[0].gain.value() == -6.0
    assert view.rows[1].lane.offset == pytest.approx(before.layers[1].offset)
    assert view.load(tmp_path / "missing.scene.json") is False
    assert "Cannot read the scene" in window.statusBar().currentMessage()


def test_separate_stems_adds_four_takes_to_the_library(qtbot, window):
    from core.separation.htdemucs import load_separator
    from core.separation.takes import separate_take

    music = sine(2.0, 110, 0.3) + sine(2.0, 3, 0.1) * np.sign(sine(2.0, 4, 1.0))
    record = add_take(window, "bass and drums groove", music, seed=11)
    assert window.separation.action.isEnabled()
    with qtbot.waitSignal(window.controller.queue.finished, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.take_buttons["separate"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.takes_panel.model.rowCount() == 5, timeout=10_000)
    stems = [r for r in window.takes_panel.model.records() if "stem" in r.extra]
    expected = separate_take(load_take(record.sidecar_path), load_separator())
    assert sorted(r.extra["stem"] for r in stems) == sorted(t.extra["stem"] for t in expected)
    assert len(stems) == 4 and "into 4 takes" in window.statusBar().currentMessage()
    for take in expected:
        stem = next(r for r in stems if r.extra["stem"] == take.extra["stem"])
        audio, rate = sf.read(stem.wav_path, dtype="float32", always_2d=True)
        assert rate == RATE and stem.wav_path.parent == record.wav_path.parent
        np.testing.assert_allclose(audio.T, take.wav, atol=1e-6)
    # The stems are takes like any other: selected, draggable, addable to the scene; not separable again.
    current = window.takes_panel.current()
    assert "stem" in current.extra and not window.separation.action.isEnabled()
    assert "already" in window.separation.action.toolTip()
    assert window.scene.add_selected() and window.scene.dock.view.rows[0].layer.take == current.sidecar_path


def test_separation_is_refused_for_sound_effects_and_cancel_writes_nothing(qtbot, window):
    footsteps = sine(0.5, 300, 0.2, 16000)
    add_take(window, "footsteps", footsteps, {"family": "audiogen"}, rate=16000, model="facebook/audiogen-medium")
    assert not window.separation.action.isEnabled() and "Sound-effect" in window.separation.action.toolTip()
    add_take(window, "long groove", sine(30.0, 110, 0.3), seed=4)  # several demucs segments: cancel between them
    folder = window.library.folder
    before = sorted(p.name for p in folder.iterdir())
    window.controller.progress.connect(
        lambda stage, step, total, text: window.controller.cancel() if stage == "separating" else None
    )
    with qtbot.waitSignal(window.controller.queue.cancelled, timeout=TIMEOUT_MS):
        window.separation.action.trigger()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert window.takes_panel.model.rowCount() == 2


def test_write_all_leaves_nothing_when_one_take_fails(tmp_path):
    good = Take("a", "m", 1, GenerationParams(duration=0.1), RATE, sine(0.1, 440, 0.1), np.zeros((4, 5), np.int64))
    bad = Take("b", "m", 2, GenerationParams(duration=0.1), RATE, sine(0.1, 440, 0.1), np.array([["not a code"]]))
    with pytest.raises(ValueError):
        write_all(tmp_path, [good, bad], 0.0)
    assert [p.name for p in tmp_path.iterdir() if p.name != DB_NAME] == []

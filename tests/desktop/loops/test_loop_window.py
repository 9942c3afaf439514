"""Loops in the real window (offscreen): tempo fields beside the duration, "Make loop" as a queued job, loop
playback that wraps inside one audio callback buffer, and the loop's bars in the take's details."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from core.loops.meter import Meter
from core.loops.takes import LoopSpec
from core.params import GenerationParams
from core.takes.take import Take
from desktop.loops.dialog import MakeLoopDialog
from desktop.main_window import MainWindow
from desktop.playback import _Cursor, _make_callback, output_devices
from tests.core.loops.conftest import BPM, RATE, ambience, click_track
from tests.desktop.conftest import make_window, no_dangling_threads, tmp_settings  # noqa: F401 (fixtures)

TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot, make_window):  # noqa: F811
    window = make_window(size=(1100, 800))
    qtbot.waitExposed(window)
    return window


def add_take(window: MainWindow, prompt: str, wav: np.ndarray, extra: dict) -> object:
    take = Take(prompt, "facebook/musicgen-small", 5, GenerationParams(duration=wav.shape[-1] / RATE), RATE, wav,
                np.zeros((4, 10), np.int64), extra)  # fmt: skip
    record = window.library.save(take)
    window.takes_panel.added([record])
    return record


def loop_made(qtbot, window: MainWindow, job) -> object:
    with qtbot.waitSignal(window.controller.queue.finished, timeout=TIMEOUT_MS, check_params_cb=lambda j, r: j is job):
        pass
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    return window.takes_panel.current()


def test_tempo_fields_set_the_duration_and_are_remembered(qtbot, window, tmp_path, fixtures_dir):
    params = window.generate_panel.params
    tempo = params.tempo
    assert params.duration.isEnabled() and not tempo.bpm.isEnabled()
    tempo.enabled.setChecked(True)
    tempo.bpm.setValue(93.7)
    tempo.bars.setValue(2)
    tempo.meter.setCurrentText("6/8")
    assert not params.duration.isEnabled()
    assert params.duration.value() == pytest.approx(2 * 3 * 60 / 93.7, abs=1e-3)
    assert params.params().duration == 2 * 3 * 60 / 93.7  # exact, not the spin box's rounding
    window.generate_panel.prompt.set_prompt("slow jazz waltz")
    window.generate_panel.models.add_folder(fixtures_dir / "musicgen")
    spec = window.generate_panel.spec(tmp_path)
    assert spec.prompt == "slow jazz waltz, 93.7 bpm"
    assert spec.extra == {"bpm": 93.7, "bars": 2, "meter": "6/8"}
    tempo.in_prompt.setChecked(False)
    assert window.generate_panel.spec(tmp_path).prompt == "slow jazz waltz"
    window.close()
    again = MainWindow(QSettings())
    try:
        restored = again.generate_panel.params.tempo
        assert restored.enabled.isChecked() and restored.bpm.value() == pytest.approx(93.7)
        assert restored.bars.value() == 2 and restored.meter.currentText() == "6/8"
        assert not restored.in_prompt.isChecked()
        assert again.generate_panel.params.duration.value() == pytest.approx(3.842, abs=1e-3)
        restored.enabled.setChecked(False)
        assert again.generate_panel.params.duration.isEnabled()
    finally:
        again.close()


def test_generate_at_a_tempo_records_it(qtbot, window, fixtures_dir):
    panel = window.generate_panel
    panel.models.add_folder(fixtures_dir / "musicgen")
    panel.prompt.set_prompt("funk drums")
    panel.params.variations.setValue(1)
    panel.params.tempo.enabled.setChecked(True)
    panel.params.tempo.bpm.setValue(240.0)
    panel.params.tempo.bars.setValue(1)
    with qtbot.waitSignal(window.controller.takes_added, timeout=TIMEOUT_MS) as blocker:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    (record,) = blocker.args[0]
    assert record.prompt == "funk drums, 240 bpm" and record.params.duration == 1.0
    sidecar = json.loads(record.sidecar_path.read_text())
    assert (sidecar["bpm"], sidecar["bars"], sidecar["meter"]) == (240.0, 1, "4/4")
    assert "asked for 1 bar of 4/4 at 240 BPM" in window.takes_panel.detail.info.text()


def test_make_loop_runs_as_a_job_and_adds_a_loop_take(qtbot, window):
    source = add_take(window, "steady groove", click_track(), {"family": "musicgen"})
    before = source.wav_path.read_bytes()
    assert window.loops.action.isEnabled()
    job = window.loops.make_loop(LoopSpec("music", 120.0, 2, Meter(4, 4), 30.0))
    assert job.title.startswith("loop (2 bars at 120 BPM)") and job in window.controller.queue.jobs()
    record = loop_made(qtbot, window, job)
    assert record.id != source.id and record.extra["loop"]["bars"] == 2
    assert "2 bars of 4/4 at 120 BPM" in record.name
    audio, rate = sf.read(record.wav_path, always_2d=True)
    assert rate == RATE and audio.shape[0] == 128000
    assert b"smpl" in record.wav_path.read_bytes()[:4096] and b"acid" in record.wav_path.read_bytes()[:4096]
    assert source.wav_path.read_bytes() == before
    info = window.takes_panel.detail.info.text()
    assert "Loop:" in info and "2.00 bars of 4/4 at 120 BPM (128000 samples" in info
    assert "stretched from 93.7" in info


def test_make_loop_dialog_seamless_from_the_action(qtbot, window):
    add_take(window, "rain", ambience(), {"family": "audiogen"})

    def accept_dialog():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, MakeLoopDialog)
        assert dialog.seamless.isChecked() and not dialog.bpm.isEnabled()  # a sound-effect take: seamless
        dialog.crossfade.setValue(60)
        dialog.accept()

    QTimer.singleShot(0, accept_dialog)
    with qtbot.waitSignal(window.controller.queue.finished, timeout=TIMEOUT_MS):
        window.loops.action.trigger()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    record = window.takes_panel.current()
    assert record.extra["loop"]["kind"] == "seamless" and record.extra["loop"]["crossfade"] == round(0.06 * RATE)
    assert "seamless loop" in window.takes_panel.detail.info.text()
    window.settings.beginGroup("loops")
    assert window.settings.value("crossfade_ms") in (60, 60.0, "60", "60.0")
    window.settings.endGroup()


def test_dialog_starts_from_the_takes_own_tempo(qtbot, window):
    record = add_take(window, "groove", click_track(seconds=4.0), {"bpm": 93.7, "bars": 8, "meter": "3/4"})
    dialog = MakeLoopDialog(record, window.settings, window)
    qtbot.addWidget(dialog)
    assert dialog.music.isChecked() and dialog.bpm.value() == pytest.approx(93.7)
    assert dialog.bars.value() == 4 and dialog.meter.currentText() == "3/4"  # an 8-bar take holds 4 whole bars
    assert dialog.spec() == LoopSpec("music", 93.7, 4, Meter(3, 4), 30.0)


def test_a_loop_that_cannot_be_made_is_one_message(qtbot, window):
    add_take(window, "short", click_track(seconds=3.0), {"family": "musicgen"})
    job = window.loops.make_loop(LoopSpec("music", 120.0, 8))
    with qtbot.waitSignal(window.controller.error, timeout=TIMEOUT_MS) as blocker:
        pass
    assert "longer take" in blocker.args[0] and job is not None
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)


def test_callback_wraps_inside_one_buffer_without_a_gap():
    frames = np.arange(1000, dtype=np.float32)[:, None]  # [N, 1]: sample i holds i
    cursor = _Cursor(frames=frames, position=990, loop=True)
    callback = _make_callback(cursor)
    out = np.full((2500, 1), -1.0, dtype=np.float32)  # one buffer longer than two whole loops
    callback(out, 2500, None, None)
    expected = (990 + np.arange(2500)) % 1000
    assert np.array_equal(out[:, 0], expected.astype(np.float32))  # 999 is followed by 0, twice, no gap
    assert cursor.position == 490 and not cursor.done


def test_loop_take_plays_looping(qtbot, window):
    if not output_devices():
        pytest.skip("no PortAudio output device (install libportaudio2 and give ALSA a null default device)")
    source = add_take(window, "groove", click_track(), {"family": "musicgen"})
    assert window.takes_panel.current().id == source.id
    record = loop_made(qtbot, window, window.loops.make_loop(LoopSpec("music", BPM, 1)))
    window.takes_panel.loop_action.setChecked(False)
    window.takes_panel.toggle_play()
    player = window.takes_panel.player
    assert player.is_playing(record.id) and player._cursor.loop  # a loop take loops even with Loop off
    window.takes_panel.toggle_play()
    assert not player.is_playing()

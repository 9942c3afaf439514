"""The real SoundDesk window on the fixture models: generate, play, drag, cancel, restart, failures (the event loop's
stalls during a take are measured by benchmarks/bench_stall.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from core.takes.library import DB_NAME
from desktop.main_window import MainWindow
from desktop.playback import output_devices
from desktop.takes.drag import take_mime_data
from desktop.takes.library_model import ThumbnailRole

GENERATION_TIMEOUT_MS = 120_000  # the first job of the session also imports torch in the worker


def take_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != DB_NAME)


@pytest.fixture
def window(make_window, fixtures_dir):
    window = make_window()
    prepare(window, fixtures_dir / "musicgen")
    return window


def prepare(window: MainWindow, model_dir: Path, prompt: str = "rain on a tin roof", seconds: float = 0.5):
    panel = window.generate_panel
    panel.models.add_folder(model_dir)
    panel.prompt.set_prompt(prompt)
    panel.params.duration.setValue(seconds)
    panel.params.variations.setValue(1)


def generate_and_wait(qtbot, window: MainWindow) -> list:
    with qtbot.waitSignal(window.controller.takes_added, timeout=GENERATION_TIMEOUT_MS) as blocker:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    return blocker.args[0]


def test_prompt_generate_progress_take_play_drag(qtbot, window, make_window):
    panel = window.generate_panel
    panel.params.variations.setValue(2)
    steps = []
    window.controller.progress.connect(lambda stage, step, total, text: steps.append((stage, step, total, text)))
    with qtbot.waitSignal(window.controller.takes_added, timeout=GENERATION_TIMEOUT_MS) as added:
        with qtbot.waitSignal(
            window.controller.progress,
            timeout=GENERATION_TIMEOUT_MS,
            check_params_cb=lambda stage, step, total, text: stage == "generate" and step == total,
        ):
            qtbot.keyClick(panel.prompt.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)

    generate_steps = [s for s in steps if s[0] == "generate"]
    assert generate_steps and generate_steps[-1][1] == generate_steps[-1][2] > 1
    assert "step" in generate_steps[-1][3]
    records = added.args[0]
    assert len(records) == 2 and records[1].seed == records[0].seed + 1
    for record in records:
        data, rate = sf.read(record.wav_path, dtype="float32", always_2d=True)
        assert rate == 32000 and data.shape == (16000, 1) and np.abs(data).max() > 0
        assert record.sidecar_path.is_file() and record.codes_path.is_file()
        assert record.wav_path.parent == make_window.library
    assert len(take_files(make_window.library)) == 6  # 2 x (wav, json, codes)
    # The list shows both takes with waveform thumbnails; the selected one's waveform is plotted.
    model = window.takes_panel.model
    assert model.rowCount() == 2
    assert all(model.data(model.index(row), ThumbnailRole) is not None for row in range(2))
    x, y = window.takes_panel.detail.waveform.wave_data()
    assert x[-1] == pytest.approx(0.5, abs=1e-3) and np.abs(y).max() > 0
    assert window.takes_panel.current().id == records[0].id
    assert panel.prompt.recent()[0] == "rain on a tin roof"

    # Arrow keys move through takes.
    window.takes_panel.list.setFocus()
    qtbot.keyClick(window.takes_panel.list, Qt.Key.Key_Down)
    assert window.takes_panel.current().id == records[1].id

    # The drag hands out the kept library WAV as a file URL.
    mime = take_mime_data(window.takes_panel.current())
    path = Path(mime.urls()[0].toLocalFile())
    assert path == records[1].wav_path and path.is_file()
    assert sf.info(path).frames == 16000

    # Space plays through a real PortAudio stream; the playhead moves; the stream ends by itself.
    if not output_devices():
        pytest.skip("no PortAudio output device here (see tests/desktop/test_playback.py)")
    player = window.takes_panel.player
    playheads = []
    player.position.connect(lambda key, seconds: playheads.append(seconds))
    with qtbot.waitSignal(player.stopped, timeout=10_000):
        with qtbot.waitSignal(player.started, timeout=2000) as started:
            window.takes_panel.play_action.trigger()
    assert started.args == [records[1].id]
    assert playheads and playheads[-1] == pytest.approx(0.5, abs=1e-3)


def test_cancel_mid_run_leaves_no_take_and_no_thread(qtbot, window, make_window, no_dangling_threads):
    window.generate_panel.params.duration.setValue(20.0)  # ~1000 decoding steps: far longer than the test
    window.controller.progress.connect(
        lambda stage, step, total, text: window.generate_panel.cancel_button.click() if stage == "generate" else None
    )
    cancelled = []
    window.controller.queue.cancelled.connect(lambda job: cancelled.append(job))
    with qtbot.waitSignal(window.controller.queue.idle, timeout=GENERATION_TIMEOUT_MS):
        window.generate()
    assert len(cancelled) == 1
    assert window.takes_panel.model.rowCount() == 0
    assert take_files(make_window.library) == []
    assert not any(p.name.endswith(".part") for p in make_window.library.iterdir())
    assert all(not t.isRunning() for t in no_dangling_threads)
    assert "nothing was kept" in window.statusBar().currentMessage()
    assert not window.generate_panel.cancel_button.isEnabled()


def test_a_batch_is_listed_when_it_ends_and_a_cancel_keeps_it(qtbot, window, make_window):
    """Five variations run as a batch of four then one: the four are listed (the first selected) while the
    fifth is still generating, and cancelling the fifth keeps them."""
    panel = window.generate_panel
    panel.params.duration.setValue(2.0)  # 100 steps per batch: the cancel lands well inside the second one
    panel.params.variations.setValue(5)
    arrivals = []

    def arrived(records, first):
        arrivals.append((len(records), first, window.controller.busy, window.takes_panel.model.rowCount()))
        if window.takes_panel.model.rowCount() == 4:
            panel.cancel_button.click()  # during the second batch

    window.controller.takes_arrived.connect(arrived)
    with qtbot.waitSignal(window.controller.takes_added, timeout=GENERATION_TIMEOUT_MS) as added:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert [first for _, first, _, _ in arrivals] == [True, False, False, False]
    assert all(busy for _, _, busy, _ in arrivals)  # listed while the run was still going
    assert [rows for _, _, _, rows in arrivals] == [1, 2, 3, 4]
    records = added.args[0]
    assert [r.seed for r in records] == [records[0].seed + i for i in range(4)]
    assert window.takes_panel.model.rowCount() == 4
    assert len(take_files(make_window.library)) == 12  # 4 x (wav, json, codes): the fifth was never written
    assert "kept the 4 finished take(s)" in window.statusBar().currentMessage()


@pytest.mark.slow
def test_restart_restores_history_and_settings(qtbot, make_window, fixtures_dir):
    first = make_window()
    prepare(first, fixtures_dir / "musicgen", prompt="dog barking far away", seconds=0.6)
    params = first.generate_panel.params
    params.top_k.setValue(17)
    params.seed.setValue(1234)
    params.seed_lock.setChecked(True)
    record = generate_and_wait(qtbot, first)[0]
    assert record.seed == 1234
    first.takes_panel.star_action.trigger()
    screen, least = first.screen().availableGeometry(), first.layout().totalMinimumSize()  # a size that fits
    first.resize((least.width() + screen.width()) // 2, (least.height() + screen.height()) // 2)
    qtbot.wait(50)
    size = first.size()  # what the window really became (never under its minimum)
    first.close()

    second = make_window()
    qtbot.waitUntil(lambda: second.size() == size, timeout=2000)  # not widened by its first show
    qtbot.wait(100)
    assert second.size() == size
    panel = second.generate_panel
    assert panel.models.current_ref() == str((fixtures_dir / "musicgen").resolve())
    assert panel.prompt.prompt() == "dog barking far away"
    assert panel.params.params().top_k == 17 and panel.params.params().duration == pytest.approx(0.6)
    assert panel.params.seed.value() == 1234 and panel.params.seed_lock.isChecked()
    restored = second.takes_panel.model.records()
    assert [(r.id, r.prompt, r.seed, r.starred) for r in restored] == [(record.id, record.prompt, 1234, True)]
    assert restored[0].wav_path.is_file()
    assert panel.prompt.recent() == ["dog barking far away"]


def test_recall_regenerates_the_same_take(qtbot, window):
    first = generate_and_wait(qtbot, window)[0]
    panel = window.generate_panel
    panel.prompt.set_prompt("something else")
    panel.params.duration.setValue(2.0)
    panel.params.seed_lock.setChecked(False)
    window.takes_panel.recall_action.trigger()
    assert panel.prompt.prompt() == first.prompt and panel.params.seed_lock.isChecked()
    assert panel.params.params() == first.params
    again = generate_and_wait(qtbot, window)[0]
    assert again.seed == first.seed and again.id != first.id
    a, _ = sf.read(first.wav_path, dtype="float32")
    b, _ = sf.read(again.wav_path, dtype="float32")
    np.testing.assert_array_equal(a, b)


def test_star_rename_delete_and_undo(qtbot, window):
    record = generate_and_wait(qtbot, window)[0]
    takes = window.takes_panel
    takes.star_action.trigger()
    takes.rename_current("kick layer")
    current = takes.current()
    assert current.starred and current.name == "kick layer"
    takes.search.setText("kick")
    assert takes.model.rowCount() == 1
    takes.search.setText("nothing like this")
    assert takes.model.rowCount() == 0
    takes.search.setText("")
    takes.list.setFocus()
    qtbot.keyClick(takes.list, Qt.Key.Key_Delete)
    assert takes.model.rowCount() == 0 and not record.wav_path.exists()
    takes.undo_action.trigger()
    assert takes.model.rowCount() == 1 and record.wav_path.is_file()
    assert takes.current().name == "kick layer"


def test_failing_model_folder_shows_one_message(qtbot, make_window, tmp_path):
    window = make_window()
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    (bad / "readme.txt").write_text("no weights here")
    prepare(window, bad)
    with qtbot.waitSignal(window.controller.error, timeout=GENERATION_TIMEOUT_MS) as blocker:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert "not an audiocraft model folder" in blocker.args[0]
    assert window.error_box is not None and window.error_box.isVisible()
    assert window.error_box.text() == blocker.args[0]
    assert window.takes_panel.model.rowCount() == 0
    window.error_box.accept()
    window.generate_panel.prompt.set_prompt("")
    window.generate()  # a user mistake: one message, no job
    assert "prompt" in window.error_box.text() and not window.controller.busy


def test_model_controls_follow_the_model(qtbot, make_window):
    window = make_window()
    panel = window.generate_panel
    assert panel.models.select("facebook/magnet-small-10secs")
    assert panel.params.magnet.isVisibleTo(panel) and not panel.params.cfg_coef.isEnabled()
    assert not panel.melody.isEnabled()
    assert panel.models.select("facebook/musicgen-melody")
    assert not panel.params.magnet.isVisibleTo(panel) and panel.params.cfg_coef.isEnabled()
    assert panel.melody.isEnabled()
    assert "not downloaded" in panel.models.combo.currentText()
    assert "CC-BY-NC-4.0" in panel.models.combo.currentText() and "medium" in panel.models.combo.currentText()


def test_loaded_model_info_lights_up_melody_and_unload_frees(qtbot, make_window, fixtures_dir):
    window = make_window()
    prepare(window, fixtures_dir / "musicgen-melody")
    ref = window.generate_panel.models.current_ref()
    assert not window.generate_panel.melody.isEnabled()  # a local folder is unknown until loaded
    with qtbot.waitSignal(window.controller.model_loaded, timeout=GENERATION_TIMEOUT_MS):
        window.controller.load(ref)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert window.generate_panel.melody.isEnabled()
    assert window.controller.engine.is_loaded(ref)
    assert window.controller.load(ref) is None  # cached: switching back is instant
    window.unload_action.trigger()
    assert not window.controller.engine.is_loaded(ref)


def test_offline_switch_goes_through_core_hub(qtbot, make_window):
    from core.models import hub

    window = make_window()
    assert window.offline_action.isChecked() == hub.is_offline()
    try:
        window.offline_action.setChecked(False)
        assert not hub.is_offline()
        window.offline_action.setChecked(True)
        assert hub.is_offline() and window.preferences.offline
    finally:
        hub.set_offline(True)  # the suite runs offline


def test_actions_have_their_keys(make_window):
    window = make_window()
    keys = {a.objectName(): a.shortcut().toString() for a in window.findChildren(QAction) if a.objectName()}
    assert keys["play"] == "Space" and keys["delete"] == "Del" and keys["export"] == "Ctrl+E"
    assert window.takes_panel.undo_action.shortcut().toString() == "Ctrl+Z"


def test_continuation_dropped_in_is_used(qtbot, window, fixtures_dir, tmp_path):
    source = tmp_path / "start.wav"
    sf.write(source, 0.2 * np.sin(np.linspace(0, 2000, 8000, dtype=np.float32)), 16000)
    panel = window.generate_panel
    panel.params.duration.setValue(1.0)
    assert panel.continuation.load(source)
    record = generate_and_wait(qtbot, window)[0]
    assert record.extra["continuation"] == str(source)
    assert sf.info(record.wav_path).frames == 32000


def test_model_not_on_disk_offline_is_a_clear_message(qtbot, make_window):
    window = make_window()
    panel = window.generate_panel
    assert panel.models.select("facebook/audiogen-medium")
    assert "not downloaded" in panel.models.combo.currentText()
    panel.prompt.set_prompt("footsteps on gravel")
    panel.params.duration.setValue(0.5)
    with qtbot.waitSignal(window.controller.error, timeout=GENERATION_TIMEOUT_MS) as blocker:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert "facebook/audiogen-medium" in blocker.args[0] and "not downloaded yet" in blocker.args[0]
    assert window.error_box.isVisible()


def test_export_writes_through_core_export(qtbot, window, tmp_path):
    pytest.importorskip("core.export.writer")
    from core.export.settings import ExportSettings

    record = generate_and_wait(qtbot, window)[0]
    assert window.takes_panel.export_action.isEnabled()
    result = window.exporter.export(record, tmp_path / "out", ExportSettings(format="flac24", sample_rate=48000))
    assert result is not None and result.path.is_file() and result.path.suffix == ".flac"
    assert sf.info(result.path).samplerate == 48000
    assert str(result.path) in window.statusBar().currentMessage()


def test_queue_is_visible_and_a_waiting_job_can_be_dropped(qtbot, window):
    panel = window.generate_panel
    added = []
    window.controller.takes_added.connect(added.append)
    window.generate()
    panel.params.seed.setValue(5)
    panel.params.seed_lock.setChecked(True)
    window.generate()
    window.generate()
    assert panel.queue_list.count() == 3 and panel.queue_list.item(0).text().startswith("▶")
    assert panel.generate_button.text() == "Queue another" and panel.cancel_button.isEnabled()
    waiting = panel.queue_list.item(2)
    panel.queue_list.itemActivated.emit(waiting)
    assert panel.queue_list.count() == 2
    qtbot.waitUntil(lambda: not window.controller.busy and len(added) == 2, timeout=GENERATION_TIMEOUT_MS)
    assert panel.queue_list.count() == 0 and panel.generate_button.text() == "Generate"
    assert window.takes_panel.model.rowCount() == 2


def test_magnet_folder_lights_up_its_controls_and_generates(qtbot, make_window, fixtures_dir):
    window = make_window()
    prepare(window, fixtures_dir / "magnet", seconds=1.0)
    panel = window.generate_panel
    assert not panel.params.magnet.isVisibleTo(panel)  # unknown until loaded
    with qtbot.waitSignal(window.controller.model_loaded, timeout=GENERATION_TIMEOUT_MS):
        window.controller.load(panel.models.current_ref())
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert panel.params.magnet.isVisibleTo(panel) and not panel.params.cfg_coef.isEnabled()
    for box, steps in zip(panel.params.decoding_steps, (3, 2, 2, 1), strict=True):
        box.setValue(steps)
    record = generate_and_wait(qtbot, window)[0]
    assert record.params.decoding_steps == (3, 2, 2, 1) and record.extra["family"] == "magnet"
    assert sf.info(record.wav_path).frames == 32000
    assert "steps 3/2/2/1" in window.takes_panel.detail.info.text()


def test_preferences_switch_library_and_device_and_persist(qtbot, window, make_window, tmp_path):
    from desktop.dialogs.preferences import PreferencesDialog
    from desktop.settings import Preferences

    generate_and_wait(qtbot, window)
    dialog = PreferencesDialog(window.preferences, window)
    assert dialog.preferences() == window.preferences
    dialog.library_dir.setText(str(tmp_path / "second-library"))
    edited = dialog.preferences()
    edited.output_device = "no such sound card"
    window._apply_preferences(edited)
    assert window.library.folder == tmp_path / "second-library"
    assert window.takes_panel.model.rowCount() == 0
    assert window.takes_panel.player.device == "no such sound card"
    window.close()

    again = make_window()
    assert again.preferences == Preferences(tmp_path / "second-library", "no such sound card", True)
    assert again.library.folder == tmp_path / "second-library"
    assert again.takes_panel.player.device == "no such sound card"

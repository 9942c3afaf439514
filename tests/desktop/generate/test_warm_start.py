"""Issue 25: the window loads the last-used model in the background at start; Generate pressed meanwhile waits
behind the load with a visible state, and the status line says when the model is ready. A first run loads
nothing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from desktop.main_window import MainWindow

TIMEOUT_MS = 180_000


@pytest.fixture
def open_window(qtbot, tmp_settings, tmp_path, no_dangling_threads):
    """`open_window(model_ref)` starts a window as the app does (warm start) with `model_ref` as the model chosen
    at the last close (None: a first run); every window is closed (its jobs joined) at the end."""
    windows: list[MainWindow] = []

    def open_(model_ref: str | None) -> MainWindow:
        settings = QSettings()
        settings.setValue("preferences/library_dir", str(tmp_path / "library"))
        if model_ref is not None:
            settings.setValue("generate/model/folders", f'["{model_ref}"]')
            settings.setValue("generate/model/model", model_ref)
        window = MainWindow(settings, warm_start=True)
        qtbot.addWidget(window)
        windows.append(window)
        window.show()
        return window

    yield open_
    for window in windows:
        window.close()


def test_the_last_model_loads_at_start_and_generate_waits_for_it(qtbot, open_window, fixtures_dir):
    ref = str((fixtures_dir / "musicgen").resolve())
    window = open_window(ref)
    controller = window.controller
    load = controller.queue.current
    assert load is not None and load.subject == ref and controller.loading(ref)  # started with the window
    assert "Loading musicgen" in window.statusBar().currentMessage()

    panel = window.generate_panel
    panel.prompt.set_prompt("rain on a tin roof")
    panel.params.duration.setValue(0.3)
    window.preferences.preview = False
    with qtbot.waitSignal(
        controller.status, timeout=TIMEOUT_MS, check_params_cb=lambda text: "ready to generate" in text
    ):
        window.generate()  # pressed while the model loads: queued behind it, and the window says so
        assert controller.queue.current is load and [j.subject for j in controller.queue.pending] == [ref]
        assert "waits for musicgen to finish loading" in window.statusBar().currentMessage()
        rows = [panel.queue_list.item(i).text() for i in range(panel.queue_list.count())]
        assert rows[0] == "▶ load musicgen" and rows[1].startswith("… “rain on a tin roof”")
        qtbot.waitUntil(lambda: "then Generate starts" in panel.progress.format(), timeout=TIMEOUT_MS)
    loaded = controller.engine.get().load(ref, precision=panel.params.precision.choice())  # cached: no reload
    with qtbot.waitSignal(controller.takes_added, timeout=TIMEOUT_MS) as added:
        pass
    qtbot.waitUntil(lambda: not controller.busy, timeout=10_000)
    assert len(added.args[0]) == 1
    assert controller.engine.get().load(ref, precision=panel.params.precision.choice()) is loaded  # used as loaded


def test_a_first_run_only_starts_the_engine(qtbot, open_window):
    window = open_window(None)
    jobs = window.controller.queue.jobs()
    assert [job.title for job in jobs] == ["start the engine"]
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT_MS)
    assert window.controller.engine.loaded() == []

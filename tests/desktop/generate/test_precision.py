"""The window's precision preference: sent with each run, the picked mode shown, restored by Recall."""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings

from core.nn import kernels
from desktop.main_window import MainWindow

TIMEOUT_MS = 120_000


def test_precision_choice_reaches_the_take_and_recall_restores_it(qtbot, tmp_settings, tmp_path, fixtures_dir):
    settings = QSettings()
    settings.setValue("preferences/library_dir", str(tmp_path / "library"))
    window = MainWindow(settings)
    window.show()
    try:
        panel = window.generate_panel
        panel.models.add_folder(fixtures_dir / "audiogen")
        panel.prompt.set_prompt("rain")
        panel.params.duration.setValue(0.5)
        box = panel.params.precision
        assert box.choice() == "auto"  # the default for new generations
        box.set_choice("int4")
        runs = "int4" if kernels.available(kernels.INT4_MM) else "int8"  # int8 where the 4-bit kernel is refused
        with qtbot.waitSignal(window.controller.takes_added, timeout=TIMEOUT_MS) as added:
            window.generate()
        qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
        record = added.args[0][0]
        assert json.loads(record.sidecar_path.read_text())["precision"] == runs
        assert box.picked.text() == f"using {runs}"
        box.set_choice("fp32")
        window.takes_panel.recall_action.trigger()
        assert box.choice() == runs
        window.close()
        restored = MainWindow(QSettings())
        assert restored.generate_panel.params.precision.choice() == runs  # kept between sessions
        restored.close()
    finally:
        if window.isVisible():
            window.close()

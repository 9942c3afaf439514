"""File > Render a manifest…: the validation result, then a queued render with progress, cancel and the library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from desktop.main_window import MainWindow

RENDER_TIMEOUT_MS = 180_000  # the first job of the session also imports torch in the worker


@pytest.fixture
def window(qtbot, tmp_settings, tmp_path, no_dangling_threads):
    settings = QSettings()
    settings.setValue("preferences/library_dir", str(tmp_path / "library"))
    window = MainWindow(settings)
    window.show()
    yield window
    window.close()


def _manifest(tmp_path: Path, fixtures_dir: Path, rows: list[dict]) -> Path:
    path = tmp_path / "sfx.jsonl"
    model = str(fixtures_dir / "musicgen")
    path.write_text("".join(json.dumps({"model": model, "duration": 1, **row}) + "\n" for row in rows))
    return path


def test_the_dialog_shows_every_invalid_row_and_needs_consent_to_skip_them(window, fixtures_dir, tmp_path):
    path = _manifest(tmp_path, fixtures_dir, [{"prompt": "door slam", "seed": 1}, {"prompt": "door", "top_p": 3}])
    assert window.render_controller.action.text() == "Render a manifest…"
    dialog = window.render_controller.review(path)
    assert dialog.summary.text() == "1 valid row(s), 1 take(s); 1 invalid row(s)."
    assert dialog.errors.toPlainText().startswith("line 2: top-p must lie between 0 and 1")
    assert not dialog.render_button.isEnabled()
    dialog.skip_invalid.setChecked(True)
    assert dialog.render_button.isEnabled()
    assert dialog.out() == tmp_path / "library" / "renders" / "sfx"
    dialog.reject()
    assert not window.controller.queue.busy


def test_render_runs_as_a_job_and_adds_its_takes_to_the_library(qtbot, window, fixtures_dir, tmp_path):
    path = _manifest(tmp_path, fixtures_dir, [{"prompt": "door slam", "seed": 1, "variations": 2}])
    dialog = window.render_controller.review(path)
    out = tmp_path / "renders"
    dialog.folder.edit.setText(str(out))
    dialog.add_to_library.setChecked(True)
    steps = []
    window.controller.progress.connect(lambda stage, step, total, text: steps.append((stage, step, total, text)))
    with qtbot.waitSignal(window.controller.queue.finished, timeout=RENDER_TIMEOUT_MS):
        dialog.render_button.click()
    assert sorted(p.name for p in out.iterdir()) == [
        "door_slam_musicgen_s1.codes.npy",
        "door_slam_musicgen_s1.json",
        "door_slam_musicgen_s1.wav",
        "door_slam_musicgen_s2.codes.npy",
        "door_slam_musicgen_s2.json",
        "door_slam_musicgen_s2.wav",
        "render-report.json",
    ]
    assert window.takes_panel.model.rowCount() == 2
    assert ("rendering takes", 1, 2) in [s[:3] for s in steps]
    assert any(text.startswith("Rendering takes: step 2 of 2") for *_, text in steps)
    assert "2 take(s) rendered, 0 skipped, 0 failed" in window.statusBar().currentMessage()


def test_cancel_keeps_the_finished_takes_whole(qtbot, window, fixtures_dir, tmp_path):
    path = _manifest(tmp_path, fixtures_dir, [{"prompt": "rain", "seed": 1, "variations": 4}])
    window.controller.progress.connect(
        lambda stage, step, total, text: window.controller.cancel() if stage == "rendering takes" and step else None
    )
    dialog = window.render_controller.review(path)
    out = tmp_path / "renders"
    dialog.folder.edit.setText(str(out))
    with qtbot.waitSignal(window.controller.queue.finished, timeout=RENDER_TIMEOUT_MS):  # with what it finished
        dialog.render_button.click()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    sidecars = [p for p in out.glob("*.json") if p.name != "render-report.json"]
    assert 1 <= len(sidecars) < 4
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [f"{p.stem}{suffix}" for p in sidecars for suffix in (".wav", ".codes.npy", ".json")] + ["render-report.json"]
    )
    assert json.loads((out / "render-report.json").read_text())["cancelled"] is True
    assert "render it again to finish" in window.statusBar().currentMessage()

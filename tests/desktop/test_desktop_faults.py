"""The window's side of the fault matrix: a cancel during a batch keeps the finished takes (files and rows), and a
library another program keeps locked is one sentence, with the take kept and listed at the next start."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from core.takes.library import DB_NAME, Library
from desktop.main_window import MainWindow

TIMEOUT_MS = 120_000


def take_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != DB_NAME)


@pytest.fixture
def window(qtbot, tmp_settings, tmp_path, no_dangling_threads, fixtures_dir):
    QSettings().setValue("preferences/library_dir", str(tmp_path / "library"))
    window = MainWindow(QSettings())
    window.show()
    panel = window.generate_panel
    panel.models.add_folder(fixtures_dir / "audiogen")
    panel.prompt.set_prompt("rain on a tin roof")
    panel.params.duration.setValue(0.5)
    yield window
    window.close()


def test_cancel_during_a_batch_keeps_the_finished_takes(qtbot, window, tmp_path):
    from core.generation.variations import BATCH

    count = BATCH + 2  # two batches decoded one after the other: BATCH takes, then 2
    window.generate_panel.params.variations.setValue(count)

    def cancel_in_the_second_take(stage: str, step: int, total: int, _text: str) -> None:
        if stage == "generate" and step > total // 2 + 2:  # the first batch is finished and written
            window.generate_panel.cancel_button.click()

    window.controller.progress.connect(cancel_in_the_second_take)
    with qtbot.waitSignal(window.controller.takes_added, timeout=TIMEOUT_MS) as added:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    records = added.args[0]
    assert 1 <= len(records) < count and window.takes_panel.model.rowCount() == len(records)
    assert len(take_files(tmp_path / "library")) == 3 * len(records)
    assert all(r.wav_path.is_file() and r.codes_path.is_file() and r.sidecar_path.is_file() for r in records)
    assert f"kept the {len(records)} finished take(s)" in window.statusBar().currentMessage()


def test_a_locked_library_is_a_sentence_and_the_take_is_listed_next_time(qtbot, window, tmp_path, tmp_settings):
    folder = tmp_path / "library"
    window.library.busy_timeout_s = 0.5
    holder = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a CLI run in another process holds the history
    try:
        with qtbot.waitSignal(window.controller.error, timeout=TIMEOUT_MS) as error:
            window.generate()
        qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "is locked by another program" in error.args[0] and "will be listed next time" in error.args[0]
    assert len(take_files(folder)) == 3 and window.takes_panel.model.rowCount() == 0
    window.close()
    again = MainWindow(QSettings())  # the next start records the take the locked library could not
    try:
        assert again.takes_panel.model.rowCount() == 1
        assert "Recorded 1 take(s)" in again.statusBar().currentMessage()
    finally:
        again.close()
    with Library(folder) as library:
        assert len(library.search()) == 1 and library.adopted == 0

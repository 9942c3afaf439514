"""The window's side of the fault matrix: a cancel during a batch keeps the finished takes (files and rows), a
library another program keeps locked is one sentence, with the take kept and listed once the lock goes (or at the
next start), a library locked at start opens off the GUI thread, and a history file that cannot be a database
is an error that keeps the takes."""

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


def open_window(library: Path, fixtures_dir: Path) -> MainWindow:
    """A window on `library` with the fixture AudioGen chosen and a short prompt typed."""
    QSettings().setValue("preferences/library_dir", str(library))
    window = MainWindow(QSettings())
    window.show()
    panel = window.generate_panel
    panel.models.add_folder(fixtures_dir / "audiogen")
    panel.prompt.set_prompt("rain on a tin roof")
    panel.params.duration.setValue(0.5)
    return window


@pytest.fixture
def window(qtbot, tmp_settings, tmp_path, no_dangling_threads, fixtures_dir):
    window = open_window(tmp_path / "library", fixtures_dir)
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
    assert "is locked by another program" in error.args[0] and "will be listed as soon as" in error.args[0]
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


def test_a_read_lock_that_outlasts_the_wait_is_recovered_from_by_itself(qtbot, window, tmp_path):
    folder = tmp_path / "library"
    window.library.busy_timeout_s = 0.5
    holder = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    holder.execute("BEGIN")
    holder.execute("SELECT COUNT(*) FROM takes").fetchall()  # a backup tool reading the history, for a while
    try:
        with qtbot.waitSignal(window.controller.error, timeout=TIMEOUT_MS) as error:
            window.generate()
        qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
        assert "is locked by another program" in error.args[0] and window.takes_panel.model.rowCount() == 0
        reader = sqlite3.connect(folder / DB_NAME, timeout=0.1)  # the window keeps no lock while it waits
        assert reader.execute("SELECT COUNT(*) FROM takes").fetchone() == (0,)
        reader.close()
    finally:
        holder.execute("COMMIT")
        holder.close()
    qtbot.waitUntil(lambda: window.takes_panel.model.rowCount() == 1, timeout=15_000)  # recorded by itself
    with qtbot.waitSignal(window.controller.takes_added, timeout=TIMEOUT_MS):
        window.generate()  # and the next take is recorded as usual
    assert window.takes_panel.model.rowCount() == 2
    with Library(folder) as library:
        assert len(library.search()) == 2


def test_a_library_locked_at_start_opens_off_the_gui_thread(qtbot, tmp_settings, tmp_path, no_dangling_threads):
    from tests.faults.helpers import tone_take

    folder = tmp_path / "library"
    with Library(folder) as library:
        library.save(tone_take(prompt="made earlier"))
    QSettings().setValue("preferences/library_dir", str(folder))
    holder = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a CLI run holds the history while the window starts
    try:
        window = MainWindow(QSettings())
        window.show()
        assert window.library is None and window.takes_panel.model.rowCount() == 0
        assert "Waiting for the take library" in window.statusBar().currentMessage()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    try:
        qtbot.waitUntil(lambda: window.library is not None, timeout=15_000)
        assert window.takes_panel.model.rowCount() == 1
        assert "Opened the take library" in window.statusBar().currentMessage()
    finally:
        window.close()


def test_closing_while_the_library_is_locked_stops_waiting(qtbot, tmp_settings, tmp_path, no_dangling_threads):
    folder = tmp_path / "library"
    Library(folder).close()
    QSettings().setValue("preferences/library_dir", str(folder))
    holder = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        window = MainWindow(QSettings())
        window.show()
        assert window.services.library_opener is not None and window.services.library_opener.isRunning()
        window.close()  # the opener stops and is joined (no_dangling_threads checks it)
        assert window.library is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_history_file_that_is_a_folder_is_an_error_and_keeps_the_takes(
    qtbot, tmp_settings, tmp_path, no_dangling_threads, fixtures_dir
):
    folder = tmp_path / "library"
    (folder / DB_NAME).mkdir(parents=True)
    window = open_window(folder, fixtures_dir)
    try:
        assert f"its history file {DB_NAME} is a folder" in window.statusBar().currentMessage()
        errors: list[str] = []
        window.controller.error.connect(errors.append)
        window.generate()
        qtbot.waitUntil(lambda: bool(errors) or "Generated" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
        assert errors and "is a folder" in errors[0] and "could not be listed; their files are kept" in errors[0]
        assert "Generated" not in window.statusBar().currentMessage()
        assert len(take_files(folder)) == 3 and window.takes_panel.model.rowCount() == 0
    finally:
        window.close()

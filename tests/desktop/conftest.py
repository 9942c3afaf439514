"""Shared Qt test set-up for desktop tests: offscreen platform, a guard against leaked QThreads, tmp settings.

Applies to every test under tests/desktop/ (it holds fixtures and helpers, no tests).
"""

from __future__ import annotations

import os
from pathlib import Path  # noqa: E402

# Before any QApplication exists: the offscreen platform with one 1600x1000 screen (its default screen is 800x800,
# narrower than the window's minimum width, so no restored size could be checked exactly on it).
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={Path(__file__).with_name('screen.json')}"

import pytest  # noqa: E402
import shiboken6  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QThread  # noqa: E402

TEST_ORGANISATION = "SoundDeskTests"


@pytest.fixture
def no_dangling_threads(monkeypatch):
    """Fail the test if any QThread it started is still running when it ends (napari's _dangling_qthreads)."""
    started: list[QThread] = []
    owners: list[object] = []  # keeps each thread's parent alive, so a leak fails the test instead of aborting
    original = QThread.start

    def start(self, *args, **kwargs):
        started.append(self)
        owners.append(self.parent())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    yield started
    running = [t for t in started if shiboken6.isValid(t) and t.isRunning()]
    for thread in running:
        thread.wait(10_000)
    if running:
        names = ", ".join(t.objectName() or repr(t) for t in running)
        owners.clear()
        pytest.fail(f"the test left {len(running)} QThread(s) running: {names}")


@pytest.fixture
def tmp_settings(qapp, tmp_path):
    """QSettings that write into tmp_path under a test organisation, never the user's real settings."""
    folder = tmp_path / "settings"
    folder.mkdir()
    old = (QCoreApplication.organizationName(), QCoreApplication.applicationName())
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QCoreApplication.setOrganizationName(TEST_ORGANISATION)
    QCoreApplication.setApplicationName("SoundDesk")
    yield folder
    QCoreApplication.setOrganizationName(old[0])
    QCoreApplication.setApplicationName(old[1])


@pytest.fixture
def make_window(qtbot, tmp_settings, tmp_path, no_dangling_threads):
    """`make(size=(1100, 750))` opens a MainWindow with its settings and library in tmp_path, at `size` unless the
    settings hold a geometry (a restart keeps the restored one); every window is closed (and joined) at the end."""
    from desktop.main_window import MainWindow

    windows: list[MainWindow] = []
    library = tmp_path / "library"

    def make(size: tuple[int, int] = (1100, 750)) -> MainWindow:
        settings = QSettings()
        if not settings.value("preferences/library_dir"):
            settings.setValue("preferences/library_dir", str(library))
        window = MainWindow(settings)
        if not settings.contains("window/geometry"):
            window.resize(*size)
        window.show()
        windows.append(window)
        return window

    make.library = library
    yield make
    for window in windows:
        if window.isVisible() or window.compact.active:
            window.close()
        window.deleteLater()  # a closed window lives on, and every later theme change restyles it
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

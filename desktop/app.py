"""Application start: QApplication with its names set once, logging, the exception hook, the main window."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from desktop.crash import ExceptionHandler, setup_logging
from desktop.settings import APPLICATION, ORGANISATION
from desktop.widgets import theme

log = logging.getLogger(__name__)
SMOKE_TEST_ENV = "SOUNDDESK_SMOKE_TEST"
"""When set, the window opens, says on stdout once its event loop runs whether the first-run box shows, saves a
picture of itself if the value is a .png path, and closes: how the built app is checked (scripts/smoke_app.sh)."""


def create_application(argv: Sequence[str] = ()) -> QApplication:
    """The QApplication (an existing one is reused), names set before any QSettings is made."""
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "sounddesk", *argv])
    QCoreApplication.setOrganizationName(ORGANISATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app.setWindowIcon(theme.app_icon())
    from PySide6.QtCore import QSettings

    theme.apply(app, str(QSettings().value("preferences/theme", theme.DEFAULT_THEME)))
    return app


def run(argv: Sequence[str] = ()) -> int:
    """Open the window and run the event loop; returns the exit status."""
    app = create_application(argv)
    log_path = setup_logging()
    handler = ExceptionHandler(log_path, app)
    handler.install()
    from desktop.main_window import MainWindow
    from desktop.services.app import AppServices

    services = AppServices(parent=app)  # the app's: one job queue, engine, player and library for the window
    window = MainWindow(warm_start=True, services=services)
    window.show()
    log.info("window shown (log file %s)", log_path)
    if os.environ.get(SMOKE_TEST_ENV):
        QTimer.singleShot(0, lambda: _smoke_test(window))
    try:
        return int(app.exec())
    finally:
        handler.uninstall()


def _smoke_test(window) -> None:
    """Print the window's state once it is up, then close it (as the user would: settings saved, worker stopped)."""
    box = "shown" if window.generate_panel.first_run.isVisible() else "hidden"
    print(f"SoundDesk window ready; first-run box {box}", flush=True)
    picture = os.environ.get(SMOKE_TEST_ENV, "")
    if picture.endswith(".png"):
        window.grab().save(picture)
    window.close()
    QApplication.quit()

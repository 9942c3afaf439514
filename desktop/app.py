"""Application start: QApplication with its names set once, logging, the exception hook, the main window."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop.crash import ExceptionHandler, setup_logging
from desktop.settings import APPLICATION, ORGANISATION
from desktop.widgets import theme
from resources import resource_path

log = logging.getLogger(__name__)


def create_application(argv: Sequence[str] = ()) -> QApplication:
    """The QApplication (an existing one is reused), names set before any QSettings is made."""
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "sounddesk", *argv])
    QCoreApplication.setOrganizationName(ORGANISATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app.setWindowIcon(QIcon(str(resource_path("icons", "sounddesk.svg"))))
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

    window = MainWindow(warm_start=True)
    window.show()
    log.info("window shown (log file %s)", log_path)
    try:
        return int(app.exec())
    finally:
        handler.uninstall()

"""The window's layout at 1280x800 and with 125 % fonts: no clipped labels or buttons, no horizontal scrollbar;
a first start fits the screen; the empty takes view says what to do; the look follows the theme preference."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLabel, QScrollArea

from desktop.main_window import MainWindow
from desktop.takes.detail import EMPTY_TEXT
from desktop.widgets import theme

SMALL_SCREEN = (1280, 800)


@pytest.fixture
def window_at(qtbot, tmp_settings, tmp_path, no_dangling_threads):
    windows: list[MainWindow] = []

    def make(width: int, height: int) -> MainWindow:
        settings = QSettings()
        settings.setValue("preferences/library_dir", str(tmp_path / "library"))
        window = MainWindow(settings)
        window.resize(width, height)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.deleteLater()  # gone before the next test's window (a font change would re-lay it out too)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def clipped_widgets(window: MainWindow) -> list[str]:
    """Visible labels, buttons and combo boxes narrower or lower than their minimum size hint."""
    clipped = []
    for widget in window.findChildren(QAbstractButton) + window.findChildren(QLabel) + window.findChildren(QComboBox):
        if not widget.isVisibleTo(window) or widget.window() is not window:
            continue
        hint = widget.minimumSizeHint()
        wraps = isinstance(widget, QLabel) and widget.wordWrap()
        need = (min(hint.width(), 40), 0) if wraps else (hint.width(), hint.height())  # wrapped text reflows
        if widget.width() < need[0] or widget.height() < need[1]:
            text = widget.text() if hasattr(widget, "text") else ""
            clipped.append(f"{type(widget).__name__} {text!r} {widget.size().toTuple()} < {hint.toTuple()}")
    return clipped


@pytest.mark.parametrize(
    "font_scale",
    [1.0, 1.25],  # 1.25 after the 1.0 window: the app's stylesheet is set when its buttons are first measured
)
def test_nothing_is_clipped_at_1280x800(qtbot, window_at, font_scale):
    app = QApplication.instance()
    font = app.font()
    original = QApplication.font()
    if font_scale != 1.0:
        font.setPointSizeF(font.pointSizeF() * font_scale)
        app.setFont(font)
    try:
        window = window_at(*SMALL_SCREEN)
        # The main layouts fit: their minimum sizes are within the window (so Qt never squeezes them).
        minimum = window.minimumSizeHint()
        assert minimum.width() <= SMALL_SCREEN[0] and minimum.height() <= SMALL_SCREEN[1]
        assert window.width() == SMALL_SCREEN[0] and window.height() == SMALL_SCREEN[1]
        for part in (window.generate_panel, window.takes_panel, window.takes_panel.detail, window.toolbar):
            assert part.width() >= part.minimumSizeHint().width(), type(part).__name__
            assert part.height() >= part.minimumSizeHint().height(), type(part).__name__
        assert clipped_widgets(window) == []
        for area in window.findChildren(QScrollArea):
            assert not area.horizontalScrollBar().isVisible()
        # The takes list gets a fair share of the right side.
        assert window.takes_panel.list.height() >= 0.3 * window.takes_panel.splitter.height()
    finally:
        app.setFont(original)


def test_first_start_fits_the_screen_and_the_empty_view_says_what_to_do(qtbot, tmp_settings, tmp_path):
    settings = QSettings()
    settings.setValue("preferences/library_dir", str(tmp_path / "library"))
    window = MainWindow(settings)
    qtbot.addWidget(window)
    area = window.screen().availableGeometry()
    assert 0.7 * area.width() <= window.width() <= area.width()
    assert 0.7 * area.height() <= window.height() <= area.height()
    waveform = window.takes_panel.detail.waveform
    assert waveform.empty_text.isVisible() and waveform.empty_text.toPlainText() == EMPTY_TEXT
    assert not waveform.getPlotItem().getAxis("bottom").isVisible()  # no meaningless time axis
    window.close()


@pytest.mark.slow
def test_theme_preference_switches_between_dark_and_light(qtbot, tmp_settings, tmp_path):
    settings = QSettings()
    settings.setValue("preferences/library_dir", str(tmp_path / "library"))
    window = MainWindow(settings)
    qtbot.addWidget(window)
    app = QApplication.instance()
    dark = app.palette().color(QPalette.ColorRole.Window)
    assert dark.lightness() < 60 and theme.current().name == "dark"  # dark by default
    from dataclasses import replace

    window._apply_preferences(replace(window.preferences, theme="light"))
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200
    assert theme.current().name == "light" and "QPushButton" in app.styleSheet()
    assert QSettings().value("preferences/theme") == "light"
    window._apply_preferences(replace(window.preferences, theme="dark"))
    window.close()


def test_first_run_names_a_model_to_get_or_how_to_add_a_folder(qtbot, tmp_settings, tmp_path, fixtures_dir):
    from core.models import hub

    settings = QSettings()
    settings.setValue("preferences/library_dir", str(tmp_path / "library"))
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    box = window.generate_panel.first_run
    assert box.isVisible()  # the fixture hub cache holds no catalog release
    assert hub.is_offline()  # the tests run offline: how to add a folder instead of a download
    assert "offline" in box.text.text() and "Open model folder" in box.text.text()
    assert not box.download_button.isVisible() and box.folder_button.isVisible()
    try:
        window.offline_action.setChecked(False)  # online (nothing is downloaded unless Download is clicked)
        text = box.text.text()
        assert "GB" in text and "free" in text and "CC-BY-NC-4.0" in text
        assert box.download_button.isVisible() and box.choice.currentData() == "facebook/audiogen-medium"
    finally:
        window.offline_action.setChecked(True)
        hub.set_offline(True)
    window.generate_panel.models.add_folder(fixtures_dir / "musicgen")  # a local model: nothing to download
    assert not box.isVisible()
    window.close()

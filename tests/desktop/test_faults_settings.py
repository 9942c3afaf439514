"""The window's side of issue 28, item 8: a settings file with values the window cannot use (edited by hand, from
another version, damaged) never keeps it from opening; each bad value is reset to the default with a log line."""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QSettings

BAD = {
    "window/geometry": "abc",  # an INI file gives text back where bytes were saved
    "window/splitter": "<text>",
    "window/state": QByteArray(b"not a saved state"),  # bytes that Qt rejects
    "takes/splitter": "junk",
    "compact/geometry": "abc",
    "generate/model/folders": "5",  # JSON, but not a list: the model picker's restore raises on it
}


def test_bad_window_settings_are_reset_with_a_log_line_and_the_window_opens(make_window, caplog):
    settings = QSettings()
    for key, value in BAD.items():
        settings.setValue(key, value)
    settings.sync()
    with caplog.at_level(logging.WARNING, logger="desktop.settings"):
        window = make_window()
    assert window.isVisible() and window.generate_panel.isVisible()
    for key in ("window/geometry", "window/splitter", "window/state", "takes/splitter", "compact/geometry"):
        assert f"settings: {key} reset to the defaults" in caplog.text, caplog.text
        assert QSettings().value(key) is None
    assert "settings: generate reset to the defaults (TypeError" in caplog.text
    assert QSettings().value("generate/model/folders") is None
    window.close()  # and the next start finds good values again
    window = make_window()
    assert window.isVisible() and QSettings().value("window/geometry") is not None

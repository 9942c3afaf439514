"""The look: a dark (default) or light theme = Fusion style, a matching palette, a stylesheet from
resources/styles, and the colours pictures of sound use (waveform, playhead, thumbnails)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from resources import resource_path

STYLES = resource_path("styles")
ACCENT = "#3d9df3"


@dataclass(frozen=True)
class Theme:
    """A theme's colours; `qss` names its stylesheet in resources/styles."""

    name: str
    window: str
    panel: str
    base: str
    alternate: str
    text: str
    dim: str
    border: str
    wave: str
    playhead: str
    selection: str = "#2b5f91"  # the accent, darker: selected rows keep their blue thumbnails legible
    accent: str = ACCENT

    @property
    def qss(self) -> Path:
        return STYLES / f"{self.name}.qss"


THEMES = {
    "dark": Theme(
        "dark", "#1f2024", "#26282d", "#17181b", "#1c1d21", "#e4e6ea", "#9aa0a8", "#3a3d44", "#5cb3ff", "#ffb347"
    ),
    "light": Theme(
        "light",
        "#eceef1",
        "#f6f7f9",
        "#ffffff",
        "#f2f4f7",
        "#1d1f23",
        "#5c6370",
        "#c5c9d0",
        "#1f6fc4",
        "#e0561b",
        selection="#cfe3f8",
    ),
}
DEFAULT_THEME = "dark"
_current = THEMES[DEFAULT_THEME]


def current() -> Theme:
    """The theme applied last (the dark one before any)."""
    return _current


def palette(theme: Theme) -> QPalette:
    roles = QPalette.ColorRole
    pal = QPalette()
    for role, colour in (
        (roles.Window, theme.window),
        (roles.WindowText, theme.text),
        (roles.Base, theme.base),
        (roles.AlternateBase, theme.alternate),
        (roles.Text, theme.text),
        (roles.Button, theme.panel),
        (roles.ButtonText, theme.text),
        (roles.ToolTipBase, theme.panel),
        (roles.ToolTipText, theme.text),
        (roles.PlaceholderText, theme.dim),
        (roles.Highlight, theme.selection),
        (roles.HighlightedText, "#ffffff" if theme.name == "dark" else theme.text),
        (roles.Link, theme.accent),
        (roles.Mid, theme.border),
        (roles.Dark, theme.border),
        (roles.Midlight, theme.panel),
        (roles.Light, theme.panel),
    ):
        pal.setColor(role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        pal.setColor(disabled, role, QColor(theme.dim).darker(130 if theme.name == "dark" else 90))
    return pal


def apply(app: QApplication, name: str = DEFAULT_THEME) -> Theme:
    """Style the whole application with theme `name` (unknown names get the default)."""
    global _current
    theme = _current = THEMES.get(name, THEMES[DEFAULT_THEME])
    app.setStyle("Fusion")
    app.setPalette(palette(theme))
    text = theme.qss.read_text(encoding="utf-8") if theme.qss.is_file() else ""
    for key, value in (("@accent", theme.accent), ("@dim", theme.dim), ("@border", theme.border)):
        text = text.replace(key, value)
    app.setStyleSheet(text)
    import pyqtgraph as pg

    pg.setConfigOption("foreground", theme.dim)
    return theme


def icon(name: str):
    """An icon from resources/icons/<name>.svg (an empty icon when it is missing)."""
    from PySide6.QtGui import QIcon

    path = resource_path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()

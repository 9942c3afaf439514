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
ICON_COLOURS = ("#aab4c0", "#ffffff")  # what the SVGs in resources/icons are drawn in; replaced by the theme's
ON_ACCENT = "#ffffff"  # icons on an accent-coloured button (Generate)
ICON_SIZES = (16, 20, 24, 32, 48, 64)


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
    icon: str = "#aab4c0"  # the strokes of icons on the window's own background (toolbar, tool buttons)

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
        icon="#4a515c",
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


APP_ICON = resource_path("icons", "sounddesk.svg")
"""SoundDesk's own icon (the windows' and the application's; scripts/build_app.py makes the platform icons)."""


def app_icon():
    """SoundDesk's icon, in its own colours."""
    from PySide6.QtGui import QIcon

    return QIcon(str(APP_ICON))


def icon(name: str, on_accent: bool = False):
    """An icon from resources/icons/<name>.svg drawn in the current theme's icon colour (white on an accent
    button): a white icon on the light theme's toolbar would vanish. An empty icon when the file is missing."""
    return _drawn_icon(name, ON_ACCENT if on_accent else _current.icon)


def _drawn_icon(name: str, colour: str):
    """Drawn afresh each time (a few small pixmaps): a cache would keep pixmaps past the application's end."""
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QIcon, QPainter, QPixmap
    from PySide6.QtSvg import QSvgRenderer

    path = resource_path("icons", f"{name}.svg")
    if not path.is_file():
        return QIcon()
    svg = path.read_text(encoding="utf-8")
    for drawn in ICON_COLOURS:
        svg = svg.replace(drawn, colour)
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    result = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pixmap)
    return result

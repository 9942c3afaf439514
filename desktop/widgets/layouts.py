"""Small layout helpers the panels share: a margin-less column of widgets and layouts, a scrolling area."""

from __future__ import annotations

from PySide6.QtWidgets import QLayout, QScrollArea, QVBoxLayout, QWidget


def column(parent: QWidget, *parts: QWidget | QLayout, margins: int = 0) -> QVBoxLayout:
    """`parent`'s vertical layout holding `parts` (widgets or layouts) in order, with `margins` pixels around."""
    layout = QVBoxLayout(parent)
    layout.setContentsMargins(margins, margins, margins, margins)
    for part in parts:
        if isinstance(part, QLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part)
    return layout


def scrolling(content: QWidget) -> QScrollArea:
    """A scroll area that resizes `content` to its width."""
    scroll = QScrollArea()
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    return scroll

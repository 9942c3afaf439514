"""Scene rows: a layer's lane on the shared timeline (drag its waveform to move it) and drag-out handles.

A lane paints its take's waveform starting at `offset` seconds on a timeline of `seconds` seconds across the
lane's width; every lane of a scene gets the same `seconds`, so their clips line up. Dragging the clip
horizontally moves it (the scale stays fixed during a drag) and emits `offset_changed` on release.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDrag, QMouseEvent, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QSizePolicy, QWidget

from desktop.widgets.waveform import PLAYHEAD_COLOUR, waveform_pixmap

LANE_HEIGHT = 44
CLIP_COLOUR = QColor(90, 170, 255, 45)
MUTED_OPACITY = 0.35


class LayerLane(QWidget):
    """One layer's clip on the timeline; drag it sideways to change its offset."""

    offset_changed = Signal(float)  # seconds, after a drag
    moving = Signal(float)  # seconds, during a drag

    def __init__(self, wav: np.ndarray, sample_rate: int, offset: float = 0.0, parent: QWidget | None = None):
        super().__init__(parent)
        self.wav, self.sample_rate = wav, sample_rate
        self.duration = wav.shape[-1] / sample_rate
        self.offset = offset
        self.seconds = max(1.0, offset + self.duration)
        self.dimmed = False
        self.playhead: float | None = None
        self._pixmap: QPixmap | None = None
        self._press: tuple[float, float] | None = None  # (press x, offset at press)
        self._scale_at_press = 1.0
        self.setMinimumHeight(LANE_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setToolTip("Drag the clip sideways to move it in time")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(400, LANE_HEIGHT)

    @property
    def pixels_per_second(self) -> float:
        return max(1, self.width()) / self.seconds

    def clip_rect_x(self) -> tuple[int, int]:
        """Left pixel and width of the clip."""
        scale = self.pixels_per_second
        return round(self.offset * scale), max(1, round(self.duration * scale))

    def set_timeline(self, seconds: float) -> None:
        if self._press is None and seconds > 0 and seconds != self.seconds:
            self.seconds = seconds
            self.update()

    def set_offset(self, offset: float) -> None:
        self.offset = max(0.0, offset)
        self.update()

    def set_dimmed(self, dimmed: bool) -> None:
        self.dimmed = dimmed
        self.update()

    def set_playhead(self, seconds: float | None) -> None:
        self.playhead = seconds
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        left, width = self.clip_rect_x()
        if self._pixmap is None or self._pixmap.width() != width or self._pixmap.height() != self.height():
            self._pixmap = waveform_pixmap(self.wav, width, self.height())
        painter.setOpacity(MUTED_OPACITY if self.dimmed else 1.0)
        painter.fillRect(left, 0, width, self.height(), CLIP_COLOUR)
        painter.drawPixmap(left, 0, self._pixmap)
        painter.setOpacity(1.0)
        if self.playhead is not None:
            x = round(self.playhead * self.pixels_per_second)
            painter.setPen(QPen(PLAYHEAD_COLOUR, 2))
            painter.drawLine(x, 0, x, self.height())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        left, width = self.clip_rect_x()
        x = event.position().x()
        if event.button() == Qt.MouseButton.LeftButton and left <= x <= left + width:
            self._press = (x, self.offset)
            self._scale_at_press = self.pixels_per_second
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._press is None:
            super().mouseMoveEvent(event)
            return
        x0, offset0 = self._press
        self.set_offset(offset0 + (event.position().x() - x0) / self._scale_at_press)
        self.moving.emit(self.offset)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._press is None:
            super().mouseReleaseEvent(event)
            return
        moved = self.offset != self._press[1]
        self._press = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        if moved:
            self.offset_changed.emit(self.offset)


class DragHandle(QLabel):
    """A label that drags files out (to a DAW or file manager): `urls` are complete files or a folder."""

    def __init__(self, text: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setToolTip(tooltip)
        self.setFrameShape(QLabel.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.paths: list[Path] = []
        self._press: QPoint | None = None

    def set_paths(self, paths: list[Path]) -> None:
        self.paths = [Path(p) for p in paths]
        self.setEnabled(bool(self.paths))

    def mime_data(self) -> QMimeData:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in self.paths])
        mime.setText("\n".join(str(p) for p in self.paths))
        return mime

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._press = event.position().toPoint() if event.button() == Qt.MouseButton.LeftButton else None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._press is None or not self.paths:
            return
        if (event.position().toPoint() - self._press).manhattanLength() < QApplication.startDragDistance():
            return
        self._press = None
        drag = QDrag(self)
        drag.setMimeData(self.mime_data())
        drag.exec(Qt.DropAction.CopyAction | Qt.DropAction.LinkAction, Qt.DropAction.CopyAction)

"""The takes list: a row per take (waveform thumbnail, star, name, model, seed), dragged out as a WAV file."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from core.takes.library import TakeRecord
from desktop.takes.drag import start_take_drag
from desktop.takes.library_model import THUMBNAIL_SIZE, MatchRole, RecordRole, TakesModel, ThumbnailRole

ROW_HEIGHT = 52
EMPTY_LIST_TEXT = "Your takes appear here. Drag one into your DAW; Space plays it."


def summary_line(record: TakeRecord, match: str | None = None) -> str:
    """The row's second line; `match` is its CLAP place in words (desktop.takes.match_words), if it has one."""
    model = record.model.rstrip("/").split("/")[-1]
    when = time.strftime("%d %b %H:%M", time.localtime(record.created))
    place = f"{match} · " if match else ""
    return f"{place}{model} · seed {record.seed} · {record.duration:.1f} s · {when} · {record.prompt}"


class TakeDelegate(QStyledItemDelegate):
    """Paints a take row: thumbnail on the left, name (and star) over a one-line summary."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.playing_id: int | None = None

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802 - Qt API
        return QSize(THUMBNAIL_SIZE[0] + 240, ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        record: TakeRecord | None = index.data(RecordRole)
        if record is None:
            return
        painter.save()
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        rect = option.rect.adjusted(4, 4, -4, -4)
        thumbnail = index.data(ThumbnailRole)
        if thumbnail is not None:
            painter.drawPixmap(rect.left(), rect.top() + (rect.height() - thumbnail.height()) // 2, thumbnail)
        text_left = rect.left() + THUMBNAIL_SIZE[0] + 8
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(option.palette.color(role))
        name_font = painter.font()
        name_font.setBold(True)
        painter.setFont(name_font)
        title = ("★ " if record.starred else "") + ("▶ " if record.id == self.playing_id else "") + record.name
        name_rect = QRect(text_left, rect.top(), rect.right() - text_left, rect.height() // 2)
        painter.drawText(
            name_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, name_rect.width()),
        )
        name_font.setBold(False)
        painter.setFont(name_font)
        info_rect = QRect(text_left, rect.top() + rect.height() // 2, name_rect.width(), rect.height() // 2)
        summary = summary_line(record, index.data(MatchRole))
        info = painter.fontMetrics().elidedText(summary, Qt.TextElideMode.ElideRight, info_rect.width())
        painter.drawText(info_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, info)
        painter.restore()


class TakesList(QListView):
    """The list of takes; dragging a row hands the DAW or file manager the take's WAV in the library."""

    current_record_changed = Signal(object)  # TakeRecord | None
    activated_record = Signal(object)  # double click / Enter: play

    def __init__(self, model: TakesModel, parent=None) -> None:
        super().__init__(parent)
        self.takes = model
        self.setModel(model)
        self.delegate = TakeDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setUniformItemSizes(True)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # rows elide their text
        self.selectionModel().currentChanged.connect(self._on_current)
        model.modelReset.connect(self._after_reset)
        self.activated.connect(lambda index: self.activated_record.emit(index.data(RecordRole)))
        self._last_id: int | None = None

    def current_record(self) -> TakeRecord | None:
        index = self.currentIndex()
        return index.data(RecordRole) if index.isValid() else None

    def select_take(self, take_id: int) -> bool:
        row = self.takes.row_of(take_id)
        if row < 0:
            return False
        self.setCurrentIndex(self.takes.index(row))
        self.scrollTo(self.takes.index(row))
        return True

    def move(self, step: int) -> None:
        """Select the take `step` rows away (arrow keys from anywhere in the window)."""
        count = self.takes.rowCount()
        if count:
            row = min(max(self.currentIndex().row() + step, 0), count - 1)
            self.setCurrentIndex(self.takes.index(row))

    def set_playing(self, take_id: int | None) -> None:
        self.delegate.playing_id = take_id
        self.viewport().update()

    def _on_current(self, current: QModelIndex | QPersistentModelIndex, _previous) -> None:
        record = current.data(RecordRole) if current.isValid() else None
        self._last_id = record.id if record is not None else None
        self.current_record_changed.emit(record)

    def _after_reset(self) -> None:
        """Keep the selection on the same take across a reload (or on the first row)."""
        if self._last_id is not None and self.select_take(self._last_id):
            return
        if self.takes.rowCount():
            self.setCurrentIndex(self.takes.index(0))
        else:
            self.current_record_changed.emit(None)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        """An empty list says what to do instead of showing nothing."""
        super().paintEvent(event)
        if self.takes.rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.viewport().rect().adjusted(16, 16, -16, -16), flags, EMPTY_LIST_TEXT)
            painter.end()

    def startDrag(self, supported_actions) -> None:  # noqa: N802 - Qt override
        record = self.current_record()
        if record is None:
            return
        try:
            wav, _ = self.takes.audio(record)
        except (OSError, RuntimeError, ValueError):  # damaged audio: start_take_drag draws a flat picture
            wav = None
        start_take_drag(self, record, wav)

"""The takes list model: the library's records for a search, with cached audio and waveform thumbnails."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import numpy as np
import soundfile as sf
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QPixmap

from core.errors import SoundDeskError
from core.takes.library import Library, TakeRecord
from desktop.takes import match_words
from desktop.widgets.waveform import waveform_pixmap

log = logging.getLogger(__name__)

RecordRole = Qt.ItemDataRole.UserRole + 1
ThumbnailRole = Qt.ItemDataRole.UserRole + 2
ScoreRole = Qt.ItemDataRole.UserRole + 3  # the search-by-sound score of a ranked row, else None
MatchRole = Qt.ItemDataRole.UserRole + 4  # the row's CLAP place in words ("closest of 12"), else None
THUMBNAIL_SIZE = (140, 40)
AUDIO_CACHE_TAKES = 8

Index = QModelIndex | QPersistentModelIndex


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A take's WAV as float32 [C, N] and its rate."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), int(rate)


class TakesModel(QAbstractListModel):
    """Rows are TakeRecords, newest first; `reload()` runs the current search against the library."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library: Library | None = None
        self._records: list[TakeRecord] = []
        self._query = ""
        self._starred_only = False
        self._scores: dict[int, float | None] = {}  # ranked rows: score, or None for a take not indexed yet
        self._title = ""  # what the ranked rows answer ("Sounds like “rain”")
        self._match: dict[int, tuple[str, str]] = {}  # take id -> (label, tooltip) for its CLAP place
        self._thumbnails: dict[tuple[int, str], QPixmap] = {}
        self._audio: OrderedDict[tuple[int, str], tuple[np.ndarray, int]] = OrderedDict()

    def set_library(self, library: Library | None) -> None:
        self.library = library
        self._thumbnails.clear()
        self._audio.clear()
        self.reload()

    def set_filter(self, query: str, starred_only: bool = False) -> None:
        self._query, self._starred_only = query, starred_only
        self.reload()

    def show_ranked(self, ranked: list[tuple[TakeRecord, float | None]], title: str = "") -> None:
        """Show search-by-sound results (best first, each with its score; None: not indexed, listed last) until
        the next reload."""
        self.beginResetModel()
        self._records = [record for record, _ in ranked]
        self._scores = {record.id: score for record, score in ranked}
        self._title = title
        self._match = self._search_words(ranked, title)
        self.endResetModel()

    @property
    def title(self) -> str:
        return self._title

    def unranked(self) -> int:
        """How many of the ranked rows are takes not indexed yet (listed last, without a place)."""
        return sum(score is None for score in self._scores.values())

    @staticmethod
    def _search_words(ranked: list, title: str) -> dict[int, tuple[str, str]]:
        scored = [(record, score) for record, score in ranked if score is not None]
        words = {record.id: (match_words.NOT_INDEXED, match_words.NOT_INDEXED) for record, _ in ranked}
        placed = match_words.places([score for _, score in scored])
        for (record, score), (place, fraction) in zip(scored, placed, strict=True):
            label = match_words.search_label(place, len(scored), fraction)
            words[record.id] = (label, match_words.search_tip(title, place, len(scored), score))
        return words

    def _fit_words(self) -> dict[int, tuple[str, str]]:
        return {
            take_id: (match_words.fit_label(place, count, fraction), match_words.fit_tip(place, count, score))
            for take_id, (place, count, score, fraction) in match_words.prompt_fits(self._records).items()
        }

    def match_words(self, record: TakeRecord) -> tuple[str, str] | None:
        """(label, explanation) of the record's CLAP place in this list, or None."""
        return self._match.get(record.id)

    @property
    def ranked(self) -> bool:
        return bool(self._scores)

    def reload(self) -> None:
        self.beginResetModel()
        self._scores, self._title = {}, ""
        if self.library is None:
            self._records = []
        else:
            try:
                self._records = self.library.search(self._query, starred_only=self._starred_only)
            except SoundDeskError as exc:  # locked by another program for too long: keep the list shown
                log.warning("%s", exc)
        self._match = self._fit_words()
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self._records)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        record = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return record.name
        if role == RecordRole:
            return record
        if role == ThumbnailRole:
            return self.thumbnail(record)
        if role == ScoreRole:
            return self._scores.get(record.id)
        if role == MatchRole:
            return self._match[record.id][0] if record.id in self._match else None
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{record.prompt}\n{record.model} · seed {record.seed}\n{record.wav_path}"
            return f"{self._match[record.id][1]}\n\n{tip}" if record.id in self._match else tip
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def records(self) -> list[TakeRecord]:
        return list(self._records)

    def record(self, row: int) -> TakeRecord | None:
        return self._records[row] if 0 <= row < len(self._records) else None

    def row_of(self, take_id: int) -> int:
        for row, record in enumerate(self._records):
            if record.id == take_id:
                return row
        return -1

    def replace(self, record: TakeRecord) -> None:
        """Show the new state of one record (starred, renamed) without a full reload."""
        row = self.row_of(record.id)
        if row >= 0:
            self._records[row] = record
            if not self.ranked:
                self._match = self._fit_words()
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def audio(self, record: TakeRecord) -> tuple[np.ndarray, int]:
        """The take's samples [C, N] and rate (a few recent takes are kept in memory)."""
        key = (record.id, str(record.wav_path))
        if key in self._audio:
            self._audio.move_to_end(key)
            return self._audio[key]
        audio = read_wav(record.wav_path)
        self._audio[key] = audio
        while len(self._audio) > AUDIO_CACHE_TAKES:
            self._audio.popitem(last=False)
        return audio

    def thumbnail(self, record: TakeRecord) -> QPixmap | None:
        key = (record.id, str(record.wav_path))
        if key not in self._thumbnails:
            try:
                wav, _ = self.audio(record)
            except (OSError, RuntimeError, sf.LibsndfileError):
                return None
            self._thumbnails[key] = waveform_pixmap(wav, *THUMBNAIL_SIZE)
        return self._thumbnails[key]

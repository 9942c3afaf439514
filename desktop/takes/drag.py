"""Drag a take out to a DAW or file manager: its kept library WAV as a file URL, with a waveform picture.

A take that was given a name goes out under that name: a named copy of its WAV (core.takes.named)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QColor, QDrag
from PySide6.QtWidgets import QWidget

from core.errors import SoundDeskError
from core.takes.library import TakeRecord, given_name
from core.takes.named import named_wav
from desktop.widgets.waveform import waveform_pixmap

DRAG_PIXMAP_SIZE = (160, 40)


def dragged_file(record: TakeRecord) -> Path:
    """The file a drag hands out: the library WAV, or for a named take its named copy (made now if needed;
    if it cannot be made, the library WAV still goes out)."""
    name = given_name(record)
    if name is None:
        return record.wav_path
    try:
        return named_wav(record.wav_path, name)
    except SoundDeskError:
        return record.wav_path


def take_mime_data(record: TakeRecord) -> QMimeData:
    """File URL of the take's WAV (complete in the library folder; never a temp file), its path as text."""
    path = dragged_file(record)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    mime.setText(str(path))
    return mime


def picture_audio(record: TakeRecord) -> np.ndarray:
    """The samples [C, N] the drag picture shows; damaged audio still drags as its file, with a flat picture."""
    try:
        data, _ = sf.read(record.wav_path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, ValueError):  # soundfile raises RuntimeError subclasses for damaged files
        return np.zeros((1, 2), dtype=np.float32)
    return data.T


def start_take_drag(source: QWidget, record: TakeRecord, wav: np.ndarray | None = None) -> Qt.DropAction:
    """Run the drag (blocks in QDrag.exec until dropped); returns the action the target took."""
    if not Path(record.wav_path).is_file():
        return Qt.DropAction.IgnoreAction
    mime = take_mime_data(record)
    if wav is None:
        wav = picture_audio(record)
    drag = QDrag(source)
    drag.setMimeData(mime)
    drag.setPixmap(waveform_pixmap(wav, *DRAG_PIXMAP_SIZE, background=QColor(30, 30, 36, 200)))
    return drag.exec(Qt.DropAction.CopyAction | Qt.DropAction.LinkAction, Qt.DropAction.CopyAction)

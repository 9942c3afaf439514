"""An audio drop slot (melody or continuation prompt): drag a file in, see its waveform, clear it again."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import AudioFileError
from core.takes.audio_io import SUPPORTED_EXTENSIONS, AudioClip, load_audio
from desktop.widgets.waveform import waveform_pixmap

FILE_FILTER = "Audio (" + " ".join(f"*{ext}" for ext in SUPPORTED_EXTENSIONS) + ")"


def dropped_file(mime: QMimeData) -> Path | None:
    """The first local file a drag carries, if any."""
    for url in mime.urls():
        if url.isLocalFile():
            return Path(url.toLocalFile())
    return None


def unsupported_message(path: Path) -> str:
    return f"Cannot use {path.name}: SoundDesk reads WAV, AIFF, FLAC, OGG and MP3 files."


class AudioSlot(QFrame):
    """Holds one AudioClip; emits `clip_changed(clip or None)` on each change, `message(text)` to show."""

    clip_changed = Signal(object)
    message = Signal(str)

    def __init__(self, title: str, hint: str, max_seconds: float | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("audioSlot")
        self.max_seconds = max_seconds
        self._clip: AudioClip | None = None
        self._hint = hint
        self.title = QLabel(f"<b>{title}</b>")
        self.label = QLabel(hint)
        self.label.setWordWrap(True)
        self.picture = QLabel()
        self.picture.setFixedHeight(36)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.browse_button = QToolButton(text="…", toolTip="Choose an audio file")
        self.browse_button.clicked.connect(self._browse)
        self.clear_button = QToolButton(text="✕", toolTip="Remove this audio")
        self.clear_button.clicked.connect(self.clear)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.browse_button)
        header.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(header)
        layout.addWidget(self.picture)
        layout.addWidget(self.label)
        self._show()

    def clip(self) -> AudioClip | None:
        return self._clip

    def load(self, path: str | Path) -> bool:
        """Read `path` into the slot; a file we cannot use leaves the slot as it was and says why."""
        path = Path(path)
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            self.message.emit(unsupported_message(path))
            return False
        try:
            clip = load_audio(path, max_seconds=self.max_seconds)
        except AudioFileError as exc:
            self.message.emit(str(exc))
            return False
        self._clip = clip
        self._show()
        if clip.notice:
            self.message.emit(clip.notice)
        self.clip_changed.emit(clip)
        return True

    def clear(self) -> None:
        if self._clip is None:
            return
        self._clip = None
        self._show()
        self.clip_changed.emit(None)

    def _show(self) -> None:
        clip = self._clip
        self.clear_button.setEnabled(clip is not None)
        self.picture.setVisible(clip is not None)
        if clip is None:
            self.label.setText(self._hint)
            return
        name = Path(clip.path).name if clip.path else "audio"
        self.label.setText(f"{name} — {clip.duration:.1f} s, {clip.sample_rate} Hz, {clip.channels} ch")
        self._draw()

    def _draw(self) -> None:
        if self._clip is not None:
            width = max(60, self.picture.width())
            self.picture.setPixmap(waveform_pixmap(self._clip.samples, width, 36))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._draw()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an audio file", "", FILE_FILTER)
        if path:
            self.load(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if self.isEnabled() and dropped_file(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = dropped_file(event.mimeData())
        if path is None:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.load(path)

"""Pictures of sound: min/max peaks, a pyqtgraph waveform view with playhead, spectrogram and a time selection,
and pixmaps."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QWidget

from desktop.widgets import theme

PLAYHEAD_COLOUR = QColor(255, 170, 40)
SELECTION_COLOUR = QColor(255, 255, 255, 40)
SPECTROGRAM_FFT = 512
SPECTROGRAM_HOP = 256
SPECTROGRAM_FLOOR_DB = -100.0


def peaks(wav: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin minimum and maximum of `wav` [C, N] (channels mixed to their extremes): two arrays [bins]."""
    wav = np.atleast_2d(np.asarray(wav, dtype=np.float32))  # [C, N]
    n = wav.shape[-1]
    bins = max(1, min(bins, n)) if n else 1
    if n == 0:
        return np.zeros(1, np.float32), np.zeros(1, np.float32)
    edges = np.linspace(0, n, bins + 1).astype(np.int64)  # [bins + 1]
    lows = np.minimum.reduceat(wav.min(axis=0), edges[:-1])  # [bins]
    highs = np.maximum.reduceat(wav.max(axis=0), edges[:-1])  # [bins]
    return lows, highs


def spectrogram_db(wav: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Magnitude STFT of the channel mean in dB: (image [frames, bins], seconds per frame)."""
    mono = np.asarray(wav, dtype=np.float32).mean(axis=0)  # [N]
    if len(mono) < SPECTROGRAM_FFT:
        mono = np.pad(mono, (0, SPECTROGRAM_FFT - len(mono)))
    count = 1 + (len(mono) - SPECTROGRAM_FFT) // SPECTROGRAM_HOP
    index = np.arange(SPECTROGRAM_FFT)[None, :] + SPECTROGRAM_HOP * np.arange(count)[:, None]  # [F, W]
    frames = mono[index] * np.hanning(SPECTROGRAM_FFT).astype(np.float32)  # [F, W]
    magnitude = np.abs(np.fft.rfft(frames, axis=1))  # [F, W/2 + 1]
    db = 20 * np.log10(np.maximum(magnitude, 10 ** (SPECTROGRAM_FLOOR_DB / 20)))
    return db.astype(np.float32), SPECTROGRAM_HOP / sample_rate


def waveform_pixmap(wav: np.ndarray, width: int, height: int, background: QColor | None = None) -> QPixmap:
    """A filled min/max outline of `wav` [C, N], for list rows and drag images."""
    pixmap = QPixmap(max(1, width), max(1, height))
    pixmap.fill(background if background is not None else QColor(0, 0, 0, 0))
    lows, highs = peaks(wav, max(1, width))
    middle = height / 2
    scale = middle * 0.95
    step = width / len(lows)
    top = [QPointF(i * step, middle - float(h) * scale) for i, h in enumerate(highs)]
    bottom = [QPointF(i * step, middle - float(lo) * scale) for i, lo in reversed(list(enumerate(lows)))]
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    wave = QColor(theme.current().wave)
    painter.setPen(QPen(wave, 1))
    painter.setBrush(wave)
    painter.drawPolygon(QPolygonF(top + bottom))
    painter.end()
    return pixmap


class SelectionViewBox(pg.ViewBox):
    """A view box whose left-button drag draws a time selection instead of panning: `drag(start, now, done)`."""

    def __init__(self, drag) -> None:
        super().__init__()
        self._drag = drag

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        start = self.mapSceneToView(ev.buttonDownScenePos(Qt.MouseButton.LeftButton)).x()
        self._drag(start, self.mapSceneToView(ev.scenePos()).x(), ev.isFinish())


class WaveformView(pg.PlotWidget):
    """The selected take: its waveform (or spectrogram) over time, with a playhead line and a time selection.

    Dragging across the view selects a time window (its edges can then be dragged); `selection_changed(start,
    end)` follows each finished drag, `selection_cleared` a new sound or `clear_selection()`.
    """

    selection_changed = Signal(float, float)  # seconds
    selection_cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=None, viewBox=SelectionViewBox(self._drag_selection))
        self.setMinimumHeight(120)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().hideAxis("left")
        self.getPlotItem().setLabel("bottom", "time", units="s")
        self._wave = self.plot(pen=pg.mkPen(theme.current().wave))
        self._image = pg.ImageItem()
        self._image.setColorMap(pg.colormap.get("viridis"))
        self._image.setVisible(False)
        self.addItem(self._image)
        self.playhead = pg.InfiniteLine(
            pos=0.0, angle=90, movable=False, pen=pg.mkPen(theme.current().playhead, width=2)
        )
        self.playhead.setZValue(10)
        self.addItem(self.playhead)
        self.empty_text = pg.TextItem("", color=theme.current().dim, anchor=(0.5, 0.5))
        self.empty_text.setZValue(20)
        self.addItem(self.empty_text, ignoreBounds=True)
        self.region = pg.LinearRegionItem((0.0, 0.0), brush=pg.mkBrush(SELECTION_COLOUR))
        self.region.setZValue(5)
        self.region.setVisible(False)
        self.region.sigRegionChangeFinished.connect(self._emit_selection)
        self.addItem(self.region)
        self._wav: np.ndarray | None = None
        self._rate = 1
        self._spectrogram = False
        self.duration = 0.0

    def set_audio(self, wav: np.ndarray | None, sample_rate: int = 1) -> None:
        """Show `wav` [C, N] (None clears the view)."""
        self._wav, self._rate = wav, sample_rate
        self.duration = 0.0 if wav is None else wav.shape[-1] / sample_rate
        self.set_playhead(0.0)
        self.clear_selection()
        self._redraw()

    def set_playhead(self, seconds: float) -> None:
        self.playhead.setValue(seconds)

    def selection(self) -> tuple[float, float] | None:
        """The selected (start, end) seconds, or None."""
        if not self.region.isVisible():
            return None
        start, end = self.region.getRegion()
        return (float(start), float(end))

    def set_selection(self, start: float, end: float) -> None:
        """Select [start, end] seconds (clamped to the sound) and emit `selection_changed`."""
        start, end = sorted((min(max(start, 0.0), self.duration), min(max(end, 0.0), self.duration)))
        if end <= start:
            self.clear_selection()
            return
        self.region.setBounds((0.0, self.duration))
        self.region.blockSignals(True)
        self.region.setRegion((start, end))
        self.region.blockSignals(False)
        self.region.setVisible(True)
        self._emit_selection()

    def clear_selection(self) -> None:
        if self.region.isVisible():
            self.region.setVisible(False)
            self.selection_cleared.emit()

    def _drag_selection(self, start: float, now: float, done: bool) -> None:
        if self._wav is None:
            return
        if not done:
            low, high = sorted((min(max(start, 0.0), self.duration), min(max(now, 0.0), self.duration)))
            self.region.blockSignals(True)
            self.region.setBounds((0.0, self.duration))
            self.region.setRegion((low, high))
            self.region.blockSignals(False)
            self.region.setVisible(True)
            return
        self.set_selection(start, now)

    def _emit_selection(self) -> None:
        selection = self.selection()
        if selection is not None and selection[1] > selection[0]:
            self.selection_changed.emit(*selection)

    def show_spectrogram(self, shown: bool) -> None:
        self._spectrogram = shown
        self._redraw()

    def set_empty_text(self, text: str) -> None:
        """What the view says while it shows no sound (instead of an empty plot with a meaningless axis)."""
        self.empty_text.setText(text)
        self._redraw()

    def _redraw(self) -> None:
        wav = self._wav
        colours = theme.current()
        self._wave.setPen(pg.mkPen(colours.wave))
        self.playhead.setPen(pg.mkPen(colours.playhead, width=2))
        axis = self.getPlotItem().getAxis("bottom")
        axis.setPen(colours.dim)
        axis.setTextPen(colours.dim)
        self._wave.setVisible(wav is not None and not self._spectrogram)
        self._image.setVisible(wav is not None and self._spectrogram)
        self.playhead.setVisible(wav is not None)
        self.empty_text.setVisible(wav is None)
        self.getPlotItem().showAxis("bottom", wav is not None)
        if wav is None:
            self._wave.setData([], [])
            self.empty_text.setColor(colours.dim)
            self.setXRange(0, 1, padding=0)
            self.setYRange(-1, 1, padding=0)
            self.empty_text.setPos(0.5, 0.0)
            return
        if self._spectrogram:
            self._draw_spectrogram(wav)
        else:
            self._draw_waveform(wav)
        self.setXRange(0, max(self.duration, 1e-3), padding=0)

    def _draw_waveform(self, wav: np.ndarray) -> None:
        lows, highs = peaks(wav, 2000)
        times = np.linspace(0, self.duration, len(lows), dtype=np.float64)
        x = np.repeat(times, 2)  # each bin drawn as a vertical stroke from its min to its max
        y = np.empty(2 * len(lows), dtype=np.float64)
        y[0::2], y[1::2] = lows, highs
        self._wave.setData(x, y)
        self.setYRange(-1, 1, padding=0.02)

    def _draw_spectrogram(self, wav: np.ndarray) -> None:
        image, frame_seconds = spectrogram_db(wav, self._rate)  # [F, W/2 + 1]
        self._image.setImage(image, levels=(SPECTROGRAM_FLOOR_DB, max(SPECTROGRAM_FLOOR_DB + 1, image.max())))
        nyquist = self._rate / 2
        self._image.setRect(0, 0, image.shape[0] * frame_seconds, nyquist)
        self.setYRange(0, nyquist, padding=0)

    def wave_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The plotted (x, y) of the waveform curve, for tests and screenshots."""
        x, y = self._wave.getData()
        return None if x is None else (x, y)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        """A theme change (a new application palette): drop the cached background (pyqtgraph caches it, so the
        old theme's would stay) and redraw in the new theme's colours."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "duration"):  # (not while it is built)
            self.resetCachedContent()
            self._redraw()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self.show_spectrogram(not self._spectrogram)
        super().mouseDoubleClickEvent(event)

"""The window's side of hearing a take while it is generated: the waveform grows, playback follows it.

`LivePreview` listens to the GenerationController's preview signals: each audio chunk extends the shown
waveform (on the full time axis of the take being made) and, when the user plays it, the playing stream;
playback that catches up with the generation waits in silence and continues. With several variations
"Listen to" picks the one to follow as it grows, or each in turn (the first until it is complete, then the
next); switching while it plays goes on playing the other one from the same moment. When the takes are
recorded the list selects the first one, which replaces the preview; a cancel or failure drops the preview,
stops its playback and hands the detail view back to the selected take, or to none. A take feature
(desktop.services.feature): selecting another take hides the preview.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from desktop.generate.controller import GenerationController
from desktop.generate.tasks import GenerationSpec
from desktop.services.feature import TakeFeature
from desktop.takes.panel import TakesPanel


class LivePreview(TakeFeature):
    """The take being generated, in the takes panel's detail view and player."""

    changed = Signal()  # a chunk arrived, a preview started or ended
    active_changed = Signal(bool)
    released = Signal()  # a cancel or failure dropped the preview it showed: the detail view shows the selection

    def __init__(self, controller: GenerationController, takes: TakesPanel, parent=None) -> None:
        super().__init__(parent)
        self.detail, self.player = takes.detail, takes.player
        self.spec: GenerationSpec | None = None
        self.variation = 0
        self.wav: np.ndarray | None = None  # [C, N] of the variation being generated
        self.rate = 1
        self.chunks: list[list[np.ndarray]] = []  # per variation, as received (tests compare them)
        self.complete: set[int] = set()  # variations whose last chunk arrived
        self.showing = False
        self.generating = False
        self.following: int | None = None  # the variation picked in "Listen to"; None: each in turn
        self.playhead = 0.0  # seconds into the preview being played
        self.follow_box = QComboBox()
        self.follow_box.setToolTip("Which variation to hear while they grow side by side")
        self.follow_box.currentIndexChanged.connect(lambda _i: self.follow(self.follow_box.currentData()))
        self.follow_row = QWidget()
        row = QHBoxLayout(self.follow_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Listen to"))
        row.addWidget(self.follow_box, 1)
        self.follow_row.hide()
        self.detail.add_header(self.follow_row)
        takes.live = self
        self.changed.connect(takes.refresh_actions)
        self.released.connect(takes.show_selected)
        controller.preview_started.connect(self._started)
        controller.preview_chunk.connect(self._chunk)
        controller.preview_ended.connect(self._ended)
        self.player.position.connect(self._position)

    @property
    def active(self) -> bool:
        """A preview is shown (its detail view and play button belong to it)."""
        return self.showing and self.wav is not None

    @property
    def key(self) -> tuple[str, int]:
        return ("preview", self.variation)

    def seconds(self) -> float:
        return 0.0 if self.wav is None else self.wav.shape[-1] / self.rate

    def toggle_play(self) -> bool:
        """Play the preview from its start (following the generation), or stop it."""
        if self.wav is None:
            return False
        if self.player.is_playing(self.key):
            self.player.stop()
            return False
        if self.generating:
            return self.player.play_growing(self.key, self.wav, self.rate)
        return self.player.play(self.key, self.wav, self.rate)

    def hide(self) -> None:
        """Another take was selected: the detail view is its again (the preview keeps playing if it did)."""
        self.showing = False

    def show_take(self, record: object) -> None:
        self.hide()

    def follow(self, variation: int | None) -> None:
        """Hear `variation` (0-based) as it grows, or each in turn (None); a playing preview switches over at the
        same moment."""
        self.following = variation
        self._sync_box()
        if variation is None or variation == self.variation or self.spec is None:
            return
        playing = self.player.is_playing(self.key)
        if playing:
            self.player.stop()
        self._switch(variation)
        if playing and self.wav is not None:
            self.player.play_growing(self.key, self.wav, self.rate)
            self.player.seek(self.key, min(self.playhead, self.seconds()))
        if self.showing and self.wav is not None:
            self._show()
        self.changed.emit()

    def _switch(self, variation: int) -> None:
        """Show `variation`: the chunks it has so far (None until its first one arrives)."""
        chunks = self.chunks[variation] if variation < len(self.chunks) else []
        self.variation = variation
        self.wav = np.concatenate(chunks, axis=-1) if chunks else None

    def _sync_box(self) -> None:
        self.follow_box.blockSignals(True)
        self.follow_box.setCurrentIndex(max(0, self.follow_box.findData(self.following)))
        self.follow_box.blockSignals(False)

    def _started(self, spec: GenerationSpec) -> None:
        self.spec, self.variation, self.wav, self.chunks, self.complete = spec, 0, None, [], set()
        self.showing, self.generating, self.following, self.playhead = True, True, None, 0.0
        self.follow_box.blockSignals(True)
        self.follow_box.clear()
        self.follow_box.addItem("Each in turn", None)
        for index in range(spec.count):
            self.follow_box.addItem(f"Variation {index + 1}", index)
        self.follow_box.blockSignals(False)
        self.follow_row.setVisible(spec.count > 1)
        self.active_changed.emit(True)
        self.changed.emit()

    def _wanted(self, variation: int) -> int:
        """The variation to show once a chunk of `variation` is in: the one picked, or, each in turn, the one
        followed until it is complete, then the next one that grows."""
        if self.following is not None:
            return self.following
        if self.wav is None or (variation != self.variation and self.variation in self.complete):
            return variation
        return self.variation

    def _chunk(self, variation: int, samples: np.ndarray, rate: int, last: bool = False) -> None:
        """One more chunk. Variations decoded together grow side by side; every chunk is kept, so switching to
        another variation shows all of it so far."""
        if self.spec is None:
            return
        while len(self.chunks) <= variation:
            self.chunks.append([])
        self.chunks[variation].append(samples)
        self.rate = rate
        if last:
            self.complete.add(variation)
        wanted = self._wanted(variation)
        if self.wav is None or wanted != self.variation:
            if variation != wanted:
                return  # the picked variation has no audio yet
            if self.wav is not None:
                self.player.end_growing(self.key)  # the previous variation plays to its end
            self._switch(wanted)
        elif variation == self.variation:
            self.wav = np.concatenate([self.wav, samples], axis=-1)
            self.player.append(self.key, samples)
        else:
            return  # another variation of the batch: kept for when the followed one is complete
        if self.showing:
            self._show()
        self.changed.emit()

    def _show(self) -> None:
        spec = self.spec
        count = f" (variation {self.variation + 1} of {spec.count})" if spec.count > 1 else ""
        self.detail.show_record(None)
        self.detail.title.setText(f"<b>Generating “{html.escape(spec.prompt)}”{count}</b> · listen while it grows")
        self.detail.info.setText(f"{self.seconds():.1f} s of {spec.params.duration:g} s so far, seed {spec.seed}.")
        self.detail.waveform.set_audio(self.wav, self.rate)
        self.detail.waveform.setXRange(0, max(spec.params.duration, self.seconds()), padding=0)

    def _ended(self, kept: bool) -> None:
        self.generating, shown = False, self.showing
        if kept:
            self.player.end_growing(self.key)  # plays to the end; the recorded take replaces the view
        else:
            if self.player.is_playing(self.key):
                self.player.stop()
            self.wav = None
        self.spec = None if not kept else self.spec
        self.showing = False
        self.follow_row.hide()
        self.active_changed.emit(False)
        self.changed.emit()
        if shown and not kept:
            self.released.emit()

    def _position(self, key: object, seconds: float) -> None:
        if key == self.key:
            self.playhead = seconds
        if key == self.key and self.active:
            self.detail.set_playhead(seconds)

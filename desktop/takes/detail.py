"""The selected take: waveform or spectrogram with a playhead; prompt, model, seed, parameters, actions."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget

from core.loops.takes import loop_summary
from core.params import GenerationParams
from core.takes.library import TakeRecord
from desktop.widgets.layouts import scrolling
from desktop.widgets.waveform import WaveformView


def describe_params(params: GenerationParams, family: str | None = None) -> str:
    """A one-line summary of how the take was sampled."""
    sampling = (
        "greedy"
        if not params.use_sampling
        else (f"top-p {params.top_p:g}" if params.top_p > 0 else f"top-k {params.top_k}")
        + f", temperature {params.temperature:g}"
    )
    if family == "magnet":
        steps = "/".join(str(s) for s in params.decoding_steps)
        guidance = f"CFG {params.max_cfg_coef:g}→{params.min_cfg_coef:g}, steps {steps}, {params.span_arrangement}"
    else:
        guidance = f"CFG {params.cfg_coef:g}"
    return f"{params.duration:g} s, {sampling}, {guidance}"


def info_text(record: TakeRecord, match: tuple[str, str] | None = None) -> str:
    """The take's facts, one per line; `match` (label, explanation) says its CLAP place."""
    family = record.extra.get("family")
    rows = [
        ("Prompt", html.escape(record.prompt)),
        ("Model", html.escape(record.model)),
        ("Seed", str(record.seed)),
        ("Parameters", html.escape(describe_params(record.params, family))),
        ("Audio", f"{record.duration:.2f} s, {record.sample_rate} Hz, {record.channels} ch"),
        ("File", html.escape(str(record.wav_path))),
    ]
    loop = loop_summary(record.extra, record.sample_rate)
    if loop is not None:
        rows.insert(5, ("Loop" if "loop" in record.extra else "Tempo", html.escape(loop)))
    if match is not None:
        rows.insert(4, ("Match", html.escape(f"{match[0]}. {match[1]}")))
    return "<br>".join(f"<b>{name}:</b> {value}" for name, value in rows)


EMPTY_TEXT = "No take yet: describe a sound on the left and press Generate (Ctrl+Enter)."


class TakeDetail(QWidget):
    """Shows one TakeRecord; the buttons run the window's actions (play, loop, star, rename, delete, ...)."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.waveform = WaveformView()
        self.spectrogram = QCheckBox("Spectrogram")
        self.spectrogram.toggled.connect(self.waveform.show_spectrogram)
        self.title = QLabel()
        self.title.setObjectName("takeTitle")
        self.title.setWordWrap(True)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QToolButton] = {}
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
            self.buttons[action.objectName()] = button
        buttons.addStretch(1)
        buttons.addWidget(self.spectrogram)
        lower = QWidget()  # the take's facts and the sections under them scroll; waveform and buttons stay
        self._layout = QVBoxLayout(lower)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.info)
        self._layout.addStretch(1)
        scroll = scrolling(lower)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(60)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.waveform, 3)
        layout.addLayout(buttons)
        layout.addWidget(scroll, 2)
        self.record: TakeRecord | None = None
        self.show_record(None)

    def add_header(self, widget: QWidget) -> None:
        """A row under the title, above the waveform (the preview's "Listen to")."""
        self.layout().insertWidget(1, widget)

    def add_section(self, widget: QWidget) -> None:
        """Another part about the selected take, below its details (the explain panel)."""
        self._layout.insertWidget(self._layout.count() - 1, widget)

    def show_record(
        self, record: TakeRecord | None, wav: np.ndarray | None = None, match: tuple[str, str] | None = None
    ) -> None:
        """Show `record`; `match` is its CLAP place in the list (label, explanation), if it has one."""
        self.record = record
        if record is None:
            self.title.setText("<i>No take selected.</i>")
            self.waveform.set_empty_text(EMPTY_TEXT)
            self.info.setText("")
            self.waveform.set_audio(None)
            return
        self.title.setText(("★ " if record.starred else "") + f"<b>{html.escape(record.name)}</b>")
        self.info.setText(info_text(record, match))
        self.waveform.set_audio(wav, record.sample_rate)

    def set_match(self, match: tuple[str, str] | None) -> None:
        """The list around the shown take changed (scored, searched): say its new place."""
        if self.record is not None:
            self.info.setText(info_text(self.record, match))

    def set_playhead(self, seconds: float) -> None:
        self.waveform.set_playhead(seconds)

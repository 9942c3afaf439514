"""The "Make loop" dialog: a bar-exact music loop (BPM, bars, meter) or a seamless one, and the seam's crossfade."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.errors import SoundDeskError
from core.loops.meter import FOUR_FOUR, MAX_BARS, MAX_BPM, MIN_BPM, Meter, bars_seconds
from core.loops.takes import (
    DEFAULT_CROSSFADE_MS,
    MAX_CROSSFADE_MS,
    LoopSpec,
    default_loop_bars,
    fitting_loop_bars,
    is_loop,
)
from core.takes.library import TakeRecord
from desktop.generate.tempo_fields import METERS
from desktop.settings import group, read_bool, read_float, read_int

SETTINGS_GROUP = "loops"


def _meter_or_four_four(text: str) -> Meter:
    try:
        return Meter.parse(text)
    except SoundDeskError:
        return FOUR_FOUR


class MakeLoopDialog(QDialog):
    """Asks what loop to make of a take; starts from the take's own tempo when it was generated with one."""

    def __init__(self, record: TakeRecord, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Make loop")
        self.settings = settings
        self.music = QRadioButton("Music: exact bars at a tempo")
        self.seamless = QRadioButton("Seamless: ambience, the seam where it matches best")
        self.bpm = QDoubleSpinBox(decimals=2, suffix=" BPM")
        self.bpm.setRange(MIN_BPM, MAX_BPM)
        self.bars = QSpinBox()
        self.bars.setRange(1, MAX_BARS)
        self.meter = QComboBox()
        self.meter.addItems(list(METERS))
        self.crossfade = QDoubleSpinBox(decimals=0, suffix=" ms")
        self.crossfade.setRange(0.0, MAX_CROSSFADE_MS)
        form = QFormLayout()
        form.addRow(self.music)
        form.addRow("Tempo", self.bpm)
        form.addRow("Bars", self.bars)
        form.addRow("Meter", self.meter)
        form.addRow(self.seamless)
        form.addRow("Crossfade", self.crossfade)
        self.seconds = record.duration
        self.fit = QLabel()  # how long the asked loop is against the take: "too long" before, not as an error after
        self.fit.setObjectName("loopFit")
        self.fit.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Make loop")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.fit)
        layout.addWidget(self.buttons)
        self.music.toggled.connect(self._kind_changed)
        self._restore(record)
        self.bpm.valueChanged.connect(self._check_fit)
        self.bars.valueChanged.connect(self._check_fit)
        self.meter.currentTextChanged.connect(self._check_fit)
        self._check_fit()

    def _restore(self, record: TakeRecord) -> None:
        with group(self.settings, SETTINGS_GROUP) as s:
            seamless = read_bool(s, "seamless", False)
            bpm, bars = min(max(read_float(s, "bpm", 120.0), MIN_BPM), MAX_BPM), read_int(s, "bars", 4)
            meter = str(s.value("meter", "4/4"))
            self.crossfade.setValue(read_float(s, "crossfade_ms", DEFAULT_CROSSFADE_MS))
        extra = record.extra
        if extra.get("bpm") and extra.get("bars"):  # generated at a tempo: loop it at that tempo
            seamless, bpm, meter = False, float(extra["bpm"]), str(extra.get("meter", meter))
            bars = int(extra["bars"]) if is_loop(extra) else default_loop_bars(int(extra["bars"]))
        elif record.extra.get("family") == "audiogen":
            seamless = True  # sound effects and ambiences have no bars
        else:  # the bars last asked for, if this take holds them; else what it holds (a loop starts on a downbeat)
            fit = fitting_loop_bars(self.seconds, bpm, _meter_or_four_four(meter))
            seamless, bars = seamless or fit == 0, max(1, min(bars, fit))
        self.bpm.setValue(bpm)
        self.bars.setValue(bars)
        if self.meter.findText(meter) < 0:
            self.meter.addItem(meter)
        self.meter.setCurrentText(meter)
        (self.seamless if seamless else self.music).setChecked(True)
        self._kind_changed()

    def _kind_changed(self) -> None:
        for widget in (self.bpm, self.bars, self.meter):
            widget.setEnabled(self.music.isChecked())
        self._check_fit()

    def _check_fit(self) -> None:
        """Say how the asked loop compares with the take; a loop longer than the whole take cannot be asked for."""
        possible, text = True, f"This take lasts {self.seconds:.2f} s; the loop is cut where its seam matches best."
        if self.music.isChecked():
            meter = _meter_or_four_four(self.meter.currentText())
            bpm, bars = self.bpm.value(), self.bars.value()
            need, fit = bars_seconds(bpm, bars, meter), fitting_loop_bars(self.seconds, bpm, meter)
            held = (
                f"{fit} bar{' fits' if fit == 1 else 's fit'} with room for its first downbeat"
                if fit
                else "it is shorter than one bar at this tempo: try a faster tempo or a seamless loop"
            )
            asked = f"{bars} bar{'s' if bars != 1 else ''} of {meter} at {bpm:g} BPM last {need:.2f} s"
            possible = need <= self.seconds
            verdict = "too long for this take" if not possible else ("may not fit" if bars > fit else "fits")
            text = f"{asked}: {verdict}. This take lasts {self.seconds:.2f} s; {held}."
        self.fit.setText(text)
        self.ok_button.setEnabled(possible)

    def spec(self) -> LoopSpec:
        """The loop asked for (raises InvalidParameterError for a combination the fields let through)."""
        if self.seamless.isChecked():
            return LoopSpec("seamless", crossfade_ms=self.crossfade.value())
        meter = Meter.parse(self.meter.currentText())
        return LoopSpec("music", round(self.bpm.value(), 2), self.bars.value(), meter, self.crossfade.value())

    def remember(self) -> None:
        with group(self.settings, SETTINGS_GROUP) as s:
            s.setValue("seamless", self.seamless.isChecked())
            s.setValue("bpm", self.bpm.value())
            s.setValue("bars", self.bars.value())
            s.setValue("meter", self.meter.currentText())
            s.setValue("crossfade_ms", self.crossfade.value())

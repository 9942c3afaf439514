"""BPM / bars / meter beside the duration: when on, the duration is exactly that many bars at that tempo."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QSpinBox, QWidget

from core.errors import SoundDeskError
from core.loops.meter import MAX_BARS, MAX_BPM, MIN_BPM, Meter
from core.loops.tempo_prompt import TempoRequest
from desktop.settings import read_bool, read_float, read_int, read_str

BPM_TIP = "Tempo in quarter notes per minute"
METERS = ("4/4", "3/4", "2/4", "6/8", "5/4", "7/8", "12/8")


class TempoFields(QWidget):
    """A "Bars" switch, BPM, bars and meter; `request()` is the TempoRequest they describe (None when off)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.enabled = QCheckBox("Bars", toolTip="Make the take exactly this many bars at this tempo")
        self.bpm = QDoubleSpinBox(decimals=2, suffix=" BPM", toolTip=BPM_TIP)  # 2 decimals, as DAWs show it
        self.bpm.setRange(MIN_BPM, MAX_BPM)
        self.bpm.setValue(120.0)
        self.bars = QSpinBox(toolTip="Length in bars")
        self.bars.setRange(1, MAX_BARS)
        self.bars.setValue(4)
        self.meter = QComboBox(toolTip="Time signature")
        self.meter.addItems(list(METERS))
        self.in_prompt = QCheckBox("in prompt", toolTip="Append “, 120 bpm” to the prompt (MusicGen follows it)")
        self.in_prompt.setChecked(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.enabled, self.bpm, self.bars, self.meter, self.in_prompt):
            row.addWidget(widget)
        self.enabled.toggled.connect(self._enable)
        self.bpm.valueChanged.connect(self.changed)
        self.bars.valueChanged.connect(self.changed)
        self.meter.currentTextChanged.connect(self.changed)
        self.in_prompt.toggled.connect(self.changed)
        self._enable(False)

    def _enable(self, on: bool) -> None:
        for widget in (self.bpm, self.bars, self.meter, self.in_prompt):
            widget.setEnabled(on)
        self.changed.emit()

    def request(self) -> TempoRequest | None:
        """The tempo request shown, or None when "Bars" is off (raises InvalidParameterError if out of range)."""
        if not self.enabled.isChecked():
            return None
        meter = Meter.parse(self.meter.currentText())
        return TempoRequest(round(self.bpm.value(), 2), self.bars.value(), meter, self.in_prompt.isChecked())

    def save_state(self, settings: QSettings) -> None:
        settings.setValue("tempo_on", self.enabled.isChecked())
        settings.setValue("bpm", self.bpm.value())
        settings.setValue("bars", self.bars.value())
        settings.setValue("meter", self.meter.currentText())
        settings.setValue("tempo_in_prompt", self.in_prompt.isChecked())

    def restore_state(self, settings: QSettings) -> None:
        self.bpm.setValue(read_float(settings, "bpm", 120.0))
        self.bars.setValue(read_int(settings, "bars", 4))
        meter = read_str(settings, "meter", "4/4")
        try:
            Meter.parse(meter)
        except SoundDeskError:
            meter = "4/4"
        if self.meter.findText(meter) < 0:
            self.meter.addItem(meter)
        self.meter.setCurrentText(meter)
        self.in_prompt.setChecked(read_bool(settings, "tempo_in_prompt", True))
        self.enabled.setChecked(read_bool(settings, "tempo_on", False))

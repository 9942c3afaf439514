"""Generation parameters: duration (or bars at a tempo), variations, seed, sampling, CFG and MAGNeT options."""

from __future__ import annotations

import logging
import random
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import InvalidParameterError, SoundDeskError
from core.models.capabilities import FAMILIES, Capabilities
from core.params import SPAN_ARRANGEMENTS, GenerationParams
from core.takes.schemas import load_preset
from desktop.generate.precision_box import PrecisionBox
from desktop.generate.tempo_fields import TempoFields
from desktop.settings import read_bool, read_float, read_int, read_json, write_json
from resources import resource_path

MAX_SEED = 2**31 - 1
RANDOM_SEED = -1  # the seed field's value while unlocked: it shows "Random", each run draws its own seed
SEED_TIP = (
    "Random: each run draws a new seed (a take's details show its seed). "
    "Type a seed, press Dice or Lock to keep one for every run."
)
MAX_VARIATIONS = 8
MAX_DURATION = max(family.longest_take or 0.0 for family in FAMILIES.values())
"""The longest take any model makes (core.models.capabilities); core checks the chosen model's own limit."""
log = logging.getLogger(__name__)
PRESETS_DIR = resource_path("presets")


def _spin(low: float, high: float, step: float, decimals: int, suffix: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    return box


def _int_spin(low: int, high: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    return box


def load_presets(folder: Path = PRESETS_DIR) -> dict[str, dict]:
    """Preset name -> parameter dict, from resources/presets/*.json (`{"name": ..., "parameters": {...}}`)."""
    presets = {}
    for path in sorted(folder.glob("*.json")):
        try:
            name, values = load_preset(path)
        except SoundDeskError as exc:  # a damaged preset is left out of the list, not a crash at start-up
            log.warning("%s", exc)
            continue
        presets[name] = values
    return presets


class ParamsPanel(QWidget):
    """Edits a GenerationParams plus the run's variation count and seed."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presets = load_presets()
        self._build_basic()
        self._build_advanced()
        self._build_magnet()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._basic)
        layout.addWidget(self.advanced_toggle)
        layout.addWidget(self.advanced)
        layout.addWidget(self.magnet)
        self.set_params(GenerationParams(duration=5.0))
        self.set_capabilities(None)

    def _build_basic(self) -> None:
        self.preset = QComboBox()
        self.preset.addItem("Preset…")
        self.preset.addItems(list(self._presets))
        self.preset.activated.connect(self._apply_preset)
        self.duration = _spin(0.1, MAX_DURATION, 0.5, 1, " s")
        self._free_duration = 5.0  # the duration typed last, while "Bars" sets it
        self.tempo = TempoFields()
        self.tempo.changed.connect(self._follow_tempo)
        self.variations = _int_spin(1, MAX_VARIATIONS)
        self.seed = _int_spin(RANDOM_SEED, MAX_SEED)
        self.seed.setSpecialValueText("Random")  # what RANDOM_SEED shows: a new seed each run
        self.seed.setToolTip(SEED_TIP)
        self.seed_lock = QToolButton(text="Lock", checkable=True, toolTip="Keep this seed for every run")
        self.seed_random = QToolButton(text="Dice", toolTip="Draw a random seed and keep it (Lock)")
        self.seed_random.clicked.connect(self.randomise_seed)
        self.seed.valueChanged.connect(self._seed_edited)
        self.seed_lock.toggled.connect(self._lock_toggled)
        self.last_seed: int | None = None  # the seed the last unlocked run drew
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.seed_lock)
        seed_row.addWidget(self.seed_random)
        self._basic = QFormLayout()
        self._basic.addRow("Preset", self.preset)
        self._basic.addRow("Duration", self.duration)
        self._basic.addRow("Tempo", self.tempo)
        self._basic.addRow("Variations", self.variations)
        self._basic.addRow("Seed", seed_row)
        self.precision = PrecisionBox()
        self._basic.addRow("Precision", self.precision)
        for box in (self.duration, self.variations, self.seed):
            box.valueChanged.connect(self.changed)

    def _follow_tempo(self) -> None:
        """With "Bars" on, the duration is that many bars (shown, not editable); off, it is free again."""
        try:
            tempo = self.tempo.request()
        except SoundDeskError:
            tempo = None
        if tempo is not None and self.duration.isEnabled():
            self._free_duration = self.duration.value()  # what the duration goes back to with "Bars" off
        elif tempo is None and not self.duration.isEnabled():
            self.duration.setDecimals(1)
            self.duration.setValue(self._free_duration)
        self.duration.setEnabled(tempo is None)
        if tempo is not None:
            self.duration.setDecimals(3)
            self.duration.setValue(min(tempo.duration, MAX_DURATION))

    def _build_advanced(self) -> None:
        self.advanced_toggle = QToolButton(text="Advanced sampling", checkable=True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        self.advanced = QGroupBox()
        form = QFormLayout(self.advanced)
        self.use_sampling = QCheckBox("Sample (off: greedy)")
        self.top_k = _int_spin(0, 2048)
        self.top_p = _spin(0.0, 1.0, 0.05, 2)
        self.temperature = _spin(0.0, 10.0, 0.1, 2)
        self.cfg_coef = _spin(0.0, 20.0, 0.5, 2)
        self.extend_stride = _spin(1.0, 60.0, 1.0, 1, " s")
        form.addRow(self.use_sampling)
        form.addRow("Top-k", self.top_k)
        form.addRow("Top-p", self.top_p)
        form.addRow("Temperature", self.temperature)
        self._cfg_row = ("Guidance (CFG)", self.cfg_coef)
        form.addRow(*self._cfg_row)
        form.addRow("Extend stride", self.extend_stride)
        self.top_p.setToolTip("Above 0, nucleus sampling replaces top-k.")
        self.advanced.setVisible(False)

    def _build_magnet(self) -> None:
        self.magnet = QGroupBox("MAGNeT decoding")
        form = QFormLayout(self.magnet)
        self.decoding_steps = [_int_spin(1, 200) for _ in range(4)]
        steps_row = QHBoxLayout()
        for box in self.decoding_steps:
            steps_row.addWidget(box)
        self.max_cfg = _spin(0.0, 30.0, 0.5, 2)
        self.min_cfg = _spin(0.0, 30.0, 0.5, 2)
        self.span_arrangement = QComboBox()
        self.span_arrangement.addItems(list(SPAN_ARRANGEMENTS))
        form.addRow("Steps per codebook", steps_row)
        form.addRow("Max CFG", self.max_cfg)
        form.addRow("Min CFG", self.min_cfg)
        form.addRow("Span arrangement", self.span_arrangement)

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def set_capabilities(self, capabilities: Capabilities | None) -> None:
        """Light up MAGNeT's own controls for a masked-decoding model (its CFG replaces the plain one); the
        window-extension stride only for models that continue audio. None (not loaded yet): the common case."""
        masked = capabilities is not None and capabilities.masked
        self.magnet.setVisible(masked)
        self.magnet.setEnabled(masked)
        self.cfg_coef.setEnabled(not masked)
        self.extend_stride.setEnabled(capabilities is None or capabilities.continuation)

    def params(self) -> GenerationParams:
        """The parameters as shown (raises InvalidParameterError for values the spin boxes let through)."""
        tempo = self.tempo.request()
        if tempo is not None and tempo.duration > MAX_DURATION:
            raise InvalidParameterError(
                f"{tempo.bars} bars at {tempo.bpm:g} BPM last {tempo.duration:.1f} s; at most {MAX_DURATION:g} s."
            )
        return GenerationParams(
            duration=tempo.duration if tempo is not None else round(self.duration.value(), 3),
            use_sampling=self.use_sampling.isChecked(),
            top_k=self.top_k.value(),
            top_p=self.top_p.value(),
            temperature=self.temperature.value(),
            cfg_coef=self.cfg_coef.value(),
            extend_stride=self.extend_stride.value(),
            decoding_steps=tuple(box.value() for box in self.decoding_steps),
            max_cfg_coef=self.max_cfg.value(),
            min_cfg_coef=self.min_cfg.value(),
            span_arrangement=self.span_arrangement.currentText(),
        )

    def set_params(self, params: GenerationParams) -> None:
        for name in ("duration", "top_k", "top_p", "temperature", "cfg_coef", "extend_stride"):
            getattr(self, name).setValue(getattr(params, name))  # each spin box is named after its field
        self.use_sampling.setChecked(params.use_sampling)
        steps = list(params.decoding_steps) + [params.decoding_steps[-1]] * 4
        for box, value in zip(self.decoding_steps, steps, strict=False):
            box.setValue(value)
        self.max_cfg.setValue(params.max_cfg_coef)
        self.min_cfg.setValue(params.min_cfg_coef)
        self.span_arrangement.setCurrentText(params.span_arrangement)
        self.changed.emit()

    def _apply_preset(self, index: int) -> None:
        name = self.preset.itemText(index)
        if name in self._presets:
            data = self.params().to_dict()
            data.update(self._presets[name])  # a preset sets only the values it names
            self.set_params(GenerationParams.from_dict(data))
        self.preset.setCurrentIndex(0)

    def randomise_seed(self) -> int:
        """Dice: a random seed, shown and kept (locked) for the next runs."""
        self.seed.setValue(random.randint(0, MAX_SEED))
        return self.seed.value()

    def seed_for_run(self) -> int:
        """The seed of the next run: the shown one when locked, else a fresh random one (the field keeps showing
        "Random": a number there would look like a seed every run uses)."""
        if self.seed_lock.isChecked():
            return self.seed.value()
        self.last_seed = random.randint(0, MAX_SEED)
        return self.last_seed

    def _seed_edited(self, value: int) -> None:
        """A seed typed or set is a seed to keep: Lock goes on."""
        if value != RANDOM_SEED and not self.seed_lock.isChecked():
            self.seed_lock.setChecked(True)

    def _lock_toggled(self, locked: bool) -> None:
        """Lock keeps the shown seed, or the last run's when the field says Random; unlocked, it says Random."""
        if not locked:
            self.seed.setValue(RANDOM_SEED)
        elif self.seed.value() == RANDOM_SEED:
            self.seed.setValue(self.last_seed if self.last_seed is not None else random.randint(0, MAX_SEED))

    def recall(self, params: GenerationParams, seed: int, precision: str | None = None) -> None:
        """Put a take's parameters, seed and precision back, seed locked, so Generate makes the same take again."""
        if precision is not None:
            self.precision.set_choice(precision)
        self.set_params(params)
        self.seed.setValue(seed)
        self.seed_lock.setChecked(True)
        self.variations.setValue(1)

    def save_state(self, settings: QSettings) -> None:
        write_json(settings, "params", self.params().to_dict())
        settings.setValue("variations", self.variations.value())
        settings.setValue("seed", self.seed.value())
        settings.setValue("seed_locked", self.seed_lock.isChecked())
        settings.setValue("free_duration", self._free_duration)
        settings.setValue("advanced_open", self.advanced_toggle.isChecked())
        self.precision.save_state(settings)
        self.tempo.save_state(settings)

    def restore_state(self, settings: QSettings) -> None:
        data = read_json(settings, "params", None)
        if isinstance(data, dict):
            try:
                self.set_params(GenerationParams.from_dict(data))
            except (TypeError, ValueError, SoundDeskError):
                pass  # settings from another version: keep the defaults
        self.variations.setValue(read_int(settings, "variations", 1))
        self.seed.setValue(read_int(settings, "seed", RANDOM_SEED))
        self.seed_lock.setChecked(read_bool(settings, "seed_locked", False))
        free_duration = read_float(settings, "free_duration", self.duration.value())
        self.advanced_toggle.setChecked(read_bool(settings, "advanced_open", False))
        self.precision.restore_state(settings)
        self.tempo.restore_state(settings)
        self._free_duration = free_duration  # (turning "Bars" on just now took the bars' duration for it)

"""The explain controller connects the ExplainPanel to the selected take, the job queue and the player.

"Explain" queues a job that trains AudioGenX on the take in the worker (the model comes from the app's
EngineHolder, as for generation); the finished Explanation is kept per take. A time selection on the waveform
re-scores it at once on the GUI thread (`Explanation.rescore` only averages the mask). "Play factual" and
"Play counterfactual" regenerate the take with M or 1 - M in the worker once per explanation, then play it.
Each job's result comes back to this controller through the job's own callback.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QGroupBox, QVBoxLayout, QWidget

from core.errors import SoundDeskError
from core.takes.library import TakeRecord
from desktop.explain.panel import ExplainPanel
from desktop.explain.tasks import explain_task, regenerate_task
from desktop.generate.model_picker import ModelInfo
from desktop.jobs.queue import Job, short_prompt
from desktop.services.app import AppServices
from desktop.services.feature import TakeFeature
from desktop.takes.panel import TakesPanel
from desktop.widgets import theme

KEPT_EXPLANATIONS = 8


def explain_unavailable(record: TakeRecord, info: ModelInfo) -> str | None:
    """Why AudioGenX cannot explain this take (a sentence for the tooltip), or None when it can.

    The model's capabilities decide (a local folder not loaded yet is tried, and core says why if it fails);
    the take itself can still be a separated stem."""
    if "stem" in record.extra:
        return "This take is a separated stem: explain the take it was separated from."
    can = info.capabilities
    if "melody" in record.extra and can is not None:
        can = replace(can, melody=True)  # a take made with a melody is a melody take
    return can.why_not_explainable() if can is not None else None


@dataclass
class ExplainState:
    """One take's explanation and the regenerations made from it (cached: a second Play is instant)."""

    explanation: Any  # core.explain.explainer.Explanation over the whole take
    sidecar: Path  # the take it explains (ids restart in another library folder)
    regenerated: dict[bool, Any] = field(default_factory=dict)  # counterfactual -> core.takes.take.Take


class ExplainController(TakeFeature):
    """Runs Explain / Play factual / Play counterfactual for the selected take through the job queue; its panel
    is a section under the take details, a time selection on the takes panel's waveform re-scores it."""

    explained = Signal(int)  # take id whose explanation just arrived

    def __init__(
        self,
        services: AppServices,
        takes: TakesPanel,
        model_info: Callable[[str], ModelInfo],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel, self.takes = ExplainPanel(), takes
        self.queue, self.engine, self.player = services.queue, services.engine, services.player
        self._model_info = model_info
        self.settings: Any = None  # core.explain.explainer.ExplainSettings; None: AudioGenX's defaults (tests inject)
        self.record: TakeRecord | None = None
        self._states: OrderedDict[int, ExplainState] = OrderedDict()
        self._jobs: list[Job] = []  # this controller's queued or running jobs
        self.action = QAction("Explain", self)
        self.action.setObjectName("explain")
        self.action.triggered.connect(self.explain)
        panel = self.panel
        panel.explain_requested.connect(self.explain)
        panel.rescore_requested.connect(self.rescore)
        panel.play_factual_requested.connect(lambda: self.play(counterfactual=False))
        panel.play_counterfactual_requested.connect(lambda: self.play(counterfactual=True))
        takes.selection_changed.connect(panel.rescore)
        self.queue.changed.connect(self._sync_busy)
        self._sync_action()

    def menu_entries(self) -> list[tuple[str, QAction]]:
        return [("take", self.action)]

    def section(self) -> QWidget:
        box = QGroupBox("Explain: which words made this sound")
        QVBoxLayout(box).addWidget(self.panel)
        return box

    def apply_icons(self) -> None:
        self.action.setIcon(theme.icon("explain"))

    def state(self, take_id: int) -> ExplainState | None:
        return self._states.get(take_id)

    def _state_for(self, record: TakeRecord | None) -> ExplainState | None:
        state = self._states.get(record.id) if record is not None else None
        return state if state is not None and state.sidecar == record.sidecar_path else None

    def show_take(self, record: TakeRecord | None) -> None:
        """The selected take changed: its explanation if there is one, else its words unshaded."""
        self.record = record
        if record is None:
            self.panel.clear()
            self.panel.set_unavailable(None)
        else:
            self.panel.set_prompt(record.prompt)
            self.panel.set_unavailable(explain_unavailable(record, self._model_info(record.model)))
            state = self._state_for(record)
            if state is not None:
                self.panel.show_explanation(state.explanation)
        self._sync_action()

    def explain(self) -> Job | None:
        record = self.record
        if record is None or explain_unavailable(record, self._model_info(record.model)):
            return None
        title = f"explain “{short_prompt(record.prompt)}”"
        task = explain_task(self.engine, record.sidecar_path, record.model, self.settings)
        done = lambda explanation: self._explained(record, title, explanation)  # noqa: E731
        return self._submit(Job(title, task, done, subject=record.model))

    def rescore(self, window: tuple[float, float] | None) -> None:
        """Read the current take's mask over `window` seconds (None: the whole take) — no training."""
        state = self._state_for(self.record)
        if state is None:
            return
        if window is None:
            self.takes.clear_selection()
        try:
            self.panel.show_explanation(state.explanation.rescore(window))
        except SoundDeskError as exc:
            self.message.emit(str(exc))

    def play(self, counterfactual: bool) -> Job | None:
        """Play the factual (M) or counterfactual (1 - M) take, regenerating it in the worker the first time."""
        record = self.record
        state = self._state_for(record)
        if state is None:
            return None
        take = state.regenerated.get(counterfactual)
        if take is not None:
            self._play(record.id, counterfactual, take)
            return None
        label = "counterfactual" if counterfactual else "factual"
        task = regenerate_task(self.engine, record.sidecar_path, record.model, state.explanation, counterfactual)
        done = lambda take: self._regenerated(record.id, counterfactual, take)  # noqa: E731
        return self._submit(Job(f"{label} of “{short_prompt(record.prompt)}”", task, done, subject=record.model))

    def _submit(self, job: Job) -> Job:
        self._jobs.append(job)
        return self.queue.submit(job)

    def _play(self, take_id: int, counterfactual: bool, take: Any) -> None:
        key = ("counterfactual" if counterfactual else "factual", take_id)
        if self.player.play(key, take.wav, take.sample_rate):
            self.message.emit(f"Playing the {key[0]} take (the prompt's attention scaled by the explanation).")

    def _explained(self, record: TakeRecord, title: str, explanation: Any) -> None:
        self._states[record.id] = ExplainState(explanation, record.sidecar_path)
        self._states.move_to_end(record.id)
        while len(self._states) > KEPT_EXPLANATIONS:
            self._states.popitem(last=False)
        if self.record is not None and self.record.id == record.id:
            self.panel.show_explanation(explanation)
            self.takes.clear_selection()
        self.message.emit(f"Explained {title[len('explain ') :]}: drag across the waveform to score a part.")
        self.explained.emit(record.id)

    def _regenerated(self, take_id: int, counterfactual: bool, take: Any) -> None:
        state = self._states.get(take_id)
        if state is not None:
            state.regenerated[counterfactual] = take
        if self.record is not None and self.record.id == take_id:
            self._play(take_id, counterfactual, take)

    def _sync_busy(self) -> None:
        live = self.queue.jobs()
        self._jobs = [job for job in self._jobs if job in live]
        self.panel.set_busy(bool(self._jobs))
        self._sync_action()

    def _sync_action(self) -> None:
        """The menu's Explain follows the panel's button (enabled, and the reason when it is not)."""
        self.action.setEnabled(self.panel.explain_button.isEnabled())
        self.action.setToolTip(self.panel.explain_button.toolTip())

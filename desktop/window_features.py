"""Explain, separate and scene features of the main window: their panel, dock, actions and queued jobs.

Everything slow runs as a job on the window's one JobQueue (so it shows in the visible queue, waits its turn,
and the Cancel button stops it); results come back on the GUI thread, where new takes are recorded in the
library and shown. The explain panel sits under the take details, the scene view in a bottom dock.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QGroupBox, QHBoxLayout, QMenu, QToolButton, QVBoxLayout, QWidget

from core.errors import SoundDeskError
from core.takes.library import TakeRecord, default_name
from desktop.explain.controller import ExplainController, short_prompt
from desktop.explain.panel import ExplainPanel
from desktop.generate.model_picker import ModelInfo
from desktop.jobs.feature_tasks import SeparationResult, SeparatorHolder, StemsJob, TakeJob, separate_task, stems_task
from desktop.jobs.queue import Job
from desktop.scene.view import SceneView

if TYPE_CHECKING:
    from desktop.main_window import MainWindow

SCENE_DOCK_HEIGHT = 200  # pixels the scene dock takes when "Add to scene" first opens it (two to three rows)
SEPARATE_TIP = "Split this music take into drums, bass, other and vocals takes (demucs htdemucs)"


def separation_unavailable(record: TakeRecord, info: ModelInfo) -> str | None:
    """Why this take cannot be split into stems (a tooltip sentence), or None."""
    if "stem" in record.extra:
        return f"This take is already the {record.extra['stem']} stem of another take."
    family = record.extra.get("family") or info.family
    if family == "audiogen" or (family == "magnet" and record.sample_rate < 32000):
        return "Sound-effect takes have no drums, bass and vocals to split: separation works on music takes."
    return None


class WindowFeatures(QObject):
    """Adds Explain, Separate stems and the scene (Add to scene, Play mix, Export stems) to a MainWindow."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        takes, controller = window.takes_panel, window.controller
        self.queue = controller.queue
        self.explain_panel = ExplainPanel()
        self.explain = ExplainController(
            self.explain_panel,
            takes.detail.waveform,
            self.queue,
            controller.engine,
            takes.player,
            window.generate_panel.models.info,
            self,
        )
        self.separators = SeparatorHolder()
        self.scene_view = SceneView(takes.player, lambda: window.preferences.library_dir)
        self.scene_dock = QDockWidget("Scene", window)
        self.scene_dock.setObjectName("sceneDock")
        self.scene_dock.setWidget(self.scene_view)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.scene_dock)
        self.scene_dock.hide()  # shown by "Add to scene" or the Scene menu; the window state remembers it
        self._make_actions()
        takes.detail.add_section(self._section())
        self.explain.message.connect(window.show_status)
        self.scene_view.message.connect(window.show_status)
        self.scene_view.export_requested.connect(self.export_stems)
        takes.list.current_record_changed.connect(self.show_take)
        self.queue.finished.connect(self._on_finished)
        self.queue.changed.connect(self._on_queue_changed)
        window.unload_action.triggered.connect(self.separators.unload)
        self.show_take(takes.current())

    def _make_actions(self) -> None:
        window = self.window

        def action(name: str, text: str, slot, tip: str) -> QAction:
            act = QAction(text, window)
            act.setObjectName(name)
            act.setToolTip(tip)
            act.triggered.connect(slot)
            return act

        explain_tip = self.explain_panel.explain_button.toolTip()
        self.explain_action = action("explain", "Explain", self.explain.explain, explain_tip)
        self.separate_action = action("separate", "Separate stems", self.separate, SEPARATE_TIP)
        self.scene_action = action("add_to_scene", "Add to scene", self.add_to_scene, "Lay this take on the scene")
        take_menu = self._menu("&Take")
        take_menu.addSeparator()
        for act in (self.explain_action, self.separate_action, self.scene_action):
            take_menu.addAction(act)
        scene_menu = window.menuBar().addMenu("&Scene")
        view = self.scene_view
        scene_menu.addAction(self.scene_action)
        scene_menu.addAction("Play mix", view.toggle_mix)
        scene_menu.addAction("Export stems…", view.ask_export)
        scene_menu.addSeparator()
        scene_menu.addAction("Open scene…", view.ask_open)
        scene_menu.addAction("Save scene…", view.ask_save)
        scene_menu.addAction(self.scene_dock.toggleViewAction())

    def _section(self) -> QWidget:
        """Under the take details: Add to scene / Separate stems, then the explain panel."""
        section = QWidget()
        buttons = QHBoxLayout()
        self.buttons: dict[str, QToolButton] = {}
        for act in (self.scene_action, self.separate_action):
            button = self.buttons[act.objectName()] = QToolButton()
            button.setDefaultAction(act)
            buttons.addWidget(button)
        buttons.addStretch(1)
        box = QGroupBox("Explain: which words made this sound")
        QVBoxLayout(box).addWidget(self.explain_panel)
        layout = QVBoxLayout(section)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(box)
        return section

    def _menu(self, title: str) -> QMenu:
        for act in self.window.menuBar().actions():
            if act.menu() is not None and act.text() == title:
                return act.menu()
        return self.window.menuBar().addMenu(title)

    def show_take(self, record: TakeRecord | None) -> None:
        """The selected take changed: what can be done with it."""
        self.explain.show_take(record)
        info = self.window.generate_panel.models.info(record.model) if record is not None else None
        why = separation_unavailable(record, info) if record is not None else None
        self.separate_action.setEnabled(record is not None and why is None)
        self.separate_action.setToolTip(why or SEPARATE_TIP)
        self.scene_action.setEnabled(record is not None)
        self.explain_action.setEnabled(self.explain_panel.explain_button.isEnabled())
        self.explain_action.setToolTip(self.explain_panel.explain_button.toolTip())

    def separate(self) -> Job | None:
        record = self.window.takes_panel.current()
        if record is None or not self.separate_action.isEnabled():
            return None
        context = TakeJob(record.id, record.sidecar_path, record.model)
        task = separate_task(self.separators, context, self.window.preferences.library_dir)
        return self.queue.submit(Job(f"separate “{short_prompt(record.prompt)}”", task, "separate", context))

    def add_to_scene(self) -> bool:
        takes = self.window.takes_panel
        record = takes.current()
        if record is None:
            return False
        try:
            wav, rate = takes.model.audio(record)
        except (OSError, RuntimeError) as exc:
            self.window.show_status(f"Cannot read {record.wav_path}: {exc}.")
            return False
        renamed = record.name != default_name(record.prompt, record.seed)  # else stems are named by the prompt
        added = self.scene_view.add_take(record.sidecar_path, record.name if renamed else "", wav, rate)
        if added:
            if not self.scene_dock.isVisible():
                self.scene_dock.show()
                self.window.resizeDocks([self.scene_dock], [SCENE_DOCK_HEIGHT], Qt.Orientation.Vertical)
            self.scene_dock.raise_()
            self.window.show_status(f"Added “{record.name}” to the scene: drag it along the timeline to place it.")
        return added

    def export_stems(self, scene, folder: Path) -> Job:
        from core.export.settings import ExportSettings

        context = StemsJob(scene, Path(folder), ExportSettings())
        title = f"stems of “{short_prompt(scene.name)}”"
        return self.queue.submit(Job(title, stems_task(context), "stems", context))

    def _on_finished(self, job: Job, result: object) -> None:
        if isinstance(result, SeparationResult):
            self._record_stems(job, result)
        elif job.kind == "stems":
            self.scene_view.show_export(result)
            folder = result.mix.path.parent
            self.window.show_status(f"Exported {len(result.stems)} stem(s) and the mix to {folder}.")

    def _record_stems(self, job: Job, result: SeparationResult) -> None:
        library = self.window.library
        if library is None:
            self.window.show_error("The library is closed; the stems were written but not recorded.")
            return
        try:
            records = [library.add(take, files, created) for take, files, created in result.stems]
        except SoundDeskError as exc:
            self.window.show_error(str(exc))
            return
        self.window.takes_panel.added(records)
        names = ", ".join(take.extra.get("stem", "?") for take, _, _ in result.stems)
        self.window.show_status(f"Separated {job.title[len('separate ') :]} into {len(records)} takes: {names}.")

    def _on_queue_changed(self) -> None:
        jobs = ([self.queue.current] if self.queue.current is not None else []) + self.queue.pending
        self.scene_view.set_exporting(any(job.kind == "stems" for job in jobs))
        self.explain_action.setEnabled(self.explain_panel.explain_button.isEnabled())

"""The SoundDesk main window: composes the generate panel and the takes panel, menus, settings and errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QIcon, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QGroupBox,
    QHBoxLayout,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import SoundDeskError
from core.models import hub
from core.models.precision import recorded_precision
from core.takes.history_db import LibraryBusyError
from core.takes.library import Library, TakeRecord
from desktop.compact.mode import CompactMode
from desktop.dialogs.exporting import TakeExporter
from desktop.dialogs.preferences import PreferencesDialog
from desktop.explain.controller import ExplainController
from desktop.explain.panel import ExplainPanel
from desktop.generate.controller import GenerationController
from desktop.generate.first_run import FirstRunBox
from desktop.generate.panel import GeneratePanel
from desktop.generate.warm_start import load_last_model
from desktop.link.follow import LinkFollow
from desktop.loops.feature import LoopFeature
from desktop.render.controller import RenderController
from desktop.scene.dock import SceneDock
from desktop.settings import Preferences, group, restore_bytes, restore_group
from desktop.takes.library_opener import LibraryOpener, open_now
from desktop.takes.panel import TakesPanel
from desktop.takes.preview import LivePreview
from desktop.takes.separate import Separation
from desktop.takes.sound_search import SoundSearch
from desktop.widgets import space_key, theme
from desktop.widgets.reveal import reveal
from resources import resource_path

STATUS_TIMEOUT_MS = 8000
SCREEN_FRACTION = 0.85  # of the available screen, for a first start without a remembered geometry
LEFT_WIDTH = 400  # px of the generate column at a first start; the takes get the rest
LIST_FRACTION = 0.4  # of the window's height for the takes list at a first start; the details get the rest


class MainWindow(QMainWindow):
    """One window: prompt and parameters on the left, the take library on the right."""

    def __init__(self, settings: QSettings | None = None, warm_start: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("SoundDesk")
        self.setWindowIcon(QIcon(str(resource_path("icons", "sounddesk.svg"))))
        self.settings = settings if settings is not None else QSettings()
        self.preferences = Preferences.load(self.settings)
        self.library: Library | None = None
        self.library_opener: LibraryOpener | None = None  # while another program keeps the library locked
        self.error_box: QMessageBox | None = None
        self.controller = GenerationController(lambda: self.library, self)
        self.sound_search = SoundSearch(self.controller, lambda: self.library, self)
        self.exporter = TakeExporter(self.settings, lambda: self.preferences.library_dir, self)
        self.generate_panel = GeneratePanel()
        self.takes_panel = TakesPanel()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.generate_panel)
        self.splitter.addWidget(self.takes_panel)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)
        self._connect()
        space_key.install()  # Space on a focused button presses it, not Play
        self._make_menus()
        self._add_take_features()
        self._add_loops()
        self._add_window_features()
        self._add_link()
        if self.settings.value("window/geometry") is None:  # a first start; later ones restore their geometry
            self._fit_screen()
        self.restore_state()
        self._open_library(self.preferences.library_dir)
        self._apply_preferences(self.preferences, initial=True)
        if not self.statusBar().currentMessage():  # keep a note from opening the library
            self.statusBar().showMessage("Ready.")
        if warm_start:  # the last model loads in the background (else the engine starts): Generate finds it ready
            load_last_model(self.controller, self.generate_panel, self.settings)

    def _connect(self) -> None:
        panel, takes, controller = self.generate_panel, self.takes_panel, self.controller
        panel.generate_requested.connect(self.generate)
        panel.cancel_requested.connect(controller.cancel)
        panel.remove_job_requested.connect(controller.queue.remove)
        panel.message.connect(self.show_status)
        panel.models.folder_opened.connect(controller.load)
        controller.progress.connect(panel.show_progress)
        controller.status.connect(self.show_status)
        controller.error.connect(self.show_error)
        controller.takes_added.connect(self._on_takes_added)
        controller.takes_arrived.connect(takes.arrived)
        controller.model_loaded.connect(panel.apply_model_info)
        controller.busy_changed.connect(self._on_busy)
        controller.queue_changed.connect(lambda: panel.show_queue(controller.queue))
        takes.message.connect(self.show_status)
        takes.recall_requested.connect(self.recall)
        takes.export_requested.connect(self.export_take)
        self.exporter.message.connect(self.show_status)
        self.exporter.error.connect(self.show_error)
        self.statusBar().addPermanentWidget(self.exporter.reveal_button)
        takes.sound_search_requested.connect(self.sound_search.search_text)
        takes.more_like_requested.connect(self.sound_search.more_like)
        self.sound_search.ranked.connect(takes.show_ranked)
        self.sound_search.scored.connect(takes.added)
        takes.rank_requested.connect(self.sound_search.rank_prompt)
        takes.sound_search_opened.connect(self.sound_search.index_first)
        self.sound_search.message.connect(self.show_status)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_folder_action = file_menu.addAction("Open model folder…", self.generate_panel.models.ask_folder)
        self.open_folder_action.setShortcut(QKeySequence.StandardKey.Open)
        self.render_controller = RenderController(self)
        self.render_action = file_menu.addAction("Render a manifest…", self.render_controller.ask)
        self.reveal_library_action = file_menu.addAction("Open library folder", self._reveal_library)
        self.reveal_exports_action = file_menu.addAction("Open exports folder", self.exporter.reveal_folder)
        self.preferences_action = file_menu.addAction("Preferences…", self.edit_preferences)
        self.preferences_action.setShortcut(QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.takes_panel.undo_action)
        edit_menu.addAction(self.takes_panel.redo_action)
        take_menu = self.take_menu = bar.addMenu("&Take")
        playback = [self.takes_panel.play_action, self.takes_panel.loop_action]  # hearing it, apart from Make loop…
        take_menu.addActions(playback)
        take_menu.addSeparator()
        take_menu.addActions([action for action in self.takes_panel.take_actions if action not in playback])
        self.index_action = take_menu.addAction(
            "Index the library for search by sound", self.sound_search.index_library
        )
        self.addActions([self.takes_panel.undo_action, self.takes_panel.redo_action, *self.takes_panel.take_actions])
        model_menu = self.model_menu = bar.addMenu("&Model")
        self.generate_action = model_menu.addAction("Generate", self.generate)
        self.generate_action.setShortcut(QKeySequence("Ctrl+Return"))
        self.cancel_action = model_menu.addAction("Cancel", self.controller.cancel)
        self.cancel_action.setShortcut(QKeySequence("Esc"))
        self.cancel_action.setEnabled(False)
        model_menu.addSeparator()
        self.offline_action = QAction("Work offline", self, checkable=True)
        self.offline_action.toggled.connect(self._set_offline)
        model_menu.addAction(self.offline_action)
        self.unload_action = model_menu.addAction("Free loaded models", self.controller.unload_models)

    def _add_take_features(self) -> None:
        """Explain, Separate stems and the scene: in the Take menu, under the take details, the Scene dock."""
        takes, queue, engine = self.takes_panel, self.controller.queue, self.controller.engine
        models, library_dir = self.generate_panel.models, lambda: self.preferences.library_dir
        self.explain = ExplainController(
            ExplainPanel(), takes.detail.waveform, queue, engine, takes.player, models.info
        )
        self.explain.setParent(self)
        self.separation = Separation(queue, engine, lambda: self.library, library_dir, models.info, self)
        self.scene = SceneDock(takes.player, library_dir, queue, self)
        self.scene.add_action.triggered.connect(self.add_to_scene)
        for feature in (self.explain, self.separation, self.scene):
            feature.message.connect(self.show_status)
        self.separation.error.connect(self.show_error)
        self.separation.takes_added.connect(takes.added)
        self.take_menu.addSeparator()
        for action in (self.explain.action, self.separation.action, self.scene.add_action):
            self.take_menu.addAction(action)
        self.scene.fill_menu(self.menuBar().addMenu("&Scene"))
        takes.detail.add_section(self._take_section())
        takes.list.current_record_changed.connect(self._show_take)
        self._show_take(takes.current())

    def _add_loops(self) -> None:
        """Make loop… on the selected take: in the Take menu and under the take details."""
        takes, library_dir = self.takes_panel, lambda: self.preferences.library_dir
        self.loops = LoopFeature(self.controller.queue, lambda: self.library, library_dir, self.settings, self)
        self.take_menu.addAction(self.loops.action)
        takes.detail.add_section(self.loops.section())
        takes.list.current_record_changed.connect(self.loops.show_take)
        self.loops.show_take(takes.current())
        self.loops.takes_added.connect(takes.added)
        self.loops.message.connect(self.show_status)
        self.loops.error.connect(self.show_error)

    def _add_window_features(self) -> None:
        """Hearing takes while they generate, compact mode, the toolbar of main actions with icons."""
        takes, controller = self.takes_panel, self.controller
        self.live = LivePreview(controller, takes.detail, takes.player, self)
        takes.live = self.live
        self.live.changed.connect(takes.refresh_actions)
        self.live.released.connect(takes.show_selected)
        takes.list.current_record_changed.connect(lambda _record: self.live.hide())
        self.compact = CompactMode(self, self.generate_panel, takes, controller, self.generate)
        self.first_run = FirstRunBox()
        self.first_run.download_requested.connect(self._download)
        self.first_run.open_folder_requested.connect(self.generate_panel.models.ask_folder)
        self.generate_panel.layout().insertWidget(0, self.first_run)
        controller.model_loaded.connect(lambda _info: self._refresh_first_run())
        self.generate_panel.models.model_changed.connect(lambda _ref: self._refresh_first_run())
        self.menuBar().actions()[0].menu().insertAction(self.preferences_action, self.compact.action)
        self._apply_icons()
        bar = self.toolbar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.generate_action, self.cancel_action, None, takes.play_action, takes.export_action):
            bar.addSeparator() if action is None else bar.addAction(action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addAction(self.compact.action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    def _add_link(self) -> None:
        """Follow tempo (Ableton Link): in the Model menu and the toolbar, the peers in the status bar, and loops."""
        self.link = LinkFollow(self.generate_panel.params.tempo, self.settings, self)
        self.model_menu.addAction(self.link.action)
        self.toolbar.insertAction(self.compact.action, self.link.action)
        self.statusBar().addPermanentWidget(self.link.label)
        self.link.message.connect(self.show_status)
        self.loops.follow_tempo = self.link.bpm

    def _apply_icons(self) -> None:
        """Icons in the theme's colour (again after a theme change: each is drawn for one background)."""
        takes = self.takes_panel
        for action, name in (
            (self.generate_action, "generate"),
            (self.cancel_action, "cancel"),
            (self.open_folder_action, "folder"),
            (takes.loop_action, "loop"),
            (takes.star_action, "star"),
            (takes.rename_action, "rename"),
            (takes.delete_action, "delete"),
            (takes.recall_action, "recall"),
            (takes.export_action, "export"),
            (self.explain.action, "explain"),
        ):
            action.setIcon(theme.icon(name))
        self.generate_panel.generate_button.setIcon(theme.icon("generate", on_accent=True))
        self.generate_panel.cancel_button.setIcon(theme.icon("cancel"))
        takes.show_playing()  # Play / Stop
        self.compact.apply_icons()

    def _refresh_first_run(self) -> None:
        self.first_run.refresh(len(self.generate_panel.models.local_folders()))

    def _download(self, ref: str) -> None:
        """First run: download and load `ref` (progress bar and Cancel as for any job), then choose it."""
        self.generate_panel.models.select(ref)
        self.controller.load(ref)

    def _fit_screen(self) -> None:
        """A first start opens at a fraction of the screen, centred; the generate column gets LEFT_WIDTH."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        width, height = int(area.width() * SCREEN_FRACTION), int(area.height() * SCREEN_FRACTION)
        left_edge, top_edge = area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2
        self.setGeometry(left_edge, top_edge, width, height)
        left = max(LEFT_WIDTH, self.generate_panel.minimumSizeHint().width())
        self.splitter.setSizes([left, max(1, width - left)])
        list_height = int(height * LIST_FRACTION)
        self.takes_panel.splitter.setSizes([list_height, max(1, height - list_height)])

    def _take_section(self) -> QWidget:
        """Under the take details: Add to scene / Separate stems, then the explain panel."""
        buttons = QHBoxLayout()
        self.take_buttons: dict[str, QToolButton] = {}
        for action in (self.scene.add_action, self.separation.action):
            button = self.take_buttons[action.objectName()] = QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        box = QGroupBox("Explain: which words made this sound")
        QVBoxLayout(box).addWidget(self.explain.panel)
        section = QWidget()
        layout = QVBoxLayout(section)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(box)
        return section

    def _show_take(self, record: TakeRecord | None) -> None:
        """The selected take changed: what can be done with it."""
        self.explain.show_take(record)
        self.separation.show_take(record)
        self.scene.add_action.setEnabled(record is not None)

    def add_to_scene(self) -> bool:
        record = self.takes_panel.current()
        if record is None:
            return False
        try:
            wav, rate = self.takes_panel.model.audio(record)
        except (OSError, RuntimeError) as exc:
            self.show_status(f"Cannot read {record.wav_path}: {exc}.")
            return False
        return self.scene.add_take(record, wav, rate)

    def generate(self) -> None:
        """Queue a generation of what the left panel shows; user mistakes become a status message."""
        panel = self.generate_panel
        if not panel.models.current_ref():
            self.show_error("Choose a model first.")
            return
        if not panel.prompt.prompt() and panel.continuation.clip() is None:
            self.show_error("Type a prompt describing the sound first.")
            return
        try:
            spec = replace(panel.spec(self.preferences.library_dir), rank=self.preferences.rank_takes)
        except SoundDeskError as exc:
            self.show_error(str(exc))
            return
        panel.prompt.remember(spec.prompt)
        self.controller.generate(replace(spec, preview=self.preferences.preview))

    def recall(self, record: TakeRecord) -> None:
        precision = recorded_precision(record.extra)
        if self.generate_panel.recall(record.prompt, record.model, record.params, record.seed, precision):
            self.show_status(f"Recalled “{record.name}”: Generate makes it again (seed {record.seed}, locked).")
        else:
            self.show_status(f"Recalled “{record.name}”, but its model {record.model} is not available here.")

    def export_take(self, record: TakeRecord) -> None:
        """Ask how to export (ExportDialog), then write the file through core.export.writer."""
        self.exporter.ask(record)

    def export_record(self, record: TakeRecord, folder: Path, export_settings: Any) -> Any:
        """Export one take; returns its ExportResult, or None after showing why not (desktop.dialogs.exporting)."""
        return self.exporter.export(record, folder, export_settings)

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, STATUS_TIMEOUT_MS)

    def show_error(self, message: str) -> None:
        """One readable message in one dialog (a second error replaces the text of an open one)."""
        self.statusBar().showMessage(message, STATUS_TIMEOUT_MS)
        if self.error_box is None:
            self.error_box = QMessageBox(
                QMessageBox.Icon.Warning, "SoundDesk", message, QMessageBox.StandardButton.Ok, self
            )
            self.error_box.setWindowModality(Qt.WindowModality.WindowModal)
        self.error_box.setText(message)
        self.error_box.open()

    def edit_preferences(self) -> None:
        dialog = PreferencesDialog(self.preferences, self)
        if dialog.exec() == PreferencesDialog.DialogCode.Accepted:
            self._apply_preferences(dialog.preferences())

    def _apply_preferences(self, preferences: Preferences, initial: bool = False) -> None:
        if preferences.library_dir != self.preferences.library_dir:
            if self.controller.busy:
                self.show_error("Change the library folder once the running jobs have finished.")
                preferences.library_dir = self.preferences.library_dir
            else:
                self._open_library(preferences.library_dir)
        self.takes_panel.player.set_device(preferences.output_device or None)
        if (initial or preferences.theme != self.preferences.theme) and QApplication.instance() is not None:
            theme.apply(QApplication.instance(), preferences.theme)
            self._apply_icons()
        if preferences.offline or not initial:
            hub.set_offline(preferences.offline)
        self.offline_action.blockSignals(True)
        self.offline_action.setChecked(hub.is_offline())
        self.offline_action.blockSignals(False)
        preferences.offline = hub.is_offline()
        self._refresh_first_run()
        self.preferences = preferences
        preferences.save(self.settings)

    def _set_offline(self, offline: bool) -> None:
        self._apply_preferences(replace(self.preferences, offline=offline))
        self.show_status("Offline: only models already on disk are used." if offline else "Online.")

    def _open_library(self, folder: Path) -> None:
        """Open the library folder: at once, or (another program holds its lock) on a LibraryOpener's thread
        while the window stays usable and the status line says what it waits for."""
        self._stop_opening()
        try:
            library = open_now(folder)
        except LibraryBusyError:
            self._wait_for_library(Path(folder))
            return
        except SoundDeskError as exc:
            if self.library is None:
                self.controller.library_unavailable(str(exc), opening=False)
            self.show_error(str(exc))
            return
        self._use_library(library, Path(folder))

    def _wait_for_library(self, folder: Path) -> None:
        waiting = (
            f"Waiting for the take library in {folder}: another program (a SoundDesk window or command, a backup "
            "tool) keeps its history locked. You can generate meanwhile; the takes are listed once it opens."
        )
        if self.library is None:
            self.controller.library_unavailable(waiting, opening=True)
        self.statusBar().showMessage(waiting)  # no timeout: it stays until the library opens
        opener = self.library_opener = LibraryOpener(folder, self)
        opener.opened.connect(lambda library: self._on_library_opened(opener, library))
        opener.failed.connect(lambda message: self._on_library_failed(opener, message))
        opener.start()

    def _on_library_opened(self, opener: LibraryOpener, library: Library) -> None:
        if opener is not self.library_opener:  # stopped since (another folder chosen, or closing)
            library.close()
            return
        self.library_opener = None
        self._use_library(library, library.folder, waited=True)

    def _on_library_failed(self, opener: LibraryOpener, message: str) -> None:
        if opener is not self.library_opener:
            return
        self.library_opener = None
        if self.library is None:
            self.controller.library_unavailable(message, opening=False)
        self.show_error(message)

    def _stop_opening(self) -> None:
        if self.library_opener is not None:
            self.library_opener.stop()
            self.library_opener = None

    def _use_library(self, library: Library, folder: Path, waited: bool = False) -> None:
        if self.library is not None:
            self.library.close()
        self.library = library
        self.preferences.library_dir = Path(folder)
        self.takes_panel.set_library(library)
        self.generate_panel.prompt.set_recent(library.recent_prompts())
        notes = [f"Recorded {library.adopted} take(s) found in {folder} without a history entry."] * bool(
            library.adopted
        )
        if library.damaged:
            notes.append(f"Skipped {len(library.damaged)} damaged history row(s): {library.damaged[0]}.")
        if waited:
            notes.insert(0, f"Opened the take library in {folder}.")
        if notes:
            self.show_status(" ".join(notes))
        self.controller.library_available()

    def _reveal_library(self) -> bool:
        return reveal(self.preferences.library_dir)

    def _on_takes_added(self, records: list[TakeRecord]) -> None:
        self.takes_panel.added(records)
        self.generate_panel.models.refresh()

    def _on_busy(self, busy: bool) -> None:
        self.generate_panel.set_busy(busy)
        self.cancel_action.setEnabled(busy)
        self.unload_action.setEnabled(not busy)
        self.preferences_action.setEnabled(not busy)

    def save_state(self) -> None:
        settings = self.settings
        with group(settings, "window"):
            settings.setValue("geometry", self.saveGeometry())
            settings.setValue("state", self.saveState())
            settings.setValue("splitter", self.splitter.saveState())
        with group(settings, "generate"):
            self.generate_panel.save_state(settings)
        with group(settings, "takes"):
            self.takes_panel.save_state(settings)
        self.compact.save_state(settings)
        self.preferences.save(settings)
        settings.sync()

    def restore_state(self) -> None:
        settings = self.settings
        with group(settings, "window"):
            self._geometry = restore_bytes(settings, "geometry", self.restoreGeometry)
            restore_bytes(settings, "state", self.restoreState)
            restore_bytes(settings, "splitter", self.splitter.restoreState)
        restore_group(settings, "generate", self.generate_panel.restore_state)
        restore_group(settings, "takes", self.takes_panel.restore_state)
        self.compact.restore_state(settings)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """Restore the saved geometry once more after the first show: before it, the layout's minimum width is
        computed from unpolished widgets (wider than after), and showing would keep the window that wide."""
        super().showEvent(event)
        geometry, self._geometry = getattr(self, "_geometry", None), None
        if geometry is not None:
            QTimer.singleShot(0, lambda: self.restoreGeometry(geometry))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Save settings, cancel and wait for the worker (never terminate it), then close the library."""
        self.save_state()
        self.compact.close()
        self.link.stop()
        self.takes_panel.player.stop()
        self._stop_opening()
        self.controller.shutdown()
        QCoreApplication.sendPostedEvents()  # a job that finished just before the cancel is still recorded
        if self.library is not None:
            self.library.close()
            self.library = None
        super().closeEvent(event)

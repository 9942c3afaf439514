"""The SoundDesk main window: composes the generate and takes panels, the take features, menus and messages.

What the window's parts share (job queue, engine, player, library, preferences) is the app's AppServices
(desktop.services.app); each take feature (desktop.services.feature) is registered in one loop, `_attach`.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLayout,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QToolButton,
    QWidget,
)

from core.errors import SoundDeskError
from core.models.precision import recorded_precision
from core.takes.library import Library, TakeRecord
from desktop.compact.mode import CompactMode
from desktop.dialogs.exporting import TakeExporter
from desktop.dialogs.preferences import PreferencesDialog
from desktop.explain.controller import ExplainController
from desktop.generate.controller import GenerationController
from desktop.generate.panel import GeneratePanel
from desktop.generate.warm_start import load_last_model
from desktop.link.follow import LinkFollow
from desktop.loops.feature import LoopFeature
from desktop.render.controller import RenderController
from desktop.scene.feature import SceneFeature
from desktop.services.app import AppServices
from desktop.services.feature import TakeFeature
from desktop.settings import Preferences, group, restore_bytes, restore_group
from desktop.takes.panel import TakesPanel
from desktop.takes.preview import LivePreview
from desktop.takes.separate import Separation
from desktop.takes.sound_search import SoundSearch
from desktop.widgets import space_key, theme
from desktop.widgets.reveal import reveal

STATUS_TIMEOUT_MS = 8000
SCREEN_FRACTION = 0.85  # of the available screen, for a first start without a remembered geometry
LEFT_WIDTH = 400  # px of the generate column at a first start; the takes get the rest
LIST_FRACTION = 0.4  # of the window's height for the takes list at a first start; the details get the rest


class MainWindow(QMainWindow):
    """One window: prompt and parameters on the left, the take library on the right."""

    def __init__(
        self,
        settings: QSettings | None = None,
        warm_start: bool = False,
        parent: QWidget | None = None,
        services: AppServices | None = None,
    ):
        """`services`: the app's (desktop.app); without, the window makes its own from `settings`."""
        super().__init__(parent)
        self.setWindowTitle("SoundDesk")
        self.setWindowIcon(theme.app_icon())
        self.services = services if services is not None else AppServices(settings, self)
        self.error_box: QMessageBox | None = None
        self.controller = GenerationController(self.services, self)
        self.exporter = TakeExporter(self.settings, self.services.library_dir, self)
        self.generate_panel = GeneratePanel()
        self.takes_panel = TakesPanel(self.services.player)
        self.sound_search = SoundSearch(self.services, self.takes_panel, self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.generate_panel)
        self.splitter.addWidget(self.takes_panel)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)
        self._connect()
        space_key.install()  # Space on a focused button presses it, not Play
        self._make_menus()
        self._make_features()
        self._make_toolbar()
        self._add_link()
        if self.settings.value("window/geometry") is None:  # a first start; later ones restore their geometry
            self._fit_screen()
        self.restore_state()
        self.services.open_library(self.preferences.library_dir)
        self._apply_preferences(self.preferences, initial=True)
        if not self.statusBar().currentMessage():  # keep a note from opening the library
            self.statusBar().showMessage("Ready.")
        if warm_start:  # the last model loads in the background (else the engine starts): Generate finds it ready
            load_last_model(self.controller, self.generate_panel, self.settings)

    @property
    def settings(self) -> QSettings:
        return self.services.settings

    @property
    def preferences(self) -> Preferences:
        return self.services.preferences

    @property
    def library(self) -> Library | None:
        return self.services.library

    def _connect(self) -> None:
        panel, takes, controller, services = self.generate_panel, self.takes_panel, self.controller, self.services
        panel.generate_requested.connect(self.generate)
        panel.cancel_requested.connect(controller.cancel)
        panel.remove_job_requested.connect(services.queue.remove)
        panel.message.connect(self.show_status)
        panel.models.folder_opened.connect(controller.load)
        panel.download_requested.connect(controller.load)
        controller.progress.connect(panel.show_progress)
        controller.status.connect(self.show_status)
        controller.error.connect(self.show_error)
        controller.takes_added.connect(self._on_takes_added)
        controller.takes_arrived.connect(takes.arrived)
        controller.model_loaded.connect(panel.apply_model_info)
        controller.busy_changed.connect(self._on_busy)
        controller.queue_changed.connect(lambda: panel.show_queue(services.queue))
        services.message.connect(self.show_status)
        services.error.connect(self.show_error)
        services.waiting.connect(self.statusBar().showMessage)  # no timeout: it stays until the library opens
        services.library_opened.connect(self._use_library)
        takes.message.connect(self.show_status)
        takes.recall_requested.connect(self.recall)
        takes.export_requested.connect(self.exporter.ask)
        self.exporter.message.connect(self.show_status)
        self.exporter.error.connect(self.show_error)
        self.statusBar().addPermanentWidget(self.exporter.reveal_button)
        self.sound_search.message.connect(self.show_status)

    def _make_menus(self) -> None:
        """File, Edit, Take and Model; the take features' entries go in the places of `self.menu_places`."""
        bar, takes = self.menuBar(), self.takes_panel
        file_menu = bar.addMenu("&File")
        self.open_folder_action = file_menu.addAction("Open model folder…", self.generate_panel.models.ask_folder)
        self.open_folder_action.setShortcut(QKeySequence.StandardKey.Open)
        self.reveal_library_action = file_menu.addAction(
            "Open library folder", lambda: reveal(self.preferences.library_dir)
        )
        self.reveal_exports_action = file_menu.addAction("Open exports folder", self.exporter.reveal_folder)
        self.preferences_action = file_menu.addAction("Preferences…", self.edit_preferences)
        self.preferences_action.setShortcut(QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        file_menu.addAction("Quit", self.close).setShortcut(QKeySequence.StandardKey.Quit)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([takes.undo_action, takes.redo_action])
        take_menu = self.take_menu = bar.addMenu("&Take")
        playback = [takes.play_action, takes.loop_action]  # hearing it, apart from Make loop…
        take_menu.addActions(playback)
        take_menu.addSeparator()
        take_menu.addActions([action for action in takes.take_actions if action not in playback])
        index = take_menu.addAction("Index the library for search by sound", self.sound_search.index_library)
        self.index_action = index
        take_menu.addSeparator()
        self.addActions([takes.undo_action, takes.redo_action, *takes.take_actions])
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
        self.toolbar = QToolBar("Main")
        self.menu_places: dict[str, tuple[QMenu | QToolBar, QAction | None]] = {
            "file": (file_menu, self.reveal_library_action),  # after "Open model folder…"
            "window": (file_menu, self.preferences_action),
            "take": (take_menu, None),
            "model": (model_menu, None),
            "toolbar": (self.toolbar, None),
        }

    def _make_features(self) -> None:
        """The take features, each attached the same way (`_attach`); the Scene menu follows."""
        services, takes, info = self.services, self.takes_panel, self.generate_panel.models.info
        self.render_controller = RenderController(services, self)
        self.explain = ExplainController(services, takes, info, self)
        self.separation = Separation(services, info, self)
        self.scene = SceneFeature(services, takes, self)
        self.loops = LoopFeature(services, self)
        self.live = LivePreview(self.controller, takes, self)
        self.compact = CompactMode(self, self.generate_panel, takes, self.controller, self.generate)
        self.features: list[TakeFeature] = [
            self.render_controller,
            self.explain,
            self.separation,
            self.scene,
            self.loops,
            self.live,
            self.compact,
        ]
        self.take_buttons: dict[str, QToolButton] = {}
        buttons = QHBoxLayout()
        for feature in self.features:
            self._attach(feature, buttons)
        buttons.addStretch(1)
        row = QWidget()
        row.setLayout(buttons)
        buttons.setContentsMargins(0, 0, 0, 0)
        takes.add_section(row)
        for feature in self.features:
            if (section := feature.section()) is not None:
                takes.add_section(section)
        self.scene.fill_menu(self.menuBar().addMenu("&Scene"))

    def _attach(self, feature: TakeFeature, buttons: QHBoxLayout) -> None:
        """Place a feature's menu entries and buttons, follow the selected take, hear its takes and messages."""
        for place, action in feature.menu_entries():
            menu, before = self.menu_places[place]
            menu.insertAction(before, action) if before is not None else menu.addAction(action)
        for action in feature.detail_actions():
            button = self.take_buttons[action.objectName()] = QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
        self.takes_panel.current_changed.connect(feature.show_take)
        feature.show_take(self.takes_panel.current())
        feature.takes_added.connect(self.takes_panel.added)
        feature.message.connect(self.show_status)
        feature.error.connect(self.show_error)

    def _make_toolbar(self) -> None:
        """The main actions with icons; the features' toolbar entries at its end, after a spacer."""
        bar, takes = self.toolbar, self.takes_panel
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        features = bar.actions()
        bar.clear()
        for action in (self.generate_action, self.cancel_action, None, takes.play_action, takes.export_action):
            bar.addSeparator() if action is None else bar.addAction(action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addActions(features)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self._apply_icons()

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
        for action, name in ((self.generate_action, "generate"), (self.cancel_action, "cancel")):
            action.setIcon(theme.icon(name))
        self.open_folder_action.setIcon(theme.icon("folder"))
        self.generate_panel.apply_icons()
        self.takes_panel.apply_icons()
        for feature in self.features:
            feature.apply_icons()
        for layout in self.findChildren(QLayout):
            layout.invalidate()  # measured before: a layout never shown keeps its icon-less buttons' wider sizes

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

    def generate(self) -> None:
        """Queue a generation of what the left panel shows; user mistakes become an error message."""
        preferences = self.preferences
        try:
            spec = self.generate_panel.request(preferences.library_dir)
        except SoundDeskError as exc:
            self.show_error(str(exc))
            return
        self.controller.generate(replace(spec, rank=preferences.rank_takes, preview=preferences.preview))

    def recall(self, record: TakeRecord) -> None:
        precision = recorded_precision(record.extra)
        if self.generate_panel.recall(record.prompt, record.model, record.params, record.seed, precision):
            self.show_status(f"Recalled “{record.name}”: Generate makes it again (seed {record.seed}, locked).")
        else:
            self.show_status(f"Recalled “{record.name}”, but its model {record.model} is not available here.")

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
        """The services use them (library folder, output device, offline); the window shows the theme."""
        restyle = initial or preferences.theme != self.preferences.theme
        self.services.apply_preferences(preferences, initial)
        if restyle and QApplication.instance() is not None:
            theme.apply(QApplication.instance(), preferences.theme)
            self._apply_icons()
        self.offline_action.blockSignals(True)
        self.offline_action.setChecked(preferences.offline)
        self.offline_action.blockSignals(False)
        self.generate_panel.refresh_first_run()

    def _set_offline(self, offline: bool) -> None:
        self._apply_preferences(replace(self.preferences, offline=offline))
        self.show_status("Offline: only models already on disk are used." if offline else "Online.")

    def _use_library(self, library: Library) -> None:
        """The library opened (at start, another folder chosen, or once another program let go of it)."""
        self.takes_panel.set_library(library)
        self.generate_panel.prompt.set_recent(library.recent_prompts())
        self.controller.library_available()

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
        """Save settings, then stop the compact window, Link and the services (the worker is waited for)."""
        self.save_state()
        self.compact.close()
        self.link.stop()
        self.services.close()
        super().closeEvent(event)

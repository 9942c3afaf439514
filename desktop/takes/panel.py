"""The right side of the window: search, the takes list, the selected take, playback and the take actions."""

from __future__ import annotations

import html

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShortcut, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import SoundDeskError
from core.loops.takes import is_loop
from core.takes.library import Library, TakeRecord
from desktop.playback import Player
from desktop.settings import read_bool, restore_bytes
from desktop.takes.detail import TakeDetail
from desktop.takes.library_model import TakesModel
from desktop.takes.view import TakesList
from desktop.widgets import theme

PLAY_TIP = "Play the selected take (Space); while something plays, this stops it"
ACTION_TIPS = {
    "loop": "Repeat playback: takes play over and over until stopped (the take itself is not changed; "
    "Make loop… makes a loop take)",
    "star": "Star this take (S), or unstar it; “★ only” lists the starred ones",
    "rename": "Rename this take (F2)",
    "delete": "Move this take to the library's trash (Del); Ctrl+Z brings it back",
    "recall": "Put this take's prompt, model, seed and settings back on the left: Generate makes it again (Ctrl+R)",
    "export": "Export this take as an audio file for your DAW or game engine (Ctrl+E)",
    "reveal": "Show this take's files in the file manager",
    "more_like": "List the takes that sound most like this one (Ctrl+M)",
}
"""What each take action does, for its tooltip (the details show most of them as icons only)."""


class DeleteTake(QUndoCommand):
    """Delete = move to the library's trash; undo brings the files and the row back."""

    def __init__(self, panel: TakesPanel, record: TakeRecord) -> None:
        super().__init__(f"delete “{record.name}”")
        self.panel, self.take_id = panel, record.id

    def redo(self) -> None:
        self.panel.apply(lambda library: library.delete(self.take_id), reload=True)

    def undo(self) -> None:
        self.panel.apply(lambda library: library.restore(self.take_id), reload=True, select=self.take_id)


class TakesPanel(QWidget):
    """Browses the library; plays, stars, renames, deletes (undoably) and recalls takes."""

    recall_requested = Signal(object)  # TakeRecord
    export_requested = Signal(object)  # TakeRecord
    sound_search_requested = Signal(str)  # a query to rank the library by sound
    more_like_requested = Signal(object)  # TakeRecord
    rank_requested = Signal(object)  # TakeRecord: score the takes of its prompt by how well they fit it
    sound_search_opened = Signal()  # "by sound" was ticked: a good moment to index what is not indexed yet
    message = Signal(str)
    playing_changed = Signal(object, str)  # the take id playing (None: none, or the preview), what plays in words
    current_changed = Signal(object)  # the selected TakeRecord, or None
    selection_changed = Signal(float, float)  # a time selection on the waveform, start and end in seconds

    def __init__(self, player: Player | None = None, parent: QWidget | None = None) -> None:
        """`player`: the app's one Player (desktop.services); a panel of its own has its own."""
        super().__init__(parent)
        self.library: Library | None = None
        self.model = TakesModel(self)
        self.player = player if player is not None else Player(self)
        self.undo_stack = QUndoStack(self)
        self._make_actions()
        self.search = QLineEdit(placeholderText="Search prompts and names…", clearButtonEnabled=True)
        self.search.textChanged.connect(self._filter)
        self.starred_only = QCheckBox("★ only")
        self.starred_only.toggled.connect(self._filter)
        self.by_sound = QCheckBox("by sound")
        self.by_sound.setToolTip("Enter ranks the takes by how well their sound matches the words (CLAP)")
        self.by_sound.toggled.connect(self._by_sound_toggled)
        self.search.returnPressed.connect(self._search_by_sound)
        self.results = QLabel(wordWrap=True)  # what ranked rows answer; stays while they are shown
        self.results.setObjectName("rankedResults")
        self.show_all = QToolButton(text="Show all takes")
        self.show_all.clicked.connect(self._show_all)
        self.live = None  # the LivePreview of a take being generated (desktop.takes.preview), set by the window
        self.list = TakesList(self.model)
        self.list.current_record_changed.connect(self._show_current)
        self.list.activated_record.connect(self.audition)
        self.model.modelReset.connect(self._after_reload)  # after the list has restored its selection
        self._playing_name = ""  # what the player plays, in words (the take's name, or the take being generated)
        self.detail = TakeDetail(
            [
                self.play_action,
                self.loop_action,
                self.star_action,
                self.rename_action,
                self.delete_action,
                self.recall_action,
                self.export_action,
            ]
        )
        self.list.current_record_changed.connect(self.current_changed)
        self.detail.waveform.selection_changed.connect(self.selection_changed)
        self.player.position.connect(self._on_position)
        self.player.started.connect(self._on_playing)
        self.player.stopped.connect(self._on_playing)
        self.player.error.connect(self.message)
        self._layout()
        for key, step in ((Qt.Key.Key_Up, -1), (Qt.Key.Key_Down, 1)):
            shortcut = QShortcut(QKeySequence(key), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda s=step: self.list.move(s))
        self._show_current(None)

    def _make_actions(self) -> None:
        def action(name: str, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
            act = QAction(text, self, checkable=checkable)
            act.setObjectName(name)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            return act

        self.play_action = action("play", "Play", lambda: self.toggle_play(), Qt.Key.Key_Space)
        self.loop_action = action("loop", "Repeat playback", self._set_loop, checkable=True)
        self.star_action = action("star", "Star", lambda: self.toggle_star(), "S")
        self.rename_action = action("rename", "Rename…", lambda: self.rename_current(), Qt.Key.Key_F2)
        self.delete_action = action("delete", "Delete", lambda: self.delete_current(), QKeySequence.StandardKey.Delete)
        self.recall_action = action("recall", "Recall", self._recall, "Ctrl+R")
        self.export_action = action("export", "Export…", self._export, "Ctrl+E")
        self.reveal_action = action("reveal", "Show in folder", self._reveal)
        self.more_like_action = action("more_like", "More like this", self._more_like, "Ctrl+M")
        self.rank_action = action("rank", "Rank takes of this prompt by fit", self._rank)
        self.rank_action.setToolTip(
            "Score every take of the selected take's prompt by how well its sound fits the words (CLAP), best first"
        )
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.take_actions = [
            self.play_action,
            self.star_action,
            self.rename_action,
            self.delete_action,
            self.recall_action,
            self.export_action,
            self.reveal_action,
            self.more_like_action,
            self.rank_action,
        ]
        for act in (self.loop_action, *self.take_actions):
            act.setToolTip(ACTION_TIPS.get(act.objectName(), act.toolTip()))

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.starred_only)
        top.addWidget(self.by_sound)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(self.detail)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        self.splitter = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 8, 6, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        results = QHBoxLayout()
        results.addWidget(self.results, 1)
        results.addWidget(self.show_all)
        self.results_bar = QWidget()
        self.results_bar.setLayout(results)
        results.setContentsMargins(0, 0, 0, 0)
        self.results_bar.hide()
        layout.addWidget(self.results_bar)
        layout.addWidget(split, 1)

    def add_section(self, widget: QWidget) -> None:
        """Another part about the selected take, below its details (a feature's buttons, the explain panel)."""
        self.detail.add_section(widget)

    def clear_selection(self) -> None:
        """Drop the time selection on the waveform."""
        self.detail.waveform.clear_selection()

    def set_library(self, library: Library | None) -> None:
        self.player.stop()
        self.undo_stack.clear()
        self.library = library
        self.model.set_library(library)

    def current(self) -> TakeRecord | None:
        return self.list.current_record()

    def apply(self, change, reload: bool = False, select: int | None = None) -> TakeRecord | None:
        """Run `change(library)` and show its result; a SoundDeskError becomes a status message."""
        if self.library is None:
            return None
        try:
            record = change(self.library)
        except SoundDeskError as exc:
            self.message.emit(str(exc))
            return None
        if reload:
            self.model.reload()
            if select is not None:
                self.list.select_take(select)
        else:
            self.model.replace(record)
            if self.current() is not None and self.current().id == record.id:
                self._show_current(record)
        return record

    def added(self, records: list[TakeRecord]) -> None:
        """New takes were recorded: show them, the first one selected."""
        self.model.reload()
        if records:
            self.list.select_take(records[0].id)

    def arrived(self, records: list[TakeRecord], first: bool) -> None:
        """Takes of a run still going were recorded: list them; select the run's first, else keep the selection."""
        kept = self.current()
        self.model.reload()
        if first and records:
            self.list.select_take(records[0].id)
        elif kept is not None:
            self.list.select_take(kept.id)

    def show_selected(self) -> None:
        """Show the selected take (or none) in the details again, after a preview there was dropped."""
        self._show_current(self.current())

    def refresh_actions(self) -> None:
        """Play works on the preview of a take being generated as on a selected take."""
        live = self.live is not None and self.live.active
        self.play_action.setEnabled(live or self.current() is not None)

    def toggle_play(self) -> None:
        """Play / Stop, as a transport: whatever plays stops (whichever take is selected); else the selected take
        (or the take being generated, while its preview is shown) plays."""
        if self.player.is_playing():
            self.player.stop()
        elif self.live is not None and self.live.active:
            self.live.toggle_play()
        elif self.current() is not None:
            self._play(self.current())

    def audition(self, record: TakeRecord | None) -> None:
        """A take clicked or activated in a list: it plays (instead of what played), or stops if it played."""
        if record is None:
            return
        if self.player.is_playing(record.id):
            self.player.stop()
        else:
            self._play(record)

    def _play(self, record: TakeRecord) -> None:
        try:
            wav, rate = self.model.audio(record)
        except (OSError, RuntimeError) as exc:
            self.message.emit(f"Cannot read {record.wav_path}: {exc}.")
            return
        self._playing_name = f"“{record.name}”"
        # a loop take always plays as a loop: the callback wraps from its last sample to its first
        self.player.play(record.id, wav, rate, loop=self.loop_action.isChecked() or is_loop(record.extra))

    def _set_loop(self, loop: bool) -> None:
        self.player.set_loop(loop)

    def toggle_star(self) -> None:
        record = self.current()
        if record is not None:
            self.apply(lambda library: library.set_starred(record.id, not record.starred))

    def rename_current(self, name: str | None = None) -> None:
        record = self.current()
        if record is None:
            return
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename take", "Name:", text=record.name)
            if not ok:
                return
        self.apply(lambda library: library.rename(record.id, name))

    def delete_current(self) -> None:
        record = self.current()
        if record is None:
            return
        if self.player.is_playing(record.id):
            self.player.stop()
        self.undo_stack.push(DeleteTake(self, record))
        self.message.emit(f"Moved “{record.name}” to the trash (Ctrl+Z brings it back).")

    def _recall(self) -> None:
        if self.current() is not None:
            self.recall_requested.emit(self.current())

    def _export(self) -> None:
        if self.current() is not None:
            self.export_requested.emit(self.current())

    def _reveal(self) -> None:
        record = self.current()
        if record is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(record.wav_path.parent)))

    def _filter(self) -> None:
        if self.by_sound.isChecked():
            return  # by sound: Enter starts a ranking (a CLAP job), typing alone does not filter
        self.model.set_filter(self.search.text(), self.starred_only.isChecked())

    def _by_sound_toggled(self, on: bool) -> None:
        placeholder = "Describe the sound, then Enter…" if on else "Search prompts and names…"
        self.search.setPlaceholderText(placeholder)
        if on:
            self.sound_search_opened.emit()
            self._search_by_sound()
        else:
            self._filter()

    def _search_by_sound(self) -> None:
        if self.by_sound.isChecked() and self.search.text().strip():
            self.sound_search_requested.emit(self.search.text().strip())

    def show_ranked(self, title: str, ranked: list) -> None:
        """Show search-by-sound results, best first, each row with its place; takes not indexed come last."""
        self.model.show_ranked(ranked, title)
        if ranked:
            self.list.select_take(ranked[0][0].id)

    def _after_reload(self) -> None:
        record = self.current()
        self.detail.set_match(self.model.match_words(record) if record is not None else None)
        self._show_results_bar()

    def _show_results_bar(self) -> None:
        """Above the list while ranked rows are shown: what they answer and how many could not be ranked."""
        model = self.model
        if not model.ranked:
            self.results_bar.hide()
            return
        unranked = model.unranked()
        text = f"<b>{html.escape(model.title)}</b>: {model.rowCount() - unranked} take(s), closest first"
        if unranked:
            text += f"; {unranked} not indexed yet, listed last without a place (Take ▸ Index the library)"
        self.results.setText(text)
        self.results_bar.show()

    def _show_all(self) -> None:
        """Leave the ranked rows: back to the plain list (the search box's words filter it again)."""
        self.by_sound.blockSignals(True)
        self.by_sound.setChecked(False)
        self.by_sound.blockSignals(False)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.search.setPlaceholderText("Search prompts and names…")
        self.model.set_filter("", self.starred_only.isChecked())

    def _more_like(self) -> None:
        record = self.current()
        if record is None:
            return
        self.search.blockSignals(True)  # the box no longer holds the query these rows answer
        self.search.clear()
        self.search.blockSignals(False)
        self.search.setPlaceholderText(f"More like “{record.name}”: type to search again…")
        self.more_like_requested.emit(record)

    def _rank(self) -> None:
        if self.current() is not None:
            self.rank_requested.emit(self.current())

    def _show_current(self, record: TakeRecord | None) -> None:
        for act in self.take_actions:
            act.setEnabled(record is not None)
        self.export_action.setEnabled(record is not None)
        wav = None
        if record is not None:
            try:
                wav, _ = self.model.audio(record)
            except (OSError, RuntimeError) as exc:
                self.message.emit(f"Cannot read {record.wav_path}: {exc}.")
        self.detail.show_record(record, wav, self.model.match_words(record) if record is not None else None)
        self.refresh_actions()
        self.star_action.setText("Unstar" if record is not None and record.starred else "Star")
        self._on_playing(None)

    def _on_position(self, key: object, seconds: float) -> None:
        record = self.current()
        if record is not None and key == record.id:
            self.detail.set_playhead(seconds)

    def _on_playing(self, _key: object) -> None:
        """Play says what Space will do: Stop (naming what plays) while anything plays, whichever take is
        selected; the list marks the playing take."""
        playing = self.player.playing_key
        take_id = playing if isinstance(playing, int) else None
        if playing is not None and take_id is None:
            self._playing_name = "the take being generated"  # the preview's key
        self.list.set_playing(take_id)
        self.show_playing()
        if playing is None:
            self.detail.set_playhead(0.0)
        self.playing_changed.emit(take_id, self.playing_text())

    def playing_text(self) -> str:
        """What plays, in words ("" when nothing does)."""
        return f"Playing {self._playing_name or 'a take'}" if self.player.is_playing() else ""

    def apply_icons(self) -> None:
        """The take actions' icons in the current theme's colour (again after a theme change)."""
        actions = (self.loop_action, self.star_action, self.rename_action, self.delete_action, self.recall_action)
        for action in (*actions, self.export_action):
            action.setIcon(theme.icon(action.objectName()))  # each action is named as its icon
        self.show_playing()  # Play / Stop

    def show_playing(self) -> None:
        """The Play action's text, icon and tooltip for what the player does now."""
        playing = self.player.is_playing()
        self.play_action.setText("Stop" if playing else "Play")
        self.play_action.setIcon(theme.icon("stop" if playing else "play"))
        what = self._playing_name or "what plays"
        self.play_action.setToolTip(f"Stop {what} (Space)" if playing else PLAY_TIP)

    def save_state(self, settings: QSettings) -> None:
        settings.setValue("splitter", self.splitter.saveState())
        settings.setValue("loop", self.loop_action.isChecked())
        settings.setValue("spectrogram", self.detail.spectrogram.isChecked())

    def restore_state(self, settings: QSettings) -> None:
        restore_bytes(settings, "splitter", self.splitter.restoreState)
        self.loop_action.setChecked(read_bool(settings, "loop", False))
        self.detail.spectrogram.setChecked(read_bool(settings, "spectrogram", False))

"""The application's services: one job queue and engine, the player, the take library, the preferences, messages.

The app creates one AppServices (desktop.app) and hands it to the window, which hands it to each feature: a
feature queues its jobs on `queue` with `engine`, records takes in `library`, reads `preferences` and says what
happened through `message` / `error`. Opening the library (at once, or on a LibraryOpener's thread while another
program keeps it locked) lives here too, so that every feature sees the same Library.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QSettings, Signal

from core.errors import SoundDeskError
from core.models import hub
from core.takes.history_db import LibraryBusyError
from core.takes.library import Library
from desktop.jobs.engine import EngineHolder
from desktop.jobs.queue import JobQueue
from desktop.playback import Player
from desktop.services.library_opener import LibraryOpener, open_now
from desktop.settings import Preferences


class AppServices(QObject):
    """What every part of the window shares; its signals are emitted on the GUI thread."""

    message = Signal(str)  # a status line
    error = Signal(str)  # a readable sentence for the error dialog
    waiting = Signal(str)  # a status line that stays until the library opens
    library_opened = Signal(object)  # the Library in use from now on
    library_unavailable = Signal(str, bool)  # why the library is not open, and whether it opens later by itself

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.preferences = Preferences.load(self.settings)
        self.engine = EngineHolder()
        self.queue = JobQueue(self)
        self.player = Player(self)
        self.library: Library | None = None
        self.library_opener: LibraryOpener | None = None  # while another program keeps the library locked

    def library_dir(self) -> Path:
        return self.preferences.library_dir

    def open_library(self, folder: Path) -> None:
        """Open the library folder: at once, or (another program holds its lock) on a LibraryOpener's thread
        while the window stays usable and the status line says what it waits for."""
        self.stop_opening()
        try:
            library = open_now(folder)
        except LibraryBusyError:
            self._wait_for_library(Path(folder))
            return
        except SoundDeskError as exc:
            if self.library is None:
                self.library_unavailable.emit(str(exc), False)
            self.error.emit(str(exc))
            return
        self._use_library(library, Path(folder))

    def _wait_for_library(self, folder: Path) -> None:
        waiting = (
            f"Waiting for the take library in {folder}: another program (a SoundDesk window or command, a backup "
            "tool) keeps its history locked. You can generate meanwhile; the takes are listed once it opens."
        )
        if self.library is None:
            self.library_unavailable.emit(waiting, True)
        self.waiting.emit(waiting)
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
            self.library_unavailable.emit(message, False)
        self.error.emit(message)

    def stop_opening(self) -> None:
        if self.library_opener is not None:
            self.library_opener.stop()
            self.library_opener = None

    def _use_library(self, library: Library, folder: Path, waited: bool = False) -> None:
        if self.library is not None:
            self.library.close()
        self.library = library
        self.preferences.library_dir = Path(folder)
        notes = [f"Recorded {library.adopted} take(s) found in {folder} without a history entry."] * bool(
            library.adopted
        )
        if library.damaged:
            notes.append(f"Skipped {len(library.damaged)} damaged history row(s): {library.damaged[0]}.")
        if waited:
            notes.insert(0, f"Opened the take library in {folder}.")
        if notes:
            self.message.emit(" ".join(notes))
        self.library_opened.emit(library)

    def apply_preferences(self, preferences: Preferences, initial: bool = False) -> None:
        """Use and save `preferences`: another library folder (not while a job runs: the error says so), the audio
        output, working offline (`initial`: at start, where only an offline preference changes anything)."""
        if preferences.library_dir != self.preferences.library_dir:
            if self.queue.busy:
                self.error.emit("Change the library folder once the running jobs have finished.")
                preferences.library_dir = self.preferences.library_dir
            else:
                self.open_library(preferences.library_dir)
        self.player.set_device(preferences.output_device or None)
        if preferences.offline or not initial:
            hub.set_offline(preferences.offline)
        preferences.offline = hub.is_offline()
        self.preferences = preferences
        preferences.save(self.settings)

    def close(self) -> None:
        """Stop playing and opening, cancel and wait for the worker (never terminate it), close the library."""
        self.player.stop()
        self.stop_opening()
        self.queue.shutdown()
        QCoreApplication.sendPostedEvents()  # a job that finished just before the cancel is still recorded
        if self.library is not None:
            self.library.close()
            self.library = None

"""Search by sound in the window: queues CLAP jobs (embed a query or a take, index the library) and ranks the
library with their answers on the GUI thread, where the library's connection lives.

Each job's answer goes to the callback of whoever asked (the job's on_finished).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.clap.loading import SEARCH_CLAP
from core.clap.search import hits_for_vector
from core.takes.library import Library, TakeRecord
from desktop.generate.clap_tasks import embed_query_task, embed_take_task, index_task
from desktop.jobs.queue import Job

TOP = 50


class SoundSearch(QObject):
    """Text-to-sound search, "more like this" and the "index the library" job for one window."""

    ranked = Signal(str, list)  # title, [(TakeRecord, score)] best first
    message = Signal(str)

    def __init__(self, controller: Any, library: Callable[[], Library | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._library = library
        self._on_cancel: dict[Job, Callable[[], None]] = {}  # what to say when one of these jobs is cancelled
        queue = controller.queue
        queue.failed.connect(lambda job, _message: self._on_cancel.pop(job, None))  # the controller shows it
        queue.cancelled.connect(self._on_cancelled)

    def search_text(self, query: str) -> Job | None:
        """Rank the library by how well each take's sound matches `query`."""
        query = query.strip()
        if not query or self._library() is None:
            return None
        task = embed_query_task(self.controller.engine, query)
        return self._submit(f"search by sound “{query}”", task, lambda v: self._show(f"Sounds like “{query}”", v))

    def more_like(self, record: TakeRecord) -> Job | None:
        """Rank the library by how much each take sounds like `record` (the take itself left out)."""
        library = self._library()
        if library is None:
            return None
        title = f"More like “{record.name}”"
        vector = library.embeddings.get(record.id, SEARCH_CLAP)
        if vector is not None:
            self._show(title, vector, cosine=True, exclude=record.id)
            return None

        def done(vector) -> None:
            current = self._library()
            if current is not None:
                current.embeddings.put(record.id, SEARCH_CLAP, vector)
                self._show(title, vector, cosine=True, exclude=record.id)

        return self._submit(f"embed “{record.name}”", embed_take_task(self.controller.engine, record.wav_path), done)

    def index_library(self) -> Job | None:
        """Queue the resumable job that embeds every take of the library that has none yet."""
        library = self._library()
        if library is None:
            return None
        missing = len(library.embeddings.missing(SEARCH_CLAP))
        if missing == 0:
            self.message.emit("Every take of the library is indexed for search by sound.")
            return None
        folder = library.folder

        def stopped() -> None:
            self.message.emit("Indexing stopped; what was indexed is kept, and indexing again goes on from there.")

        def done(result: tuple[int, list[str]]) -> None:
            count, skipped = result
            left_out = f" {len(skipped)} take(s) could not be indexed: {skipped[0]}." if skipped else ""
            self.message.emit(f"Indexed {count} take(s) for search by sound.{left_out}")

        return self._submit(
            f"index the library ({missing} takes)", index_task(self.controller.engine, folder), done, stopped
        )

    def _submit(self, title: str, task, callback, on_cancel=None) -> Job:
        job = Job(title, task)
        job.on_finished = lambda result: (self._on_cancel.pop(job, None), callback(result))
        if on_cancel is not None:
            self._on_cancel[job] = on_cancel
        return self.controller.queue.submit(job)

    def _on_cancelled(self, job: Job) -> None:
        on_cancel = self._on_cancel.pop(job, None)
        if on_cancel is not None:
            on_cancel()

    def _show(self, title: str, vector, cosine: bool = False, exclude: int | None = None) -> None:
        library = self._library()
        if library is None:
            return
        hits = hits_for_vector(library, SEARCH_CLAP, vector, TOP, cosine=cosine, exclude=exclude)
        missing = len(library.embeddings.missing(SEARCH_CLAP))
        note = f" ({missing} take(s) not indexed yet: Take ▸ Index the library)" if missing else ""
        self.ranked.emit(title, [(hit.record, hit.score) for hit in hits])
        self.message.emit(f"{title}: {len(hits)} take(s), best first{note}.")

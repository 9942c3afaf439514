"""Search by sound in the window: queues CLAP jobs (embed a query or a take, index the library, score a
prompt's takes) and ranks the library with their answers on the GUI thread, where the library's connection lives.

Takes made while ranking was off have no embedding yet: the first search by sound (or ticking "by sound") queues
the indexing job before it, so they are ranked too; any still not indexed (indexing cancelled, an unreadable
file) are listed after the ranked ones, marked as such, never left out. Each job's answer goes to the callback
of whoever asked (the job's on_finished).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from core.clap.loading import SEARCH_CLAP
from core.clap.ranking import TEXT_MATCH
from core.clap.search import hits_for_vector
from core.takes.library import TakeRecord
from desktop.generate.clap_tasks import embed_query_task, embed_take_task, index_task, rank_files_task
from desktop.jobs.queue import Job
from desktop.services.app import AppServices
from desktop.takes.panel import TakesPanel

TOP = 50


class SoundSearch(QObject):
    """Text-to-sound search, "more like this" and the "index the library" job for one window."""

    ranked = Signal(str, list)  # title, [(TakeRecord, score)] best first, then [(TakeRecord, None)] not indexed
    scored = Signal(list)  # [TakeRecord] of one prompt, just scored by how well they fit it, best first
    message = Signal(str)

    def __init__(self, services: AppServices, takes: TakesPanel, parent: QObject | None = None) -> None:
        """Answers the takes panel's searches ("by sound", "More like this", "Rank takes of this prompt")."""
        super().__init__(parent)
        self.queue, self.engine = services.queue, services.engine
        self._library = lambda: services.library
        self._on_cancel: dict[Job, Callable[[], None]] = {}  # what to say when one of these jobs is cancelled
        self._index_job: Job | None = None
        takes.sound_search_requested.connect(self.search_text)
        takes.more_like_requested.connect(self.more_like)
        takes.rank_requested.connect(self.rank_prompt)
        takes.sound_search_opened.connect(self.index_first)
        self.ranked.connect(takes.show_ranked)
        self.scored.connect(takes.added)
        queue = self.queue
        queue.failed.connect(lambda job, _message: self._on_cancel.pop(job, None))  # the controller shows it
        queue.cancelled.connect(self._on_cancelled)

    def search_text(self, query: str) -> Job | None:
        """Rank the library by how well each take's sound matches `query`."""
        query = query.strip()
        if not query or self._library() is None:
            return None
        self.index_first()
        task = embed_query_task(self.engine, query)
        return self._submit(f"search by sound “{query}”", task, lambda v: self._show(f"Sounds like “{query}”", v))

    def more_like(self, record: TakeRecord, index_first: bool = True) -> Job | None:
        """Rank the library by how much each take sounds like `record` (the take itself left out)."""
        library = self._library()
        if library is None:
            return None
        title = f"More like “{record.name}”"
        if index_first and self.index_first():  # rank once the takes without an embedding have one
            return self._submit(title, _after_queued, lambda _none: self.more_like(record, index_first=False))
        vector = library.embeddings.get(record.id, SEARCH_CLAP)
        if vector is not None:
            self._show(title, vector, cosine=True, exclude=record.id)
            return None

        def done(vector) -> None:
            current = self._library()
            if current is not None:
                current.embeddings.put(record.id, SEARCH_CLAP, vector)
                self._show(title, vector, cosine=True, exclude=record.id)

        return self._submit(f"embed “{record.name}”", embed_take_task(self.engine, record.wav_path), done)

    def index_first(self) -> bool:
        """Queue indexing if some takes have no embedding and it is not queued already; True if it is queued."""
        if self._index_job is not None and self._index_job in self.queue.jobs():
            return True
        self._index_job = self.index_library(quiet=True)
        return self._index_job is not None

    def index_library(self, quiet: bool = False) -> Job | None:
        """Queue the resumable job that embeds every take of the library that has none yet."""
        library = self._library()
        if library is None:
            return None
        missing = len(library.embeddings.missing(SEARCH_CLAP))
        if missing == 0:
            if not quiet:
                self.message.emit("Every take of the library is indexed for search by sound.")
            return None
        folder = library.folder

        def stopped() -> None:
            self.message.emit("Indexing stopped; what was indexed is kept, and indexing again goes on from there.")

        def done(result: tuple[int, list[str]]) -> None:
            count, skipped = result
            left_out = f" {len(skipped)} take(s) could not be indexed: {skipped[0]}." if skipped else ""
            self.message.emit(f"Indexed {count} take(s) for search by sound.{left_out}")

        return self._submit(f"index the library ({missing} takes)", index_task(self.engine, folder), done, stopped)

    def _submit(self, title: str, task, callback, on_cancel=None) -> Job:
        job = Job(title, task)
        job.on_finished = lambda result: (self._on_cancel.pop(job, None), callback(result))
        if on_cancel is not None:
            self._on_cancel[job] = on_cancel
        return self.queue.submit(job)

    def _on_cancelled(self, job: Job) -> None:
        on_cancel = self._on_cancel.pop(job, None)
        if on_cancel is not None:
            on_cancel()

    def rank_prompt(self, record: TakeRecord) -> Job | None:
        """Score every take of `record`'s prompt by how well its sound fits the words (CLAP text match)."""
        library = self._library()
        if library is None:
            return None
        takes = [r for r in library.search(record.prompt) if r.prompt == record.prompt]
        ids = [r.id for r in takes]

        def done(scored: list) -> None:
            current = self._library()
            if current is None:
                return
            records = [current.set_extra(ids[s.index], TEXT_MATCH, round(s.score, 6)) for s in scored]
            self.scored.emit(records)
            self.message.emit(
                f"Scored {len(records)} take(s) of “{record.prompt}” by how well they fit it: best first."
            )

        task = rank_files_task(self.engine, [r.sidecar_path for r in takes])
        return self._submit(f"score the takes of “{record.prompt}”", task, done)

    def _show(self, title: str, vector, cosine: bool = False, exclude: int | None = None) -> None:
        library = self._library()
        if library is None:
            return
        hits = hits_for_vector(library, SEARCH_CLAP, vector, TOP, cosine=cosine, exclude=exclude)
        unranked = []
        for take_id in library.embeddings.missing(SEARCH_CLAP):
            try:
                unranked.append(library.get(take_id))
            except KeyError:  # removed by another connection meanwhile
                continue
        unranked = [(record, None) for record in unranked if record.id != exclude]
        note = f"; {len(unranked)} not indexed yet, listed last" if unranked else ""
        self.ranked.emit(title, [(hit.record, hit.score) for hit in hits] + unranked)
        self.message.emit(f"{title}: {len(hits)} take(s), closest first{note}.")


def _after_queued(report, cancel) -> None:
    """A job that does nothing: its callback runs once the jobs queued before it have ended."""

"""The generation controller: turns Generate clicks into queued jobs and job results into library takes.

It queues on the app's JobQueue with its EngineHolder (desktop.services); results are recorded in the Library
on the GUI thread (the worker has already written the files), each take once. Progress becomes "step n of N, m s left".
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.errors import SoundDeskError
from core.takes.history_db import LibraryBusyError
from core.takes.library import Library, TakeRecord
from desktop.generate.model_picker import ModelInfo
from desktop.generate.pending import PendingTakes
from desktop.generate.tasks import (
    GenerationResult,
    GenerationSpec,
    Written,
    generation_task,
    load_task,
    start_engine_task,
)
from desktop.jobs.queue import Job, short_prompt
from desktop.services.app import AppServices

STAGE_NAMES = {
    "start": "Starting the engine",
    "download": "Downloading",
    "load": "Loading",
    "generate": "Generating",
    "rank": "Scoring takes (CLAP)",
    "clap": "Fetching CLAP files",
    "index": "Indexing the library",
}


def model_name(ref: str) -> str:
    """The last part of a model reference: a catalog name or a folder's name."""
    return ref.rstrip("/").split("/")[-1]


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


def format_bytes(count: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


ETA_MIN_STEPS = 3
"""Steps measured before a time left is shown: a stage's first steps are slower (the model warms up)."""
ETA_WINDOW_S = 3.0
"""The step rate is measured over the last seconds of steps, not from the stage's start: a slow start (warm-up,
a first window of a long take) would otherwise count in every later estimate (26 s said, 2 s to go)."""


class _Rate:
    """Time-left estimate for one stage from its measured step rate over the last ETA_WINDOW_S seconds."""

    def __init__(self) -> None:
        self.stage = ""
        self.marks: deque[tuple[float, int]] = deque()  # (time, step) of the reports in the window

    def eta(self, stage: str, step: int, total: int) -> float | None:
        now = time.monotonic()
        if stage != self.stage or step <= 0 or (self.marks and step < self.marks[-1][1]):  # a new stage or pass
            self.stage = stage
            self.marks.clear()
        self.marks.append((now, step))
        while len(self.marks) > ETA_MIN_STEPS + 1 and now - self.marks[1][0] >= ETA_WINDOW_S:
            self.marks.popleft()
        since, first = self.marks[0]
        steps = step - first
        if total <= 0 or steps < ETA_MIN_STEPS or now - since < 0.2:
            return None
        return (total - step) * (now - since) / steps


def _completed(library: Library, record: TakeRecord, take, embedding) -> TakeRecord:
    """A take listed while its run went on, with what the run learnt since (its CLAP score in `extra`, its search
    vector); its row is not written again, so a rename or star made meanwhile stays."""
    for key, value in take.extra.items():
        if record.extra.get(key) != value:
            record = library.set_extra(record.id, key, value)
    if embedding is not None:
        library.embeddings.put(record.id, *embedding)
    return library.get(record.id)


class GenerationController(QObject):
    """Queues load and generation jobs; all its signals are emitted on the GUI thread."""

    progress = Signal(str, int, int, str)  # stage, step, total, text for the progress bar
    status = Signal(str)  # one line for the status bar
    error = Signal(str)  # one readable sentence (a failed job)
    takes_added = Signal(list)  # [TakeRecord] of a finished run (best first when ranked)
    takes_arrived = Signal(list, bool)  # [TakeRecord] just written while the run goes on; True: its first ones
    model_loaded = Signal(object)  # ModelInfo
    busy_changed = Signal(bool)
    queue_changed = Signal()
    preview_started = Signal(object)  # GenerationSpec of the job whose audio will arrive in chunks
    preview_chunk = Signal(int, object, int, bool)  # variation, samples [C, n], rate, last (queued from the worker)
    preview_ended = Signal(bool)  # True: its takes were recorded; False: cancelled or failed, nothing kept
    _written = Signal(object, object)  # Job, Written: emitted on the worker thread, handled here (queued)

    def __init__(self, services: AppServices, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = lambda: services.library
        self.engine, self.queue = services.engine, services.queue
        self.queue.started.connect(self._on_started)
        self.queue.progress.connect(self._on_progress)
        self.queue.failed.connect(self._on_failed)
        self.queue.cancelled.connect(self._on_cancelled)
        self.queue.changed.connect(self._on_changed)
        self._written.connect(self._on_written)
        self._rate = _Rate()
        self._busy = False
        self._loads: dict[str, Job] = {}  # model ref -> its queued or running load job
        self._previews: dict[Job, GenerationSpec] = {}  # generation jobs that hand out audio while they run
        self._listed: dict[Job, dict[Path, TakeRecord]] = {}  # running generation jobs -> takes listed, by sidecar
        self._no_library: tuple[str, bool] | None = None  # why the library is not open, and whether it opens later
        self.pending = PendingTakes(self._library, self)  # takes a locked library could not record yet
        self.pending.recorded.connect(self._on_recorded_late)
        services.library_unavailable.connect(self.library_unavailable)

    def library_unavailable(self, reason: str, opening: bool) -> None:
        """The window's library is not open: a sentence why, and whether it is `opening` (waiting for another
        program's lock: takes made meanwhile are recorded once it opens) or could not be opened at all."""
        self._no_library = (reason, opening)

    def library_available(self) -> None:
        """The library is open (again): record what waited for it."""
        self._no_library = None
        self.pending.retry()

    @property
    def busy(self) -> bool:
        return self.queue.busy

    def generate(self, spec: GenerationSpec) -> Job:
        words = short_prompt(spec.prompt, 40)
        count = f" ×{spec.count}" if spec.count > 1 else ""
        title = f"“{words}”{count} · {model_name(spec.ref)} · seed {spec.seed}"
        sink = self.preview_chunk.emit if spec.preview else None  # emitted on the worker thread: queued
        on_written = lambda written: self._written.emit(job, written)  # noqa: E731 (job is bound before it runs)
        job = Job(title, generation_task(self.engine, spec, sink, on_written), subject=spec.ref)
        job.on_finished = lambda result: self._record_takes(job, result)
        if spec.preview:
            self._previews[job] = spec
        waits = self.loading(spec.ref)
        self.queue.submit(job)
        if waits:
            self.status.emit(f"Generate waits for {model_name(spec.ref)} to finish loading, then starts by itself.")
        return job

    def load(self, ref: str, precision: str | None = None, ahead: bool = False) -> Job | None:
        """Load `ref` in the background (unless it is loaded already or already queued); `ahead`: before it is
        asked for (at start), so the status line says when it is ready to generate."""
        if self.engine.is_loaded(ref) or self.loading(ref):
            return None
        name = model_name(ref)
        started = time.monotonic()
        done = (lambda info: self._loaded(info, time.monotonic() - started)) if ahead else self._loaded
        job = self._loads[ref] = Job(f"load {name}", load_task(self.engine, ref, precision), done, subject=ref)
        self.queue.submit(job)
        if ahead:
            self.status.emit(f"Loading {name}, the model you used last…")
        return job

    def loading(self, ref: str) -> bool:
        """A load of `ref` is queued or running."""
        return self._loads.get(ref) in self.queue.jobs()

    def start_engine(self) -> Job | None:
        """Import torch and build the Engine in the background (at start-up, while the user reads the window)."""
        if self.engine.started:
            return None
        ready = lambda _result: self.status.emit("Engine ready.")  # noqa: E731
        return self.queue.submit(Job("start the engine", start_engine_task(self.engine), ready))

    def cancel(self) -> None:
        self.queue.cancel_current()

    def unload_models(self) -> int:
        """Free every loaded model (only while idle); returns how many were freed."""
        if self.busy:
            return 0
        count = len(self.engine.loaded())
        self.engine.unload()
        self.status.emit(f"Freed {count} loaded model(s)." if count else "No model was loaded.")
        return count

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        return self.queue.shutdown(timeout_ms)

    def _on_started(self, job: Job) -> None:
        self._rate = _Rate()
        if job in self._previews:
            self.preview_started.emit(self._previews[job])
        self.progress.emit("", 0, 0, f"{job.title}: starting…")
        self.status.emit(f"Running: {job.title}")

    def _on_progress(self, job: Job, stage: str, step: int, total: int) -> None:
        eta = self._rate.eta(stage, step, total)
        name = STAGE_NAMES.get(stage, stage.capitalize())
        if stage == "download":
            text = f"{name} {format_bytes(step)} of {format_bytes(total)}"
        elif stage == "start":
            text = f"{name}…"
        elif stage == "load":
            text = f"{name} {job.subject}…"
            if job is self._loads.get(job.subject) and any(j.subject == job.subject for j in self.queue.pending):
                text = f"{name} {model_name(job.subject)}, then Generate starts…"
        else:
            text = f"{name}: step {step} of {total}"
        if eta is not None:
            text += f", {format_eta(eta)} left"
        self.progress.emit(stage, step, total, text)

    def _loaded(self, info: ModelInfo, ahead_s: float | None = None) -> None:
        self.model_loaded.emit(info)
        if ahead_s is None:
            self.status.emit(f"Loaded {info.ref}.")
        else:
            self.status.emit(f"{model_name(info.ref)} is ready to generate (loaded in {ahead_s:.1f} s).")

    def _on_written(self, job: Job, written: Written) -> None:
        """List a take as soon as its files exist (its batch ended); the run's end adds only what it learnt since
        (its CLAP score and search vector)."""
        library = self._library()
        if library is None:
            return
        try:
            record = library.add(*written, wait_s=0)
        except SoundDeskError:  # a locked library: the run's end records it (or says why not)
            return
        listed = self._listed.setdefault(job, {})
        listed[written[1].sidecar] = record
        self.takes_arrived.emit([record], len(listed) == 1)

    def _record_takes(self, job: Job, result: GenerationResult) -> None:
        listed = self._listed.pop(job, {})
        self.model_loaded.emit(result.model)
        library = self._library()
        embeddings = result.embeddings or [None] * len(result.takes)
        items = [(*written, embedding) for written, embedding in zip(result.takes, embeddings, strict=True)]
        if library is None:
            self._end_preview(job, True)
            self._unlisted(items)
            return
        records = self._add_all(library, items, listed)
        if not records and items:
            return
        self._end_preview(job, True)
        self.takes_added.emit([record for record in records if not record.deleted])  # deleted while the run went on
        if result.cancelled:
            self.status.emit(f"Cancelled {job.title}; kept the {len(result.takes)} finished take(s).")
        else:
            ranked = ", best match first" if result.ranked and len(result.takes) > 1 else ""
            notice = f" {result.notice}" if result.notice else ""
            took = f"{result.elapsed_s:.1f} s{ranked}"
            self.status.emit(f"Generated {len(result.takes)} take(s) in {took}: {job.title}{notice}")

    def _add_all(self, library: Library, items: list, listed: dict[Path, TakeRecord]) -> list[TakeRecord]:
        """Record the run's takes (of those `listed` already, only what is new); what a lock holds up is retried
        (PendingTakes) and said in one sentence."""
        records: list[TakeRecord] = []
        for i, (take, files, created, embedding) in enumerate(items):
            try:
                if files.sidecar in listed:
                    records.append(_completed(library, listed[files.sidecar], take, embedding))
                else:
                    records.append(library.add(take, files, created, embedding=embedding))
            except LibraryBusyError as exc:
                self.pending.add(items[i:])
                self.error.emit(
                    f"{exc} The take files are kept in the library folder, and they will be listed as soon as "
                    "the library is free again."
                )
                break
            except SoundDeskError as exc:
                self.error.emit(f"{exc} The take files are kept in the library folder and will be listed next time.")
                break
        return records

    def _unlisted(self, items: list) -> None:
        """A run ended while the window has no open library: its files are kept; say where, and why not listed."""
        if not items:
            return
        reason, opening = self._no_library or ("The take library is not open.", False)
        folder = items[0][1].wav.parent
        if opening:
            self.pending.add(items)
            self.status.emit(f"Generated {len(items)} take(s) into {folder}; they are listed once the library opens.")
            return
        self.error.emit(f"{reason} The {len(items)} new take(s) could not be listed; their files are kept in {folder}.")
        self.status.emit(f"Kept {len(items)} take(s) as files in {folder}, not listed: the library is not open.")

    def _on_recorded_late(self, records: list[TakeRecord]) -> None:
        self.takes_added.emit(records)
        self.status.emit(f"Recorded {len(records)} take(s) that waited for the library.")

    def _end_preview(self, job: Job | None, kept: bool) -> None:
        if self._previews.pop(job, None) is not None:
            self.preview_ended.emit(kept)

    def _on_failed(self, job: Job, message: str) -> None:
        self._listed.pop(job, None)
        self._end_preview(job, False)
        self.status.emit(f"Failed: {job.title}")
        self.error.emit(message)

    def _on_cancelled(self, job: Job) -> None:
        self._listed.pop(job, None)
        self._end_preview(job, False)
        self.status.emit(f"Cancelled {job.title}; nothing was kept.")

    def _on_changed(self) -> None:
        busy = self.queue.busy
        if busy != self._busy:
            self._busy = busy
            if not busy:
                self.progress.emit("", 0, 0, "Idle")
            self.busy_changed.emit(busy)
        self.queue_changed.emit()

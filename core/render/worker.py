"""Rendering one take wherever a worker runs (this process, a worker process, a Ray actor): job in, file bytes out.

The worker never writes into the output folder: it returns the three files' bytes (exactly what `save_take`
would write) and the driver commits them atomically, so only one process ever writes there. A problem a row
can cause (a model that is missing, a parameter the model rejects, running out of memory) comes back as a
`TakeFailure` with a sentence; only a cancel escapes as GenerationCancelled.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from core.cancel import CancelToken, Progress
from core.errors import GenerationCancelled, SoundDeskError
from core.render.plan import KEY_FIELD, TakeJob
from core.takes.audio_io import shorten

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TakeResult:
    job_id: int
    files: dict[str, bytes]  # suffix -> bytes (core.takes.take.TAKE_SUFFIXES)
    elapsed_s: float
    worker: str = ""


@dataclass(frozen=True)
class TakeFailure:
    job_id: int
    reason: str
    worker: str = ""


Outcome = TakeResult | TakeFailure


def default_threads(workers: int) -> int:
    """torch threads per take when a render does not name them: this process's threads shared among `workers`.

    A local render fixes its thread count when it starts, from `--workers` alone (never from how many takes are
    left), because torch sums in another order with another thread count: takes made with the same count are
    identical bit for bit, so a resumed render matches an uninterrupted one. In this process (1 worker) that is
    `generate`'s own count, so a rendered take equals the take `generate` writes for the same row.
    """
    import torch

    return max(1, torch.get_num_threads() // max(1, workers))


def threads_label(threads: int) -> str:
    return f"{threads} torch thread{'s' if threads != 1 else ''} per take"


@contextmanager
def take_threads(threads: int) -> Iterator[None]:
    """Run torch with `threads` threads inside, as before outside (the window shares its process with a render)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class TakeRenderer:
    """Owns an Engine (each model loaded once, on first use) and renders jobs one at a time."""

    def __init__(self, device: str = "cpu", engine=None, name: str = "") -> None:
        self.device, self.name = device, name or f"pid {os.getpid()}"
        self._engines = {} if engine is None else {engine.precision: engine}  # one Engine per precision

    def engine(self, precision: str = "auto"):
        if precision not in self._engines:
            from core.engine import Engine  # torch: only where takes are made

            self._engines[precision] = Engine(device=self.device, precision=precision)
        return self._engines[precision]

    def render(self, job: TakeJob, progress: Progress | None = None, cancel: CancelToken | None = None) -> Outcome:
        try:
            return self._render(job, progress, cancel)
        except GenerationCancelled:
            raise
        except SoundDeskError as exc:
            return TakeFailure(job.id, str(exc), self.name)
        except MemoryError:
            return TakeFailure(job.id, "Out of memory: try a shorter duration or a smaller model.", self.name)
        except Exception as exc:  # noqa: BLE001 - one broken row must not stop the others
            log.exception("rendering line %s failed", job.line)
            return TakeFailure(job.id, f"Unexpected error ({type(exc).__name__}: {exc}).", self.name)

    def _render(self, job: TakeJob, progress: Progress | None, cancel: CancelToken | None) -> TakeResult:
        from core.checks import check_duration, check_options_apply
        from core.engine import GenerationRequest
        from core.takes.take import take_file_bytes

        model = self.engine(job.precision).load(job.model, cancel=cancel)
        melody = shorten(job.melody, model.max_duration) if job.melody is not None else None
        check_options_apply(model, set(job.given))  # the checks `generate` makes once the model is known
        params = model.default_params.replace(**job.changes)
        check_duration(model, params)
        request = GenerationRequest(
            job.prompt,
            params,
            job.seed,
            melody=melody,
            separate_melody=job.separate_melody,
            continuation=job.continuation,
        )
        take = model.generate(request, progress, cancel)
        take.extra[KEY_FIELD] = job.key
        return TakeResult(job.id, take_file_bytes(take, job.stem), float(take.extra.get("elapsed_s", 0.0)), self.name)

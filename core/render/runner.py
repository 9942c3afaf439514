"""The render driver: plan a checked manifest, hand the takes to a backend, commit each result, write the report.

Only the driver writes into the output folder: each take's three files arrive as bytes and are committed with
core.takes.atomic (all three or none, sidecar last), so a kill at any moment leaves whole takes plus temporary
files that the next run's plan removes. The report is rewritten at the end, also after a cancel or an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from core.cancel import CancelToken
from core.checks import check_output
from core.errors import ExportError, GenerationCancelled, InvalidParameterError
from core.render.backend import Backend
from core.render.lock import render_lock
from core.render.manifest import Manifest, RowSpec
from core.render.plan import Entry, TakeJob, make_plan
from core.render.report import RenderProgress, RenderReport
from core.render.worker import Outcome, TakeResult
from core.takes.atomic import ensure_folder, write_files
from core.takes.take import COMMIT_ORDER

LOWEST_RATE = 16000  # Hz: AudioGen's, the lowest of every model family


def make_backend(
    workers: int = 1, cluster: str | None = None, device: str = "cpu", engine=None, threads: int | None = None
) -> Backend:
    """`cluster` ('ray', 'ray://host:port' or 'auto') -> Ray; else `workers` local processes (1: this process),
    each take with `threads` torch threads (default: worker.default_threads)."""
    if cluster:
        from core.render.cluster import RayBackend

        return RayBackend(cluster, device)
    from core.render.local import InProcessBackend, ProcessBackend

    if workers < 1:  # 0 and negative counts alike: one rule, no hidden meaning for 0
        raise InvalidParameterError(f"--workers must be at least 1 (1 renders in this process), got {workers}.")
    if threads is not None and threads < 1:
        raise InvalidParameterError(f"--threads must be at least 1, got {threads}.")
    if workers == 1:
        return InProcessBackend(device, engine, threads)
    return ProcessBackend(workers, device, threads)


def invalid_rows_error(manifest: Manifest) -> InvalidParameterError:
    """One sentence for a manifest with bad rows (the rows themselves are in `manifest.errors`)."""
    first = manifest.errors[0]
    return InvalidParameterError(
        f"{manifest.path.name} has {len(manifest.errors)} invalid row(s) (first: {first}); nothing was rendered. "
        "Fix them, or pass --skip-invalid to render the valid rows."
    )


def render_manifest(
    manifest: Manifest,
    out: str | Path,
    backend: Backend,
    progress: Callable[[RenderProgress], None] | None = None,
    cancel: CancelToken | None = None,
    skip_invalid: bool = False,
    keep_on_cancel: bool = False,
) -> RenderReport:
    """Render every take of `manifest` not yet complete in `out`; returns (and writes) the report.

    A cancel raises GenerationCancelled after writing the report, or with `keep_on_cancel` returns the report
    (`cancelled` set) so the caller can use the takes finished before it.
    """
    if manifest.errors and not skip_invalid:
        raise invalid_rows_error(manifest)
    out = Path(out)
    check_output(out, least_output_bytes(manifest.rows))  # as `generate` checks: writable, room, before any work
    with render_lock(ensure_folder(out)):
        return _render(manifest, out, backend, progress, cancel, keep_on_cancel)


def least_output_bytes(rows: list[RowSpec]) -> int:
    """A floor under the disk space the rows' takes need, known before any model is read.

    Each take is at least its 32-bit WAV at the lowest rate of any model (16 kHz, one channel) for its duration
    (the row's, else 1 s: every model's default is longer) plus 4 KB of codes and sidecar; a real take is larger.
    """
    total = 0
    for row in rows:
        seconds = float(row.changes.get("duration", 1.0))
        total += row.variations * (int(seconds * LOWEST_RATE) * 4 + 4096)
    return total


def _render(
    manifest: Manifest,
    out: Path,
    backend: Backend,
    progress: Callable[[RenderProgress], None] | None,
    cancel: CancelToken | None,
    keep_on_cancel: bool,
) -> RenderReport:
    """The render itself, inside the folder's lock."""
    plan = make_plan(resolve_precisions(manifest.rows, getattr(backend, "device", "cpu")), out)
    report = RenderReport(manifest.path, out, plan.total, backend=backend.name)
    report.invalid = [{"line": error.line, "reason": error.message} for error in manifest.errors]
    report.skipped = [_entry(entry) for entry in plan.skipped]
    report.failed = [_entry(entry) for entry in plan.failed]
    jobs = {job.id: job for job in plan.jobs}
    delivered: set[int] = set()
    started = time.perf_counter()

    def tick() -> None:
        report.elapsed_s = time.perf_counter() - started
        if progress is not None:
            progress(report.progress())

    def deliver(outcome: Outcome) -> None:
        if outcome.job_id in delivered:  # a retried job whose first worker answered after all
            return
        delivered.add(outcome.job_id)
        job = jobs[outcome.job_id]
        if isinstance(outcome, TakeResult):
            try:
                write_files([(out / f"{job.stem}{suffix}", outcome.files[suffix]) for suffix in COMMIT_ORDER])
            except ExportError as exc:
                report.failed.append(_job_entry(job, str(exc)))
            else:
                report.done.append({**_job_entry(job), "elapsed_s": outcome.elapsed_s, "worker": outcome.worker})
        else:
            report.failed.append(_job_entry(job, outcome.reason))
        tick()

    tick()
    try:
        if plan.jobs:
            backend.run(plan.jobs, deliver, cancel)
    except (GenerationCancelled, KeyboardInterrupt) as exc:
        report.cancelled = True
        if not (keep_on_cancel and isinstance(exc, GenerationCancelled)):
            raise
    finally:
        report.elapsed_s = time.perf_counter() - started
        report.write()
    return report


def resolve_precisions(rows: list[RowSpec], device: str) -> list[RowSpec]:
    """Rows get their concrete precision once, here, for every worker (core.models.precision.resolve).

    "auto" is decided by timing the kernels of the machine at hand (core.nn.kernels), so two workers, or one
    busy and one idle node, could resolve it differently and make different takes of one row; "int4" becomes
    int8 where its kernel does not run, and the report then says int8.
    """
    if all(row.precision in ("fp32", "bf16", "int8") for row in rows):
        return rows
    from core.models.precision import resolve

    concrete = {precision: resolve(precision, device).mode for precision in {row.precision for row in rows}}
    return [replace(row, precision=concrete[row.precision]) for row in rows]


def _entry(entry: Entry) -> dict:
    return {"line": entry.line, "seed": entry.seed, "name": entry.stem, "key": entry.key, "reason": entry.reason}


def _job_entry(job: TakeJob, reason: str | None = None) -> dict:
    data = {"line": job.line, "seed": job.seed, "name": job.stem, "key": job.key}
    if reason is None:
        data["files"] = [f"{job.stem}{suffix}" for suffix in COMMIT_ORDER]
    else:
        data["reason"] = reason
    return data

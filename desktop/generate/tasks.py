"""What the generate jobs do off the GUI thread: start the engine, load a model, make takes and write them.

Plain functions over core (see desktop.jobs.engine); they never touch a widget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.cancel import CancelToken
from core.checks import check_duration, check_output, check_seed, estimate
from core.errors import GenerationCancelled
from core.params import GenerationParams
from core.takes.audio_io import AudioClip
from core.takes.library import write_take_files
from core.takes.take import Take, TakeFiles
from desktop.generate.model_picker import ModelInfo
from desktop.jobs.engine import EngineHolder, load_model
from desktop.jobs.worker import Report

if TYPE_CHECKING:  # core.codec.preview_feed imports torch: only a job that previews imports it, when it runs
    from core.codec.preview_feed import PreviewSink

Written = tuple[Take, TakeFiles, float]
"""A take just written to the library folder: the take, its files, and the run's creation time."""


@dataclass(frozen=True)
class GenerationSpec:
    """Everything one Generate click asks for."""

    ref: str
    prompt: str
    params: GenerationParams
    seed: int
    count: int
    library_dir: Path
    melody: AudioClip | None = None
    continuation: AudioClip | None = None
    precision: str = "auto"  # auto | fp32 | bf16 | int8 | int4 (core.models.precision)
    extra: dict[str, Any] = field(default_factory=dict)  # recorded in every take's sidecar (bpm, bars, meter)
    rank: bool = False  # score the takes by CLAP text match after the batch
    preview: bool = False  # hand decoded audio chunks to the window while generating (autoregressive models)


@dataclass
class GenerationResult:
    model: ModelInfo
    takes: list[Written] = field(default_factory=list)
    elapsed_s: float = 0.0
    cancelled: bool = False  # cancelled after `takes` were finished (and written); the rest was dropped
    embeddings: list = field(default_factory=list)  # per take: (CLAP name, vector) for the search index, or None
    ranked: bool = False  # every take was scored (a cancel during scoring leaves them unscored)
    notice: str = ""  # why the takes were not scored, if they were not


def model_info(model: Any) -> ModelInfo:
    return ModelInfo(model.ref, model.capabilities, getattr(model, "precision", None))


def start_engine_task(holder: EngineHolder):
    """A job task that only builds the Engine (imports torch), so the first Generate starts at once."""

    def task(report: Report, cancel: CancelToken) -> None:
        report("start", 0, 1)
        holder.get()
        report("start", 1, 1)

    return task


def load_task(holder: EngineHolder, ref: str, precision: str | None = None):
    """A job task that only loads `ref` (a model folder just opened, a model switched to, or the last one used,
    at start) in `precision` (default: the engine's)."""

    def task(report: Report, cancel: CancelToken) -> ModelInfo:
        return model_info(load_model(holder, ref, report, cancel, precision))

    return task


def generation_task(
    holder: EngineHolder,
    spec: GenerationSpec,
    on_chunk: PreviewSink | None = None,
    on_written: Callable[[Written], None] | None = None,
):
    """A job task: load the model, make `spec.count` variations, writing each take as soon as it exists.

    A cancel after some takes were finished returns them (`cancelled=True`) so the owner records them; a cancel
    before the first one raises GenerationCancelled as usual. With `spec.preview` and `on_chunk`, each
    variation's audio goes to `on_chunk` in chunks as it grows. `on_written(written)` (from the worker thread)
    hears of each take once its files exist, so the window lists a batch's takes while the next batch runs.
    """

    def task(report: Report, cancel: CancelToken) -> GenerationResult:
        started = time.perf_counter()
        check_seed(spec.seed, spec.count)
        check_output(spec.library_dir, 0)  # an unwritable library is found before loading or generating
        model = load_model(holder, spec.ref, report, cancel, spec.precision)
        check_duration(model, spec.params)
        check_output(spec.library_dir, estimate(model, spec.params).output_bytes * spec.count)
        from core.engine import GenerationRequest, generate_variations  # imported by holder.get() already

        melody = spec.melody if model.capabilities.melody else None
        request = GenerationRequest(spec.prompt, spec.params, spec.seed, melody=melody, continuation=spec.continuation)
        progress = lambda step, total: report("generate", step, total)  # noqa: E731
        feed = _preview_feed(model, on_chunk) if spec.preview and on_chunk else None
        finish = _finishing(feed) if feed is not None else None
        created = time.time()  # one time for the run: the library lists a run's variations in seed order
        written: list[Written] = []

        def keep(take: Take) -> None:  # each take is on disk as soon as it exists: a cancel loses only the next
            take.extra.update(spec.extra)
            written.append((take, write_take_files(spec.library_dir, take, created), created))
            if on_written is not None:
                on_written(written[-1])
            if finish is not None:
                finish(take)

        try:
            generate_variations(
                model, request, spec.count, progress=progress, cancel=cancel, on_take=keep, on_frames=feed
            )
        except GenerationCancelled:
            if not written:
                raise
            return GenerationResult(model_info(model), written, time.perf_counter() - started, cancelled=True)
        finally:
            if feed is not None:  # its last chunks reach the window before the takes are recorded
                if cancel.cancelled:
                    feed.cancel()
                feed.close()
        result = GenerationResult(model_info(model), written, time.perf_counter() - started)
        if spec.rank:
            from desktop.generate.clap_tasks import rank_result

            rank_result(holder.get(), result, report, cancel)
        return result

    return task


def _preview_feed(model, on_chunk: PreviewSink):
    """Decodes the growing takes between the LM's steps (autoregressive models only)."""
    if not model.autoregressive:
        return None
    from core.codec.preview_feed import PreviewFeed  # torch and the codec's layers: imported by the load already

    return PreviewFeed(model.codec, on_chunk)


def _finishing(feed):
    """`on_take` that hands out the last chunk of each finished variation."""
    count = [0]

    def finished(take: Take) -> None:
        import torch

        feed.finish(count[0], torch.from_numpy(take.codes)[None])  # [1, K, F]
        count[0] += 1

    return finished

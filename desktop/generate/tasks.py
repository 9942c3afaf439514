"""What the generate jobs do off the GUI thread: start the engine, load a model, make takes and write them.

Plain functions over core (see desktop.jobs.engine); they never touch a widget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.cancel import CancelToken, check_cancel
from core.params import GenerationParams
from core.takes.audio_io import AudioClip
from core.takes.take import Take, TakeFiles
from desktop.generate.model_picker import ModelInfo
from desktop.generate.preview import PreviewFeed, PreviewSink
from desktop.jobs.engine import EngineHolder, load_model, write_all
from desktop.jobs.worker import Report


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
    preview: bool = False  # hand decoded audio chunks to the window while generating (autoregressive models)


@dataclass
class GenerationResult:
    model: ModelInfo
    takes: list[tuple[Take, TakeFiles, float]] = field(default_factory=list)  # take, files, created
    elapsed_s: float = 0.0


def model_info(model: Any) -> ModelInfo:
    return ModelInfo(model.ref, model.capabilities)


def start_engine_task(holder: EngineHolder):
    """A job task that only builds the Engine (imports torch), so the first Generate starts at once."""

    def task(report: Report, cancel: CancelToken) -> None:
        report("start", 0, 1)
        holder.get()
        report("start", 1, 1)

    return task


def load_task(holder: EngineHolder, ref: str):
    """A job task that only loads `ref` (a model folder just opened, or a model switched to)."""

    def task(report: Report, cancel: CancelToken) -> ModelInfo:
        return model_info(load_model(holder, ref, report, cancel))

    return task


def generation_task(holder: EngineHolder, spec: GenerationSpec, on_chunk: PreviewSink | None = None):
    """A job task: load the model, make `spec.count` variations, write every take before returning.
    With `spec.preview` and `on_chunk`, each variation's audio goes to `on_chunk` in chunks as it grows."""

    def task(report: Report, cancel: CancelToken) -> GenerationResult:
        started = time.perf_counter()
        model = load_model(holder, spec.ref, report, cancel)
        from core.engine import GenerationRequest, generate_variations  # imported by holder.get() already

        melody = spec.melody if model.capabilities.melody else None
        request = GenerationRequest(spec.prompt, spec.params, spec.seed, melody=melody, continuation=spec.continuation)
        progress = lambda step, total: report("generate", step, total)  # noqa: E731
        feed = PreviewFeed(model.codec, on_chunk) if spec.preview and on_chunk and model.autoregressive else None
        takes = generate_variations(
            model,
            request,
            spec.count,
            progress=progress,
            cancel=cancel,
            on_frames=feed,
            on_take=_finishing(feed) if feed is not None else None,
        )
        check_cancel(cancel)  # a cancel during the last decode still leaves nothing behind
        created = time.time()  # one time for the run: the library lists a run's variations in seed order
        written = write_all(spec.library_dir, takes, created)
        return GenerationResult(model_info(model), written, time.perf_counter() - started)

    return task


def _finishing(feed: PreviewFeed):
    """`on_take` that hands out the last chunk of each finished variation."""
    count = [0]

    def finished(take: Take) -> None:
        import torch

        feed.finish(count[0], torch.from_numpy(take.codes)[None])  # [1, K, F]
        count[0] += 1

    return finished

"""What a job does off the GUI thread: load (or download) a model, generate takes, write them to the library.

Plain functions over core; they take `report(stage, step, total)` and a CancelToken (desktop.jobs.worker) and never
touch a widget. The Engine is created on first use inside the worker, so importing torch never blocks the
window; the app owns the `EngineHolder` and with it every loaded model.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.cancel import CancelToken, check_cancel
from core.params import GenerationParams
from core.takes.audio_io import AudioClip
from core.takes.library import write_take_files
from core.takes.take import Take, TakeFiles
from desktop.generate.model_picker import ModelInfo
from desktop.jobs.worker import Report


class EngineHolder:
    """Owns the one core Engine (so the loaded models); builds it lazily, on whichever thread asks first."""

    def __init__(self, device: str = "cpu") -> None:  # "auto": CUDA when present (untested here: no GPU)
        self.device = device
        self._engine: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._engine is None:
                import torch

                from core.engine import Engine  # imports torch: seconds, so only ever from a worker

                if self.device == "auto":
                    self.device = "cuda" if torch.cuda.is_available() else "cpu"
                self._engine = Engine(device=self.device)
                settle_garbage()
            return self._engine

    @property
    def started(self) -> bool:
        return self._engine is not None

    def is_loaded(self, ref: str) -> bool:
        return self._engine is not None and self._engine.is_loaded(ref)

    def loaded(self) -> list[str]:
        return [] if self._engine is None else list(self._engine.loaded())

    def unload(self, ref: str | None = None) -> None:
        """Free one model (or all); call only while no job runs."""
        if self._engine is not None:
            self._engine.unload(ref)
            gc.unfreeze()  # let the collector see the freed model, then settle again
            settle_garbage(collect=True)


def settle_garbage(collect: bool = False) -> None:
    """Freeze every object alive now (gc.freeze), after a collection if asked.

    torch, transformers and a loaded model leave hundreds of thousands of objects that live as long as the
    app. A full collection walks all of them while holding the GIL (0.3 s and more), which stops the GUI
    thread mid-generation; frozen objects are skipped, so later collections stay short. Freezing costs
    nothing; the collection itself is such a stall, so only "Free loaded models" asks for one.
    """
    if collect:
        gc.collect()
    gc.freeze()


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
    rank: bool = False  # score the takes by CLAP text match after the batch


@dataclass
class GenerationResult:
    model: ModelInfo
    takes: list[tuple[Take, TakeFiles, float]] = field(default_factory=list)  # take, files, created
    elapsed_s: float = 0.0
    embeddings: list = field(default_factory=list)  # per take: (CLAP name, vector) for the search index, or None
    ranked: bool = False  # every take was scored (a cancel during scoring leaves them unscored)
    notice: str = ""  # why the takes were not scored, if they were not


def model_info(model: Any) -> ModelInfo:
    return ModelInfo(
        model.ref,
        model.family,
        bool(model.supports_melody),
        int(model.sample_rate),
        float(model.max_duration),
    )


def start_engine_task(holder: EngineHolder):
    """A job task that only builds the Engine (imports torch), so the first Generate starts at once."""

    def task(report: Report, cancel: CancelToken) -> None:
        report("start", 0, 1)
        holder.get()
        report("start", 1, 1)

    return task


def load_model(holder: EngineHolder, ref: str, report: Report, cancel: CancelToken) -> Any:
    """The loaded model for `ref`: from the cache, or downloaded ("download" stage, bytes) and loaded."""
    report("load", 0, 1)
    engine = holder.get()
    check_cancel(cancel)
    fresh = not engine.is_loaded(ref)
    model = engine.load(ref, progress=lambda done, total: report("download", done, total), cancel=cancel)
    if fresh:
        settle_garbage()
    report("load", 1, 1)
    return model


def load_task(holder: EngineHolder, ref: str):
    """A job task that only loads `ref` (a model folder just opened, or a model switched to)."""

    def task(report: Report, cancel: CancelToken) -> ModelInfo:
        return model_info(load_model(holder, ref, report, cancel))

    return task


def generation_task(holder: EngineHolder, spec: GenerationSpec):
    """A job task: load the model, make `spec.count` variations, write every take before returning."""

    def task(report: Report, cancel: CancelToken) -> GenerationResult:
        started = time.perf_counter()
        model = load_model(holder, spec.ref, report, cancel)
        from core.engine import GenerationRequest, generate_variations  # imported by holder.get() already

        melody = spec.melody if model.supports_melody else None
        request = GenerationRequest(spec.prompt, spec.params, spec.seed, melody=melody, continuation=spec.continuation)
        progress = lambda step, total: report("generate", step, total)  # noqa: E731
        takes = generate_variations(model, request, spec.count, progress=progress, cancel=cancel)
        check_cancel(cancel)  # a cancel during the last decode still leaves nothing behind
        created = time.time()  # one time for the run: the library lists a run's variations in seed order
        written = write_all(spec.library_dir, takes, created)
        result = GenerationResult(model_info(model), written, time.perf_counter() - started)
        if spec.rank:
            from desktop.jobs.clap_tasks import rank_result

            rank_result(holder.get(), result, report, cancel)
        return result

    return task


def write_all(folder: Path, takes: list[Take], created: float) -> list[tuple[Take, TakeFiles, float]]:
    """Write every take into `folder`; if one fails, remove those already written and re-raise."""
    written: list[tuple[Take, TakeFiles, float]] = []
    try:
        for take in takes:
            written.append((take, write_take_files(folder, take, created), created))
    except BaseException:
        for _, files, _ in written:
            for path in (files.wav, files.codes, files.sidecar):
                path.unlink(missing_ok=True)
        raise
    return written

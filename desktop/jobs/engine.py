"""The window's one Engine, built lazily in a worker, and the steps every job shares: load a model, write takes.

Plain functions over core; they take `report(stage, step, total)` and a CancelToken (desktop.jobs.worker) and never
touch a widget. The Engine is created on first use inside the worker, so importing torch never blocks the
window; the app owns the `EngineHolder` and with it every loaded model.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

from core.cancel import CancelToken, check_cancel
from core.takes.library import write_take_files
from core.takes.take import Take, TakeFiles
from desktop.jobs.worker import Report


class EngineHolder:
    """Owns the one core Engine (so the loaded models); builds it lazily, on whichever thread asks first."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._engine is None:
                from core.engine import Engine  # imports torch: seconds, so only ever from a worker

                self._engine = Engine(device="cpu", precision="auto")
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
    app. A full collection walks all of them while holding the GIL, which stops the GUI thread mid-generation
    (figures: benchmarks/README.md); frozen objects are skipped, so later collections stay short. Freezing costs
    nothing; the collection itself is such a stall, so only "Free loaded models" asks for one.
    """
    if collect:
        gc.collect()
    gc.freeze()


def load_model(
    holder: EngineHolder, ref: str, report: Report, cancel: CancelToken, precision: str | None = None
) -> Any:
    """The loaded model for `ref` (in `precision`, default: the engine's): cached, or downloaded and loaded."""
    report("load", 0, 1)
    engine = holder.get()
    check_cancel(cancel)
    fresh = not engine.is_loaded(ref)
    progress = lambda done, total: report("download", done, total)  # noqa: E731
    model = engine.load(ref, progress=progress, cancel=cancel, precision=precision)
    if fresh:
        settle_garbage()
    report("load", 1, 1)
    return model


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

"""Render a manifest from the window: pick the file, review it, then render it as one job of the window's queue.

The job renders in the worker thread with the app's Engine (models already loaded stay loaded), reports
"take n of N" with time left, and stops at the next decoding step on Cancel; the takes already written stay
complete (and are recorded like the others), and rendering the manifest again finishes the rest. The job
answers this controller's callback with the render report; new takes can be recorded in the library. A take
feature (desktop.services.feature) with one File menu entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from core.cancel import CancelToken
from core.errors import SoundDeskError
from core.render.manifest import Manifest, read_manifest
from core.render.report import RenderReport
from core.takes.take import TakeFiles, load_take
from desktop.jobs.engine import EngineHolder
from desktop.jobs.queue import Job
from desktop.jobs.worker import Report
from desktop.render.dialog import RenderDialog
from desktop.services.app import AppServices
from desktop.services.feature import TakeFeature

MANIFEST_FILTER = "Render manifests (*.csv *.jsonl *.ndjson *.tsv);;All files (*)"


@dataclass(frozen=True)
class RenderJob:
    manifest: Manifest
    out: Path
    add_to_library: bool
    skip_invalid: bool


def render_task(holder: EngineHolder, spec: RenderJob):
    """A job task: render the manifest in this worker thread with the window's Engine."""

    def task(report: Report, cancel: CancelToken) -> RenderReport:
        from core.render.local import InProcessBackend
        from core.render.runner import render_manifest

        report("rendering takes", 0, max(1, spec.manifest.take_count))
        backend = InProcessBackend(engine=holder.get())
        return render_manifest(
            spec.manifest,
            spec.out,
            backend,
            lambda state: report("rendering takes", state.finished, state.total),
            cancel,
            skip_invalid=spec.skip_invalid,
            keep_on_cancel=True,
        )

    return task


class RenderController(TakeFeature):
    """The File menu's "Render a manifest…": a dialog, then a queued render job whose result it records."""

    def __init__(self, services: AppServices, parent: QWidget) -> None:
        """`parent`: the window its dialogs open over."""
        super().__init__(parent)
        self.services, self.queue, self._parent = services, services.queue, parent
        self.dialog: RenderDialog | None = None
        self.action = QAction("Render a manifest…", self)
        self.action.triggered.connect(self.ask)

    def menu_entries(self) -> list[tuple[str, QAction]]:
        return [("file", self.action)]

    def ask(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._parent, "Render a manifest", "", MANIFEST_FILTER)
        if path:
            self.review(Path(path))

    def review(self, path: Path) -> RenderDialog | None:
        """Read and check the manifest, then show the dialog (non-modal to the app, modal to the window)."""
        try:
            manifest = read_manifest(path)
        except SoundDeskError as exc:
            self.error.emit(str(exc))
            return None
        out = self.services.library_dir() / "renders" / path.stem
        self.dialog = RenderDialog(manifest, out, self._parent)
        self.dialog.accepted.connect(self._start_from_dialog)
        self.dialog.open()
        return self.dialog

    def _start_from_dialog(self) -> None:
        dialog = self.dialog
        if dialog is not None:
            self.start(
                RenderJob(
                    dialog.manifest, dialog.out(), dialog.add_to_library.isChecked(), dialog.skip_invalid.isChecked()
                )
            )

    def start(self, spec: RenderJob) -> Job:
        title = f"render {spec.manifest.path.name} ({spec.manifest.take_count} takes)"
        task = render_task(self.services.engine, spec)
        return self.queue.submit(Job(title, task, lambda report: self._finished(spec, report), spec.manifest.path.name))

    def _finished(self, spec: RenderJob, report: RenderReport) -> None:
        if spec.add_to_library:
            self._record(report)
        name = spec.manifest.path.name
        if report.cancelled:
            self.message.emit(
                f"Cancelled the render of {name}: {report.summary()} The finished takes are complete and stay; "
                "render it again to finish."
            )
        else:
            self.message.emit(f"Rendered {name}: {report.summary()}")

    def _record(self, result: RenderReport) -> None:
        library = self.services.library
        if library is None:
            self.error.emit("The library is closed; the takes were rendered but not recorded.")
            return
        records = []
        try:
            for entry in result.done:
                files = TakeFiles.named(result.out, entry["name"])
                records.append(library.add(load_take(files.sidecar), files))
        except SoundDeskError as exc:
            self.error.emit(str(exc))
        self.takes_added.emit(records)

"""The left side of the window: prompt, model, parameters, melody and continuation slots, Generate, queue."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.errors import InvalidParameterError
from core.params import GenerationParams
from desktop.generate.audio_slot import AudioSlot
from desktop.generate.first_run import FirstRunBox
from desktop.generate.model_picker import ModelInfo, ModelPicker
from desktop.generate.params_panel import ParamsPanel
from desktop.generate.prompt_editor import PromptEditor
from desktop.generate.tasks import GenerationSpec
from desktop.jobs.queue import JobQueue
from desktop.settings import group
from desktop.widgets import theme
from desktop.widgets.run_controls import run_buttons, show_busy, show_progress

MELODY_MAX_SECONDS = 30.0
CONTINUATION_MAX_SECONDS = 30.0


class GeneratePanel(QWidget):
    """Collects one GenerationSpec; `generate_requested` on the button or Ctrl+Enter."""

    generate_requested = Signal()
    cancel_requested = Signal()
    remove_job_requested = Signal(object)  # Job
    download_requested = Signal(str)  # a model ref the first-run box offered: download and load it
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = PromptEditor()
        self.prompt.submitted.connect(self.generate_requested)
        self.models = ModelPicker()
        self.models.model_changed.connect(self._on_model_changed)
        self.params = ParamsPanel()
        self.melody = AudioSlot(
            "Melody",
            "Drop a WAV / AIFF / FLAC / OGG / MP3 here to guide the tune (melody models only).",
            MELODY_MAX_SECONDS,
        )
        self.continuation = AudioSlot(
            "Continue from",
            "Drop audio here to continue it instead of starting from silence.",
            CONTINUATION_MAX_SECONDS,
        )
        for slot in (self.melody, self.continuation):
            slot.message.connect(self.message)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("generateButton")
        self.generate_button.setToolTip("Generate (Ctrl+Enter); while a job runs, this queues another")
        self.generate_button.clicked.connect(self.generate_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("Idle")
        self.progress.setValue(0)
        self.queue_list = QListWidget()
        self.queue_list.setFixedHeight(64)
        self.queue_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.queue_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.queue_list.setObjectName("queueList")
        self.queue_list.setToolTip("Double-click a waiting job to drop it, the running one to cancel it")
        self.queue_list.itemActivated.connect(self._on_queue_item)
        self._build_layout()
        self.first_run = FirstRunBox()  # above the prompt while no model is on disk
        self.first_run.download_requested.connect(self._download)
        self.first_run.open_folder_requested.connect(self.models.ask_folder)
        self.layout().insertWidget(0, self.first_run)
        self.models.model_changed.connect(lambda _ref: self.refresh_first_run())
        self._on_model_changed(self.models.current_ref())

    def _build_layout(self) -> None:
        form = QWidget()
        inner = QVBoxLayout(form)
        inner.addWidget(self.prompt)
        inner.addWidget(QLabel("<b>Model</b>"))
        inner.addWidget(self.models)
        inner.addWidget(self.params)
        inner.addWidget(self.melody)
        inner.addWidget(self.continuation)
        inner.addStretch(1)
        inner.setContentsMargins(0, 0, 6, 0)
        scroll = QScrollArea()
        scroll.setWidget(form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Never a horizontal scrollbar: the column is at least as wide as its widest row (and a scrollbar).
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit = _FitColumn(scroll, form)  # and stays so when rows widen (fonts, theme, texts)
        buttons = run_buttons(self.generate_button, self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 8, 2, 8)
        layout.setSpacing(6)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(QLabel("Queue"))
        layout.addWidget(self.queue_list)

    def spec(self, library_dir: Path) -> GenerationSpec:
        """The next run as shown (draws a fresh seed unless the seed is locked)."""
        info = self.models.info()
        tempo = self.params.tempo.request()
        return GenerationSpec(
            ref=self.models.current_ref(),
            prompt=tempo.prompt(self.prompt.prompt()) if tempo is not None else self.prompt.prompt(),
            params=self.params.params(),
            seed=self.params.seed_for_run(),
            count=self.params.variations.value(),
            library_dir=library_dir,
            melody=self.melody.clip() if info.melody else None,
            continuation=self.continuation.clip(),
            precision=self.params.precision.choice(),
            extra=tempo.record() if tempo is not None else {},
        )

    def request(self, library_dir: Path) -> GenerationSpec:
        """The next run, checked that it can start (a model, and a prompt or a recording to continue), its prompt
        remembered; raises InvalidParameterError (or another SoundDeskError) with the sentence to show."""
        if not self.models.current_ref():
            raise InvalidParameterError("Choose a model first.")
        if not self.prompt.prompt() and self.continuation.clip() is None:
            raise InvalidParameterError("Type a prompt describing the sound first.")
        spec = self.spec(library_dir)
        self.prompt.remember(spec.prompt)
        return spec

    def apply_icons(self) -> None:
        """Generate's icon stays white on its accent background; Cancel's in the theme's colour."""
        self.generate_button.setIcon(theme.icon("generate", on_accent=True))
        self.cancel_button.setIcon(theme.icon("cancel"))

    def recall(
        self, prompt: str, model: str, params: GenerationParams, seed: int, precision: str | None = None
    ) -> bool:
        """Put a take's prompt, model, parameters, seed and precision back; False if its model is not available."""
        self.prompt.set_prompt(prompt)
        found = self.models.select(model)
        self.params.recall(params, seed, precision)
        return found

    def apply_model_info(self, info: ModelInfo) -> None:
        self.models.set_loaded(info)
        self.params.precision.show_picked(info.precision)
        if info.ref == self.models.current_ref():
            self._on_model_changed(info.ref)
        self.refresh_first_run()

    def refresh_first_run(self) -> None:
        """The first-run box hides once a model is on disk (or a folder opened); else its text follows."""
        self.first_run.refresh(len(self.models.local_folders()))

    def _download(self, ref: str) -> None:
        """First run: choose `ref` and have it downloaded and loaded (progress bar and Cancel as for any job)."""
        self.models.select(ref)
        self.download_requested.emit(ref)

    def _on_model_changed(self, ref: str) -> None:
        """Melody and MAGNeT controls light up for the models that use them."""
        info = self.models.info(ref)
        self.params.set_capabilities(info.capabilities)
        self.melody.setEnabled(info.melody)
        self.melody.setToolTip("" if info.melody else "The chosen model takes no melody.")

    def set_busy(self, busy: bool) -> None:
        show_busy(self.generate_button, self.cancel_button, busy)

    def show_progress(self, stage: str, step: int, total: int, text: str) -> None:
        show_progress(self.progress, stage, step, total, text)

    def show_queue(self, queue: JobQueue) -> None:
        self.queue_list.clear()
        jobs = ([("▶", queue.current)] if queue.current is not None else []) + [("…", j) for j in queue.pending]
        for mark, job in jobs:
            item = QListWidgetItem(f"{mark} {job.title}")
            item.setData(Qt.ItemDataRole.UserRole, job)
            self.queue_list.addItem(item)

    def _on_queue_item(self, item: QListWidgetItem) -> None:
        job = item.data(Qt.ItemDataRole.UserRole)
        if job is not None:
            self.remove_job_requested.emit(job)

    def save_state(self, settings: QSettings) -> None:
        for name, part in (("model", self.models), ("params", self.params)):
            with group(settings, name):
                part.save_state(settings)
        with group(settings, "prompt"):
            settings.setValue("text", self.prompt.text.toPlainText())

    def restore_state(self, settings: QSettings) -> None:
        for name, part in (("model", self.models), ("params", self.params)):
            with group(settings, name):
                part.restore_state(settings)
        with group(settings, "prompt"):
            self.prompt.set_prompt(str(settings.value("text", "") or ""))
        self._on_model_changed(self.models.current_ref())


class _FitColumn(QObject):
    """Keeps a scroll area (no horizontal scrollbar) at least as wide as its content's widest row plus the
    vertical scrollbar, again whenever the content's layout changes: a width fixed once at construction let a
    later, wider row (a larger font, a theme's padding, a longer label) squeeze the rows and clip their buttons."""

    WATCHED = (QEvent.Type.LayoutRequest, QEvent.Type.StyleChange, QEvent.Type.FontChange, QEvent.Type.Show)

    def __init__(self, scroll: QScrollArea, content: QWidget) -> None:
        super().__init__(scroll)
        self.scroll, self.content = scroll, content
        content.installEventFilter(self)
        self.fit()

    def fit(self) -> None:
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        self.scroll.setMinimumWidth(self.content.minimumSizeHint().width() + bar)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in self.WATCHED:
            self.fit()
        return False

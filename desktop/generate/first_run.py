"""First run: when no model is on disk, say which one to get (download size, free disk, licence) and get it
with progress and cancel; offline, say how to add a model folder that is already on this machine."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core.models import hub
from core.models.catalog import CATALOG, ModelSpec

RECOMMENDED = ("facebook/audiogen-medium", "facebook/musicgen-small")
"""Sound effects first (the window's users are sound designers), then the smallest music model."""

CODEC_GB = 0.24  # the EnCodec compression model shipped with every release
TEXT_ENCODER_GB = 0.9  # T5 (base), fetched once on first use


def download_gb(spec: ModelSpec) -> float:
    """About how many GB a release takes on disk: float32 LM weights plus the compression model."""
    return spec.parameters * 4 / 1e9 + CODEC_GB


def cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def free_gb(folder: Path) -> float:
    """Free space where downloads go (its nearest existing parent)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free / 1e9


def any_model_on_disk() -> bool:
    return any(hub.is_downloaded(ref) for ref in CATALOG)


class FirstRunBox(QFrame):
    """Shown while no model is on disk: the recommended download, or how to add a folder when offline."""

    download_requested = Signal(str)  # model ref
    open_folder_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRun")
        self.heading = QLabel("<b>No model on this computer yet</b>")
        self.choice = QComboBox()
        for ref in RECOMMENDED:
            spec = CATALOG[ref]
            self.choice.addItem(f"{ref.split('/')[-1]} ({spec.task})", ref)
        self.choice.currentIndexChanged.connect(self.update_text)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(lambda: self.download_requested.emit(self.choice.currentData()))
        self.folder_button = QPushButton("Open model folder…")
        self.folder_button.clicked.connect(self.open_folder_requested)
        row = QHBoxLayout()
        row.addWidget(self.choice, 1)
        row.addWidget(self.download_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addWidget(self.heading)
        layout.addWidget(self.text)
        layout.addLayout(row)
        layout.addWidget(self.folder_button)
        self.update_text()

    def update_text(self, *_args) -> None:
        """Sizes, free space and licence of the chosen model; the offline sentence instead when offline."""
        offline = hub.is_offline()
        self.choice.setVisible(not offline)
        self.download_button.setVisible(not offline)
        if offline:
            self.text.setText(
                "You are working offline, so nothing can be downloaded. Add a model folder already on this "
                "computer (one with state_dict.bin and compression_state_dict.bin, and its text encoder in a "
                "text_encoder folder inside it) with Open model folder…, or turn off Model ▸ Work offline to "
                "download one."
            )
            return
        spec = CATALOG[self.choice.currentData()]
        self.text.setText(
            f"Download {spec.id.split('/')[-1]}: about {download_gb(spec):.1f} GB "
            f"(+{TEXT_ENCODER_GB:.1f} GB text encoder on first use); {free_gb(cache_dir()):.0f} GB free on the "
            f"disk of {cache_dir()}. Licence {spec.licence} (non-commercial use). Progress and Cancel are below. "
            f"Already have a model folder? Choose Open model folder…"
        )

    def refresh(self, local_folders: int = 0) -> None:
        """Hide once a model is on disk (downloaded, or `local_folders` opened); else bring the text up to date."""
        self.setVisible(not local_folders and not any_model_on_disk())
        if self.isVisible():
            self.update_text()

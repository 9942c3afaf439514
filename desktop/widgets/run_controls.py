"""The Generate / Cancel buttons and the progress bar, as both the main panel and the compact window show them."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton


def run_buttons(generate: QPushButton, cancel: QPushButton) -> QHBoxLayout:
    """Generate beside Cancel, Generate twice as wide."""
    row = QHBoxLayout()
    row.addWidget(generate, 2)
    row.addWidget(cancel, 1)
    return row


def show_busy(generate: QPushButton, cancel: QPushButton, busy: bool) -> None:
    """While a job runs, Generate queues another and Cancel stops the running one."""
    cancel.setEnabled(busy)
    generate.setText("Queue another" if busy else "Generate")


def show_progress(bar: QProgressBar, stage: str, step: int, total: int, text: str) -> None:
    """A stage with a known total fills the bar; one without (total 0) makes it busy; no stage empties it."""
    bar.setMaximum(max(total, 1) if total > 0 or not stage else 0)
    bar.setValue(min(step, total) if total > 0 else 0)
    bar.setFormat(text)

"""Prompt editor: multi-line text, a menu of recent prompts, and Ctrl+Enter to generate."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPlainTextEdit, QToolButton, QWidget

from desktop.widgets.layouts import column

MAX_RECENT = 20


class _PromptText(QPlainTextEdit):
    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class PromptEditor(QWidget):
    """The text prompt; `submitted` fires on Ctrl+Enter."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = _PromptText()
        self.text.setPlaceholderText("Describe the sound: “rain on a tin roof, distant thunder” (Ctrl+Enter)")
        self.text.setTabChangesFocus(True)
        self.text.setMaximumBlockCount(50)
        self.text.setMinimumHeight(56)
        self.text.setMaximumHeight(120)
        self.text.submitted.connect(self.submitted)
        self.recent_button = QToolButton(text="Recent")
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_menu = QMenu(self)
        self.recent_button.setMenu(self.recent_menu)
        header = QHBoxLayout()
        header.addWidget(QLabel("Prompt"))
        header.addStretch(1)
        header.addWidget(self.recent_button)
        column(self, header, self.text)
        self._recent: list[str] = []
        self.set_recent([])

    def prompt(self) -> str:
        return self.text.toPlainText().strip()

    def set_prompt(self, prompt: str) -> None:
        self.text.setPlainText(prompt)

    def recent(self) -> list[str]:
        return list(self._recent)

    def set_recent(self, prompts: list[str]) -> None:
        self._recent = []
        for prompt in prompts:
            if prompt and prompt not in self._recent:
                self._recent.append(prompt)
        del self._recent[MAX_RECENT:]
        self.recent_menu.clear()
        for prompt in self._recent:
            label = prompt if len(prompt) <= 70 else prompt[:69] + "…"
            action = self.recent_menu.addAction(label)
            action.triggered.connect(lambda _=False, p=prompt: self.set_prompt(p))
        self.recent_button.setEnabled(bool(self._recent))

    def remember(self, prompt: str) -> None:
        """Put `prompt` first in the recent list."""
        self.set_recent([prompt] + [p for p in self._recent if p != prompt])

"""Which words made this sound: the take's prompt with each word shaded by its AudioGenX score, and buttons.

Self-contained: the window connects `explain_requested` to a job that runs `core.explain.explainer.explain_take` in the
worker and hands the result to `show_explanation`; a time-window selection on the waveform goes to
`rescore(start, end)` (no training, `Explanation.rescore`); the two play buttons ask for the take regenerated
with the mask (factual) or its complement (counterfactual), which `core.explain.regenerate.regenerate_take` makes.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolTip, QVBoxLayout, QWidget

PAD_X, PAD_Y, GAP = 4, 2, 4  # pixels around each word and between words / lines
EXPLAIN_TIP = "Find which words of the prompt made this sound (AudioGenX)"


class ShadedPrompt(QWidget):
    """Words laid out like text, each on a background as strong as its score; the tooltip gives the score."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._words: list[tuple[str, float | None]] = []
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setMouseTracking(True)

    def set_words(self, words: list[tuple[str, float | None]]) -> None:
        """(word, score in [0, 1]) pairs in prompt order; a None score draws the word unshaded."""
        self._words = [(w, None if s is None else min(1.0, max(0.0, float(s)))) for w, s in words]
        self.updateGeometry()
        self.update()

    def words(self) -> list[tuple[str, float | None]]:
        return list(self._words)

    def word_rects(self, width: int | None = None) -> list[QRect]:
        """Where each word is drawn: a simple flow layout wrapping at `width` (the widget's by default)."""
        metrics = QFontMetrics(self.font())
        width = self.width() if width is None else width
        height = metrics.height() + 2 * PAD_Y
        rects, x, y = [], 0, 0
        for word, _ in self._words:
            w = metrics.horizontalAdvance(word) + 2 * PAD_X
            if x > 0 and x + w > width:
                x, y = 0, y + height + GAP
            rects.append(QRect(x, y, w, height))
            x += w + GAP
        return rects

    def tooltip_at(self, pos: QPoint) -> str | None:
        for (word, score), rect in zip(self._words, self.word_rects(), strict=True):
            if rect.contains(pos):
                return f"{word}: not explained yet" if score is None else f"{word}: importance {score:.2f}"
        return None

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt override)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        rects = self.word_rects(width)
        return rects[-1].bottom() + 1 if rects else QFontMetrics(self.font()).height() + 2 * PAD_Y

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, self.heightForWidth(320))

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            text = self.tooltip_at(event.pos())
            if text is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), text, self)
            return True
        return super().event(event)

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        shade = self.palette().color(QPalette.ColorRole.Highlight)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        for (word, score), rect in zip(self._words, self.word_rects(), strict=True):
            if score is not None:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(shade_color(shade, score))
                painter.drawRoundedRect(rect, 3, 3)
            painter.setPen(text)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, word)


def shade_color(base: QColor, score: float) -> QColor:
    """The highlight colour with an opacity that grows with the score (0: no shading)."""
    color = QColor(base)
    color.setAlpha(round(230 * score))
    return color


class ExplainPanel(QWidget):
    """The prompt shaded by importance, the window it was scored over, and Explain / Play buttons."""

    explain_requested = Signal()  # run explain_take on the current take (in the worker)
    rescore_requested = Signal(object)  # (start, end) seconds or None: re-read the mask over a window
    play_factual_requested = Signal()  # play the take regenerated with the mask M
    play_counterfactual_requested = Signal()  # ... with 1 - M

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt_view = ShadedPrompt()
        self.scope = QLabel()
        self.explain_button = QPushButton("Explain")
        self.explain_button.setToolTip(EXPLAIN_TIP)
        self.whole_button = QPushButton("Whole take")
        self.whole_button.setToolTip("Score the words over the whole take again")
        self.factual_button = QPushButton("Play factual")
        self.factual_button.setToolTip("Hear the take made again with the important words only")
        self.counterfactual_button = QPushButton("Play counterfactual")
        self.counterfactual_button.setToolTip("Hear the take made again without the important words")
        self.explain_button.clicked.connect(self.explain_requested)
        self.whole_button.clicked.connect(lambda: self.rescore_requested.emit(None))
        self.factual_button.clicked.connect(self.play_factual_requested)
        self.counterfactual_button.clicked.connect(self.play_counterfactual_requested)
        buttons = QHBoxLayout()
        for button in (self.explain_button, self.whole_button, self.factual_button, self.counterfactual_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.prompt_view)
        layout.addWidget(self.scope)
        layout.addLayout(buttons)
        self._explained = False
        self._busy = False
        self._unavailable: str | None = None
        self.clear()

    def clear(self) -> None:
        """No take: nothing to explain."""
        self.prompt_view.set_words([])
        self.scope.setText("")
        self._explained = False
        self.explain_button.setEnabled(False)
        self._sync()

    def set_prompt(self, prompt: str) -> None:
        """A take was selected: show its words unshaded until it is explained."""
        self.prompt_view.set_words([(word, None) for word in prompt.split()])
        self.scope.setText("Not explained yet.")
        self._explained = False
        self.explain_button.setEnabled(bool(prompt.split()))
        self._sync()

    def show_explanation(self, explanation) -> None:
        """A core.explain.explainer.Explanation (or anything with `words` and `window`) arrived from the worker."""
        self.set_scores(explanation.words, explanation.window)

    def set_scores(self, words: list[tuple[str, float]], window: tuple[float, float] | None = None) -> None:
        self.prompt_view.set_words(words)
        self.scope.setText("Whole take" if window is None else f"From {window[0]:.2f} s to {window[1]:.2f} s")
        self._explained = True
        self._sync()

    def rescore(self, start: float, end: float) -> None:
        """Slot for the waveform's time selection: ask for the scores over [start, end] seconds."""
        if self._explained and end > start:
            self.rescore_requested.emit((float(start), float(end)))

    def set_unavailable(self, reason: str | None) -> None:
        """Why this take cannot be explained (Explain is disabled with `reason` as its tooltip), or None."""
        self._unavailable = reason
        self._sync()

    def set_busy(self, busy: bool) -> None:
        """While an explanation or a regeneration runs, its buttons wait."""
        self._busy = busy
        self._sync()

    def _sync(self) -> None:
        ready = self._explained and not self._busy
        self.explain_button.setEnabled(not self._busy and bool(self.prompt_view.words()) and not self._unavailable)
        self.explain_button.setToolTip(self._unavailable or EXPLAIN_TIP)
        for button in (self.whole_button, self.factual_button, self.counterfactual_button):
            button.setEnabled(ready)

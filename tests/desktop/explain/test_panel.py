"""The explanation panel: words shaded by their AudioGenX score, tooltips with the score, buttons as signals."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from desktop.explain.panel import PAD_X, ExplainPanel

PROMPT = "a dog barking loudly in the rain"


@pytest.fixture
def panel(qtbot):
    widget = ExplainPanel()
    qtbot.addWidget(widget)
    widget.resize(600, 160)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture(scope="module")
def explanation(fixtures_dir):
    from core.engine import Engine, GenerationRequest
    from core.explain.explainer import ExplainSettings, explain_take

    model = Engine().load(str(fixtures_dir / "audiogen"))
    take = model.generate(GenerationRequest(PROMPT, model.default_params.replace(duration=1.0), seed=1))
    return explain_take(model, take, ExplainSettings(epochs=2))


def _pixel_beside(view, index: int):
    """The colour in the padding left of word `index` (no glyph there): its shading."""
    rect = view.word_rects()[index]
    image = view.grab().toImage()
    ratio = image.devicePixelRatio()
    return image.pixelColor(int((rect.left() + PAD_X // 2) * ratio), int(rect.center().y() * ratio))


def test_prompt_words_wait_unshaded_until_explained(panel, qtbot):
    assert not panel.explain_button.isEnabled()
    panel.set_prompt(PROMPT)
    assert [w for w, _ in panel.prompt_view.words()] == PROMPT.split()
    assert panel.explain_button.isEnabled()
    assert not panel.factual_button.isEnabled() and not panel.counterfactual_button.isEnabled()
    with qtbot.waitSignal(panel.explain_requested, timeout=1000):
        qtbot.mouseClick(panel.explain_button, Qt.MouseButton.LeftButton)
    with qtbot.assertNotEmitted(panel.rescore_requested):
        panel.rescore(0.1, 0.4)  # nothing to re-score before an explanation


def test_a_real_explanation_is_shown_in_prompt_order(panel, explanation):
    panel.set_prompt(PROMPT)
    panel.show_explanation(explanation)
    assert panel.prompt_view.words() == explanation.words
    assert panel.scope.text() == "Whole take"
    assert panel.factual_button.isEnabled() and panel.counterfactual_button.isEnabled()


def test_shading_grows_with_the_score_and_the_tooltip_gives_it(panel, qtbot):
    panel.set_scores([("quiet", 0.0), ("loud", 1.0), ("middle", 0.5)], window=(0.25, 0.5))
    view = panel.prompt_view
    background = view.palette().color(view.backgroundRole())
    quiet, loud, middle = (_pixel_beside(view, i) for i in range(3))
    assert quiet == background
    assert loud != background and middle != background

    def distance(color):
        return sum(abs(a - b) for a, b in zip(color.getRgb()[:3], background.getRgb()[:3], strict=True))

    assert distance(loud) > distance(middle) > 0
    assert panel.scope.text() == "From 0.25 s to 0.50 s"
    centre = view.word_rects()[1].center()
    assert view.tooltip_at(centre) == "loud: importance 1.00"
    assert view.tooltip_at(QPoint(590, 150)) is None
    QApplication.sendEvent(view, QHelpEvent(QEvent.Type.ToolTip, centre, view.mapToGlobal(centre)))
    qtbot.waitUntil(lambda: QToolTip.text() == "loud: importance 1.00", timeout=2000)
    QToolTip.hideText()


def test_buttons_and_window_selection_emit_requests(panel, qtbot):
    panel.set_prompt(PROMPT)
    panel.set_scores([(w, 0.5) for w in PROMPT.split()])
    with qtbot.waitSignal(panel.play_factual_requested, timeout=1000):
        qtbot.mouseClick(panel.factual_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.play_counterfactual_requested, timeout=1000):
        qtbot.mouseClick(panel.counterfactual_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.rescore_requested, timeout=1000) as blocker:
        panel.rescore(0.1, 0.4)
    assert blocker.args == [(0.1, 0.4)]
    with qtbot.waitSignal(panel.rescore_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.whole_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [None]
    panel.set_busy(True)
    assert not any(b.isEnabled() for b in (panel.explain_button, panel.factual_button, panel.whole_button))
    panel.set_busy(False)
    assert panel.explain_button.isEnabled() and panel.factual_button.isEnabled()


def test_long_prompts_wrap_and_the_widget_asks_for_the_height(panel):
    view = panel.prompt_view
    view.set_words([(f"word{i}", i / 40) for i in range(40)])
    rects = view.word_rects(200)
    assert max(r.right() for r in rects) < 200
    assert len({r.top() for r in rects}) > 3
    assert view.heightForWidth(200) == rects[-1].bottom() + 1 > view.heightForWidth(2000)

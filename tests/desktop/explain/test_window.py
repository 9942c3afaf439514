"""Explain in the real window: a queued AudioGenX job on the audiogen fixture, shaded words, waveform-window
re-scoring, factual / counterfactual regeneration through the worker (cached), cancel, errors, disabled cases."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from core.params import GenerationParams
from core.takes.take import Take, load_take
from desktop.main_window import MainWindow

TIMEOUT_MS = 120_000  # the first job of the session imports torch in the worker
PROMPT = "a dog barking in the rain"


@pytest.fixture
def window(qtbot, make_window):
    window = make_window()
    qtbot.waitExposed(window)
    return window


def generate(qtbot, window: MainWindow, model_dir, prompt: str = PROMPT, seconds: float = 1.0):
    panel = window.generate_panel
    panel.models.add_folder(model_dir)
    panel.prompt.set_prompt(prompt)
    panel.params.duration.setValue(seconds)
    panel.params.variations.setValue(1)
    panel.params.precision.set_choice("fp32")  # the exact mode: core's explanation is recomputed below to 1e-6
    with qtbot.waitSignal(window.controller.takes_added, timeout=TIMEOUT_MS) as blocker:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    return blocker.args[0][0]


def record_take(window: MainWindow, extra: dict, prompt: str = PROMPT, model: str = "facebook/musicgen-small"):
    """Put a synthetic take straight into the window's library and select it (no model needed)."""
    wav = (0.2 * np.sin(np.linspace(0, 900, 16000))).astype(np.float32)[None]
    take = Take(prompt, model, 3, GenerationParams(duration=0.5), 32000, wav, np.zeros((4, 25), np.int64), extra)
    record = window.library.save(take)
    window.takes_panel.added([record])
    return record


def drag_on_waveform(view, start_s: float, end_s: float) -> None:
    """Press, move and release the left button across the waveform, as a user selects a time window."""
    box = view.getPlotItem().getViewBox()

    def point(seconds):
        return view.mapFromScene(box.mapViewToScene(pg.Point(seconds, 0.0)))

    a, b = point(start_s), point(end_s)
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, 9):
        QTest.mouseMove(view.viewport(), a + (b - a) * (i / 8))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def test_explain_shades_words_rescoring_a_dragged_window_and_plays_regenerations(qtbot, window, fixtures_dir):
    from core.engine import Engine
    from core.explain.explainer import ExplainSettings, explain_take
    from core.explain.regenerate import regenerate_take

    record = generate(qtbot, window, fixtures_dir / "audiogen")
    panel, controller = window.explain.panel, window.explain
    controller.settings = ExplainSettings(epochs=2)
    assert [w for w, s in panel.prompt_view.words()] == PROMPT.split()
    assert all(s is None for _, s in panel.prompt_view.words()) and not panel.factual_button.isEnabled()
    stages = []
    window.controller.progress.connect(lambda stage, step, total, text: stages.append((stage, text)))
    with qtbot.waitSignal(controller.explained, timeout=TIMEOUT_MS) as blocker:
        qtbot.mouseClick(panel.explain_button, Qt.MouseButton.LeftButton)
        assert window.generate_panel.queue_list.item(0).text().startswith("▶ explain")
        assert not panel.explain_button.isEnabled()  # busy while its job runs
    assert blocker.args == [record.id]
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert ("explaining", "Explaining: step 2 of 2") in stages

    # The same explanation as core computes for the take on its own, in the precision the take records.
    take = load_take(record.sidecar_path)
    model = Engine(precision=take.extra["precision"]).load(record.model)
    expected = explain_take(model, take, ExplainSettings(epochs=2))
    shown = panel.prompt_view.words()
    assert [w for w, _ in shown] == [w for w, _ in expected.words] == PROMPT.split()
    np.testing.assert_allclose([s for _, s in shown], [s for _, s in expected.words], atol=1e-6)
    assert panel.scope.text() == "Whole take"
    top = max(range(len(shown)), key=lambda i: shown[i][1])
    centre = panel.prompt_view.word_rects()[top].center()
    assert panel.prompt_view.tooltip_at(centre) == f"{shown[top][0]}: importance {shown[top][1]:.2f}"

    # Dragging across the waveform re-scores that window at once (no job).
    waveform = window.takes_panel.detail.waveform
    with qtbot.assertNotEmitted(window.controller.queue.started):
        drag_on_waveform(waveform, 0.2, 0.6)
    start, end = waveform.selection()
    assert start == pytest.approx(0.2, abs=0.02) and end == pytest.approx(0.6, abs=0.02)
    assert panel.scope.text() == f"From {start:.2f} s to {end:.2f} s"
    windowed = expected.rescore((start, end)).words
    np.testing.assert_allclose([s for _, s in panel.prompt_view.words()], [s for _, s in windowed], atol=1e-6)
    qtbot.mouseClick(panel.whole_button, Qt.MouseButton.LeftButton)
    assert waveform.selection() is None and panel.scope.text() == "Whole take"

    # Play factual / counterfactual: regenerated in the worker once, then from the cache.
    for counterfactual, button in ((False, panel.factual_button), (True, panel.counterfactual_button)):
        with qtbot.waitSignal(window.controller.queue.finished, timeout=TIMEOUT_MS) as done:
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        job, result = done.args
        assert job.title.startswith("counterfactual of" if counterfactual else "factual of")
        reference = regenerate_take(model, take, expected, counterfactual=counterfactual)
        np.testing.assert_allclose(result.wav, reference.wav, atol=1e-5)
        assert controller.state(record.id).regenerated[counterfactual] is result
        qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
        with qtbot.assertNotEmitted(window.controller.queue.started):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    factual = controller.state(record.id).regenerated[False].wav
    counter = controller.state(record.id).regenerated[True].wav
    assert factual.shape == counter.shape == take.wav.shape and not np.array_equal(factual, counter)
    window.takes_panel.player.stop()


def test_cancel_stops_an_explanation_within_an_epoch(qtbot, window, fixtures_dir, no_dangling_threads):
    from core.explain.explainer import ExplainSettings

    generate(qtbot, window, fixtures_dir / "audiogen", seconds=0.5)
    window.explain.settings = ExplainSettings(epochs=100_000)
    window.controller.progress.connect(
        lambda stage, step, total, text: window.generate_panel.cancel_button.click() if stage == "explaining" else None
    )
    with qtbot.waitSignal(window.controller.queue.cancelled, timeout=TIMEOUT_MS):
        window.explain.panel.explain_button.click()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert window.explain.state(window.takes_panel.current().id) is None
    assert all(s is None for _, s in window.explain.panel.prompt_view.words())
    assert window.explain.panel.explain_button.isEnabled()
    assert "nothing was kept" in window.statusBar().currentMessage()
    assert no_dangling_threads  # the fixture fails the test if the explain job's thread is still running


def test_a_failing_explanation_is_one_readable_message(qtbot, window):
    record_take(window, {"family": "audiogen"}, model="facebook/audiogen-medium")  # not in the fixture cache
    with qtbot.waitSignal(window.controller.error, timeout=TIMEOUT_MS) as blocker:
        window.explain.action.trigger()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert "facebook/audiogen-medium" in blocker.args[0] and "not downloaded yet" in blocker.args[0]
    assert window.error_box.isVisible() and window.error_box.text() == blocker.args[0]
    assert window.explain.panel.explain_button.isEnabled()


def test_explain_is_disabled_with_a_reason_for_magnet_and_melody_takes(qtbot, window):
    panel = window.explain.panel
    record_take(window, {"family": "magnet"}, model="facebook/magnet-small-10secs")
    assert not panel.explain_button.isEnabled() and not window.explain.action.isEnabled()
    assert "MAGNeT takes cannot be explained" in panel.explain_button.toolTip()
    with qtbot.assertNotEmitted(window.controller.queue.started):
        window.explain.explain()
    record_take(window, {"family": "musicgen", "melody": "/tmp/tune.wav"})
    assert not panel.explain_button.isEnabled() and "Melody takes" in panel.explain_button.toolTip()
    record_take(window, {"family": "musicgen"}, model="facebook/musicgen-melody")  # a melody model, no melody
    assert not panel.explain_button.isEnabled() and "Melody takes" in window.explain.action.toolTip()
    record_take(window, {"family": "musicgen"})
    assert panel.explain_button.isEnabled() and "AudioGenX" in panel.explain_button.toolTip()

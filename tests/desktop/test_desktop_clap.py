"""The window's CLAP features on the fixture models: ranked generations, cancel while scoring, search by sound,
"More like this" and the "Index the library" job."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from PySide6.QtCore import QSettings

from core.clap.loading import SEARCH_CLAP
from desktop.main_window import MainWindow
from desktop.takes.library_model import RecordRole, ScoreRole
from desktop.takes.view import summary_line

TIMEOUT_MS = 180_000


@pytest.fixture
def window(qtbot, tmp_settings, tmp_path, no_dangling_threads, fixtures_dir):
    settings = QSettings()
    settings.setValue("preferences/library_dir", str(tmp_path / "library"))
    window = MainWindow(settings)
    window.resize(1100, 750)
    window.show()
    panel = window.generate_panel
    panel.models.add_folder(fixtures_dir / "audiogen")
    panel.prompt.set_prompt("dog barking")
    panel.params.duration.setValue(0.3)
    panel.params.variations.setValue(3)
    yield window
    window.close()


def generate(qtbot, window: MainWindow, rank: bool) -> list:
    window.preferences = replace(window.preferences, rank_takes=rank)
    with qtbot.waitSignal(window.controller.takes_added, timeout=TIMEOUT_MS) as blocker:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    return blocker.args[0]


def rows(window: MainWindow) -> list:
    model = window.takes_panel.model
    return [(model.index(i).data(RecordRole), model.index(i).data(ScoreRole)) for i in range(model.rowCount())]


def test_ranked_generation_lists_variations_best_first_with_scores(qtbot, window):
    records = generate(qtbot, window, rank=True)
    assert len(records) == 3
    for record in records:
        score = record.extra["text_match"]
        assert json.loads(record.sidecar_path.read_text())["text_match"] == pytest.approx(score)
        assert f"match {score:.3f}" in summary_line(record)
    listed = [record.extra["text_match"] for record, _ in rows(window)]
    assert listed == sorted(listed, reverse=True)
    assert window.library.embeddings.count(SEARCH_CLAP) == 3  # embedded when added: searchable at once


def test_cancel_while_scoring_keeps_the_takes_unscored(qtbot, window):
    def on_progress(stage, step, total, text):
        if stage == "rank" and step >= 1:
            window.controller.cancel()

    window.controller.progress.connect(on_progress)
    messages = []
    window.controller.status.connect(messages.append)
    records = generate(qtbot, window, rank=True)
    assert len(records) == 3 and all(r.wav_path.is_file() for r in records)
    assert any("unscored" in m for m in messages)
    assert sum("text_match" not in r.extra for r in records) >= 1


def test_search_by_sound_more_like_this_and_index_job(qtbot, window):
    generate(qtbot, window, rank=False)
    panel = window.takes_panel
    assert window.library.embeddings.count(SEARCH_CLAP) == 0
    messages = []
    window.sound_search.message.connect(messages.append)
    with qtbot.waitSignal(window.sound_search.message, timeout=TIMEOUT_MS):
        window.index_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert window.library.embeddings.count(SEARCH_CLAP) == 3 and "Indexed 3 take(s)" in messages[-1]

    panel.search.setText("barking dog")
    with qtbot.waitSignal(window.sound_search.ranked, timeout=TIMEOUT_MS):
        panel.by_sound.setChecked(True)
    shown = rows(window)
    assert len(shown) == 3 and all(score is not None for _, score in shown)
    assert [s for _, s in shown] == sorted((s for _, s in shown), reverse=True)

    first = shown[0][0]
    panel.list.select_take(first.id)
    with qtbot.waitSignal(window.sound_search.ranked, timeout=10_000):
        panel.more_like_action.trigger()
    like = rows(window)
    assert first.id not in [record.id for record, _ in like] and len(like) == 2

    panel.by_sound.setChecked(False)  # back to the plain list
    assert all(score is None for _, score in rows(window)) and len(rows(window)) == 3


def test_preferences_dialog_turns_ranking_on(qtbot, window):
    from desktop.dialogs.preferences import PreferencesDialog

    dialog = PreferencesDialog(window.preferences, window)
    dialog.rank_takes.setChecked(True)
    window._apply_preferences(dialog.preferences())
    assert window.preferences.rank_takes
    assert QSettings().value("preferences/rank_takes") in (True, "true")

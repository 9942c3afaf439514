"""The window's CLAP features on the fixture models: ranked generations, cancel while scoring, search by sound,
"More like this" and the "Index the library" job."""

from __future__ import annotations

import html
import json
from dataclasses import replace

import pytest
from PySide6.QtCore import QSettings, Qt

from core.clap.loading import SEARCH_CLAP
from desktop.main_window import MainWindow
from desktop.takes.library_model import MatchRole, RecordRole, ScoreRole
from desktop.takes.match_words import NOT_INDEXED
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
    window.services.preferences = replace(window.preferences, rank_takes=rank)
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
    listed = [record.extra["text_match"] for record, _ in rows(window)]
    assert listed == sorted(listed, reverse=True)
    # each row says in words where the take stands among the takes of its prompt, the number only in its tooltip
    model = window.takes_panel.model
    labels = [model.index(i).data(MatchRole) for i in range(3)]
    assert labels[0].endswith("best fit of 3") and labels[1].endswith("2nd fit of 3"), labels
    best = model.index(0)
    assert labels[0] in summary_line(best.data(RecordRole), labels[0]) and "match" not in labels[0]
    tip = best.data(Qt.ItemDataRole.ToolTipRole)
    assert "fits the words of its prompt" in tip and f"{listed[0]:.3f}" in tip
    panel = window.takes_panel  # the details of the selected take say it too
    assert " fit of 3" in panel.model.match_words(panel.current())[0]
    assert html.escape(panel.model.match_words(panel.current())[0]) in panel.detail.info.text()
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


def test_search_by_sound_indexes_takes_made_while_ranking_was_off(qtbot, window):
    generate(qtbot, window, rank=False)
    panel = window.takes_panel
    assert window.library.embeddings.count(SEARCH_CLAP) == 0
    panel.search.setText("barking dog")
    with qtbot.waitSignal(window.sound_search.ranked, timeout=TIMEOUT_MS):
        panel.by_sound.setChecked(True)  # the first search by sound indexes the takes first
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    shown = rows(window)
    assert len(shown) == 3 and all(score is not None for _, score in shown)
    assert window.library.embeddings.count(SEARCH_CLAP) == 3
    assert not panel.results_bar.isHidden() and "3 take(s), closest first" in panel.results.text()
    labels = [panel.model.index(i).data(MatchRole) for i in range(3)]
    assert labels[0] == "▰▰▰▰▰ closest of 3" and labels[2].endswith("3rd closest of 3"), labels


def test_takes_that_cannot_be_indexed_are_listed_last_and_the_list_says_so(qtbot, window):
    records = generate(qtbot, window, rank=False)
    records[1].wav_path.write_bytes(b"not audio")  # indexing skips it: it stays without an embedding
    panel = window.takes_panel
    panel.search.setText("barking dog")
    with qtbot.waitSignal(window.sound_search.ranked, timeout=TIMEOUT_MS):
        panel.by_sound.setChecked(True)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    shown = rows(window)
    assert len(shown) == 3 and shown[-1][0].id == records[1].id and shown[-1][1] is None
    assert all(score is not None for _, score in shown[:2])
    assert panel.model.index(2).data(MatchRole) == NOT_INDEXED
    window.statusBar().clearMessage()  # the status line goes; the note above the list stays
    assert not panel.results_bar.isHidden() and "1 not indexed yet" in panel.results.text()


def test_existing_takes_are_ranked_from_the_window(qtbot, window):
    records = generate(qtbot, window, rank=False)
    panel = window.takes_panel
    panel.list.select_take(records[2].id)
    with qtbot.waitSignal(window.sound_search.scored, timeout=TIMEOUT_MS) as blocker:
        panel.rank_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    scored = blocker.args[0]
    assert sorted(r.id for r in scored) == sorted(r.id for r in records)
    scores = [window.library.get(r.id).extra["text_match"] for r in scored]
    assert scores == sorted(scores, reverse=True)
    assert panel.current().id == scored[0].id
    assert panel.model.index(0).data(MatchRole).endswith("best fit of 3")


def test_more_like_this_clears_the_text_query_it_no_longer_answers(qtbot, window):
    generate(qtbot, window, rank=True)
    panel = window.takes_panel
    panel.search.setText("barking dog")
    with qtbot.waitSignal(window.sound_search.ranked, timeout=TIMEOUT_MS):
        panel.by_sound.setChecked(True)
    first = panel.current()
    with qtbot.waitSignal(window.sound_search.ranked, timeout=TIMEOUT_MS):
        panel.more_like_action.trigger()
    assert panel.search.text() == "" and first.name in panel.search.placeholderText()
    assert f"More like “{first.name}”" in panel.results.text() and panel.model.rowCount() == 2
    panel.show_all.click()
    assert panel.results_bar.isHidden() and panel.model.rowCount() == 3 and not panel.by_sound.isChecked()

"""Hearing a take while it generates, and compact mode, on the real window with the fixture models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.codec.preview import CHUNK_FRAMES
from core.takes.library import DB_NAME
from desktop.main_window import MainWindow
from desktop.playback import output_devices

GENERATION_TIMEOUT_MS = 180_000
PREVIEW_BOUND = 1e-4
"""Largest |joined preview chunks - final take| allowed; measured 2.6e-6 on the fixtures (core.codec.preview)."""


def prepare(window: MainWindow, model_dir: Path, seconds: float, count: int = 1) -> None:
    panel = window.generate_panel
    panel.models.add_folder(model_dir)
    panel.prompt.set_prompt("rain on a tin roof")
    panel.params.duration.setValue(seconds)
    panel.params.variations.setValue(count)


def take_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != DB_NAME) if folder.is_dir() else []


def test_preview_chunks_arrive_while_generating_and_join_into_the_take(qtbot, make_window, fixtures_dir):
    window = make_window()
    prepare(window, fixtures_dir / "musicgen", seconds=1.2, count=2)
    assert window.preferences.preview  # on unless the user turns it off
    events: list[tuple[str, int]] = []
    window.controller.preview_chunk.connect(lambda i, samples, rate, last: events.append(("chunk", i)))
    grown: list[tuple[int, int]] = []  # (variation followed, samples shown)
    window.live.changed.connect(
        lambda: grown.append((window.live.variation, 0 if window.live.wav is None else window.live.wav.shape[-1]))
    )
    with qtbot.waitSignal(window.controller.takes_added, timeout=GENERATION_TIMEOUT_MS) as added:
        window.controller.takes_added.connect(lambda records: events.append(("takes", len(records))))
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)

    records = added.args[0]
    # 60 frames per variation: chunks of CHUNK_FRAMES came before the takes were recorded.
    assert events[-1] == ("takes", 2)
    for variation in (0, 1):
        assert sum(1 for e in events[:-1] if e == ("chunk", variation)) >= 60 // CHUNK_FRAMES
    # The two variations are decoded together; the preview follows the first until it is complete (it never
    # jumps between them), then shows the second.
    first = [n for v, n in grown if v == 0 and n > 0]
    assert len(first) >= 2 and first == sorted(first) and first[0] < first[-1]
    assert [v for v, _ in grown if v is not None] == sorted(v for v, _ in grown if v is not None)
    # Each variation's chunks, joined, are its final take (written to the library) within the stated bound.
    for variation, record in enumerate(records):
        final, rate = sf.read(record.wav_path, dtype="float32", always_2d=True)  # [N, C]
        joined = np.concatenate(window.live.chunks[variation], axis=-1)  # [C, N]
        assert rate == 32000 and joined.shape == final.T.shape
        assert np.abs(joined - final.T).max() < PREVIEW_BOUND
    # The recorded take replaces the preview in the detail view.
    assert not window.live.active
    assert window.takes_panel.current().id == records[0].id
    assert window.takes_panel.detail.record.id == records[0].id


def test_cancel_during_preview_keeps_nothing_and_stops_playback(qtbot, make_window, fixtures_dir):
    if not output_devices():
        pytest.skip("no PortAudio output device (install libportaudio2 and give ALSA a null default device)")
    window = make_window()
    prepare(window, fixtures_dir / "musicgen", seconds=3.0)
    with qtbot.waitSignal(window.controller.preview_chunk, timeout=GENERATION_TIMEOUT_MS):
        window.generate()
    qtbot.waitUntil(lambda: window.live.active, timeout=5_000)
    assert window.takes_panel.play_action.isEnabled()  # Play works on the preview
    window.takes_panel.play_action.trigger()
    assert window.takes_panel.player.is_playing(window.live.key)
    with qtbot.waitSignal(window.controller.queue.idle, timeout=GENERATION_TIMEOUT_MS):
        window.cancel_action.trigger()
    assert not window.takes_panel.player.is_playing()
    assert window.live.wav is None and not window.live.active
    assert window.takes_panel.model.rowCount() == 0
    assert take_files(make_window.library) == []
    assert "nothing was kept" in window.statusBar().currentMessage()


def test_preview_off_in_preferences_sends_no_chunks(qtbot, make_window, fixtures_dir):
    window = make_window()
    prepare(window, fixtures_dir / "musicgen", seconds=0.8)
    window.preferences.preview = False
    chunks = []
    window.controller.preview_chunk.connect(lambda *args: chunks.append(args))
    with qtbot.waitSignal(window.controller.takes_added, timeout=GENERATION_TIMEOUT_MS):
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert chunks == []


def test_compact_mode_round_trip_keeps_queue_and_selection(qtbot, make_window, fixtures_dir):
    window = make_window()
    prepare(window, fixtures_dir / "musicgen", seconds=0.5, count=2)
    window.preferences.preview = False
    with qtbot.waitSignal(window.controller.takes_added, timeout=GENERATION_TIMEOUT_MS) as added:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    first, second = added.args[0]
    window.takes_panel.list.select_take(second.id)

    window.compact.action.trigger()  # to compact mode
    compact = window.compact.window
    assert compact.isVisible() and not window.isVisible()
    assert compact.windowFlags() & compact.windowFlags().WindowStaysOnTopHint
    assert compact.current().id == second.id  # the same selection
    assert compact.model.currentData() == window.generate_panel.models.current_ref()
    assert compact.list.model() is window.takes_panel.model  # the same library rows: thumbnails, drag-out
    compact.prompt.setText("a door creaks open")
    recorded: list[list] = []
    window.controller.takes_added.connect(recorded.append)
    with qtbot.waitSignal(window.controller.queue.started, timeout=10_000):
        compact.generate_button.click()  # the main window's controller: one queue, one engine
    job = window.controller.queue.current
    assert job is not None and "a door creaks open" in job.title
    assert compact.cancel_button.isEnabled()

    compact.expand_button.click()  # and back
    assert window.isVisible() and not compact.isVisible()
    assert window.controller.queue.current is job or job not in window.controller.queue.jobs()
    assert window.takes_panel.current().id == second.id
    assert window.generate_panel.prompt.prompt() == "a door creaks open"
    qtbot.waitUntil(lambda: bool(recorded) and not window.controller.busy, timeout=GENERATION_TIMEOUT_MS)
    assert [r.prompt for r in recorded[0]] == ["a door creaks open"] * 2

    # Clicking a take in the compact window selects it in both; the compact window remembers its size.
    window.compact.set_compact(True)
    compact.list.setCurrentIndex(compact.list.model().index(window.takes_panel.model.row_of(first.id)))
    assert window.takes_panel.current().id == first.id
    compact.resize(410, 520)
    window.compact.set_compact(False)
    window.close()
    again = make_window()
    again.compact.set_compact(True)
    assert again.compact.window.size().width() == 410 and again.compact.window.size().height() == 520
    again.compact.set_compact(False)

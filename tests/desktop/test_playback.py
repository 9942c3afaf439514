"""Playback through a real PortAudio stream (CI: ALSA `null` default device): play, end, loop, bad device."""

from __future__ import annotations

import numpy as np
import pytest

from desktop import playback
from desktop.playback import Player, output_devices

pytestmark = pytest.mark.usefixtures("no_dangling_threads")


def require_output_device():
    if not output_devices():
        pytest.skip("no PortAudio output device (install libportaudio2 and give ALSA a null default device)")


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return np.tile(0.2 * np.sin(2 * np.pi * 440 * t), (channels, 1)).astype(np.float32)  # [C, N]


def test_play_runs_to_the_end_and_stops(qtbot):
    require_output_device()
    player = Player()
    positions = []
    player.position.connect(lambda key, seconds: positions.append(seconds))
    with qtbot.waitSignal(player.stopped, timeout=10_000) as stopped:
        with qtbot.waitSignal(player.started, timeout=2000) as started:
            assert player.play("take-1", tone(0.3), 16000)
    assert started.args == ["take-1"] and stopped.args == ["take-1"]
    assert not player.is_playing()
    assert positions and positions[-1] == pytest.approx(0.3, abs=1e-3)
    assert all(b >= a for a, b in zip(positions, positions[1:], strict=False))


def test_stereo_plays_and_stop_is_immediate(qtbot):
    require_output_device()
    player = Player()
    assert player.play(5, tone(0.2, 32000, channels=2), 32000, loop=True)
    assert player.is_playing(5) and not player.is_playing(6)
    qtbot.wait(100)
    assert player.is_playing(5)  # a looping sound keeps going until stopped
    with qtbot.waitSignal(player.stopped, timeout=1000):
        player.stop()
    assert player.playing_key is None


def test_loop_wraps_around(qtbot):
    require_output_device()
    player = Player()
    player.play("loop", tone(0.05), 16000, loop=True)
    cursor = player._cursor
    qtbot.waitUntil(lambda: cursor.position < len(cursor.frames) // 2 and cursor.position > 0, timeout=5000)
    player.set_loop(False)
    qtbot.waitUntil(lambda: not player.is_playing(), timeout=5000)


def test_bad_device_is_a_message_not_a_crash(qtbot):
    require_output_device()
    player = Player()
    player.set_device(9999)
    with qtbot.waitSignal(player.error, timeout=1000) as blocker:
        assert not player.play("x", tone(0.1), 16000)
    assert blocker.args[0].startswith("Cannot play audio on this machine")
    assert not player.is_playing()


def test_empty_sound_and_missing_portaudio(qtbot, monkeypatch):
    player = Player()
    if player.available:
        with qtbot.waitSignal(player.error, timeout=1000) as blocker:
            player.play("x", np.zeros((1, 0), np.float32), 16000)
        assert blocker.args == ["This take holds no audio to play."]
    monkeypatch.setattr(playback, "sd", None)
    monkeypatch.setattr(playback, "_IMPORT_ERROR", "PortAudio library not found")
    assert output_devices() == []
    with qtbot.waitSignal(player.error, timeout=1000) as blocker:
        assert not player.play("x", tone(0.1), 16000)
    assert blocker.args == ["Playback is unavailable: PortAudio library not found."]


def test_seek_goes_on_from_that_moment_and_only_for_the_sound_playing(qtbot):
    """The preview's "Listen to" switches variations mid-way: the other one plays on from the same moment."""
    require_output_device()
    player = Player()
    positions: list[float] = []
    player.position.connect(lambda key, seconds: positions.append(seconds))
    assert player.play_growing("preview", tone(2.0), 16000)
    player.seek("other", 1.5)  # not playing: ignored
    assert player._cursor.position < 16000
    player.seek("preview", 1.5)
    qtbot.waitUntil(lambda: bool(positions), timeout=5000)  # the playhead is polled on this thread: after seek
    assert all(seconds >= 1.5 for seconds in positions)
    player.stop()

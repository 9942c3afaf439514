"""Desktop widgets on their own: waveform maths, parameters panel, prompt editor, audio drop slots, crash hook."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from core.models.capabilities import Capabilities
from core.models.catalog import CATALOG
from core.params import GenerationParams
from desktop.crash import ExceptionHandler, setup_logging
from desktop.generate.audio_slot import AudioSlot
from desktop.generate.params_panel import ParamsPanel, load_presets
from desktop.generate.prompt_editor import PromptEditor
from desktop.widgets.waveform import WaveformView, peaks, spectrogram_db, waveform_pixmap


def test_peaks_are_per_bin_extremes_over_channels():
    wav = np.array([[0.0, 0.5, -0.25, 0.1, 0.2, -0.9], [0.3, -0.1, 0.0, 0.0, 0.0, 0.4]], np.float32)  # [2, 6]
    lows, highs = peaks(wav, 3)
    np.testing.assert_array_equal(lows, np.float32([-0.1, -0.25, -0.9]))
    np.testing.assert_array_equal(highs, np.float32([0.5, 0.1, 0.4]))
    lows, highs = peaks(wav, 100)  # never more bins than samples
    assert len(lows) == 6
    assert [len(a) for a in peaks(np.zeros((1, 0), np.float32), 10)] == [1, 1]


def test_spectrogram_peak_sits_at_the_tone(qapp):
    rate = 16000
    t = np.arange(rate, dtype=np.float32) / rate
    image, frame_seconds = spectrogram_db(np.sin(2 * np.pi * 1000 * t)[None], rate)  # [F, 257]
    assert frame_seconds == 256 / rate
    assert image.shape[1] == 257
    assert int(np.argmax(image.mean(axis=0))) == 32  # 1000 Hz / (16000 Hz / 512 bins)


def test_waveform_view_and_pixmap(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    wav = np.zeros((1, 8000), np.float32)
    wav[0, 4000] = 0.75
    view.set_audio(wav, 16000)
    x, y = view.wave_data()
    assert x[-1] == pytest.approx(0.5) and y.max() == pytest.approx(0.75)
    view.set_playhead(0.25)
    assert view.playhead.value() == pytest.approx(0.25)
    view.show_spectrogram(True)
    assert view._image.isVisible() and view._image.image is not None
    view.set_audio(None)
    assert view.duration == 0.0
    pixmap = waveform_pixmap(wav, 120, 30)
    assert (pixmap.width(), pixmap.height()) == (120, 30)


def test_params_panel_round_trip_and_magnet(qtbot, tmp_settings):
    panel = ParamsPanel()
    qtbot.addWidget(panel)
    params = GenerationParams(
        duration=3.5,
        use_sampling=False,
        top_k=40,
        top_p=0.5,
        temperature=0.7,
        cfg_coef=4.5,
        decoding_steps=(8, 4, 4, 2),
        max_cfg_coef=7.0,
        min_cfg_coef=2.0,
        span_arrangement="stride1",
    )
    panel.set_params(params)
    assert panel.params() == params
    panel.set_capabilities(Capabilities.from_spec(CATALOG["facebook/magnet-small-10secs"]))
    assert panel.magnet.isVisibleTo(panel) and not panel.cfg_coef.isEnabled()
    assert not panel.extend_stride.isEnabled()
    panel.set_capabilities(Capabilities.from_spec(CATALOG["facebook/audiogen-medium"]))
    assert not panel.magnet.isVisibleTo(panel) and panel.cfg_coef.isEnabled() and panel.extend_stride.isEnabled()

    panel.seed.setValue(99)
    panel.seed_lock.setChecked(True)
    assert panel.seed_for_run() == 99 == panel.seed_for_run()
    panel.seed_lock.setChecked(False)
    seeds = {panel.seed_for_run() for _ in range(5)}
    assert len(seeds) > 1 and panel.seed.text() == "Random"  # the field never shows a seed no run keeps

    settings = QSettings()
    panel.variations.setValue(3)
    panel.save_state(settings)
    other = ParamsPanel()
    qtbot.addWidget(other)
    other.restore_state(settings)
    assert other.params() == params and other.variations.value() == 3


def test_presets_change_only_what_they_name(qtbot):
    presets = load_presets()
    assert presets and all(GenerationParams.from_dict(values) for values in presets.values())
    panel = ParamsPanel()
    qtbot.addWidget(panel)
    panel.duration.setValue(7.0)
    name = next(n for n, values in presets.items() if "duration" not in values and "cfg_coef" in values)
    panel._apply_preset(panel.preset.findText(name))
    assert panel.params().duration == 7.0
    assert panel.params().cfg_coef == presets[name]["cfg_coef"]


def test_prompt_editor_ctrl_enter_submits(qtbot):
    editor = PromptEditor()
    qtbot.addWidget(editor)
    qtbot.keyClicks(editor.text, "rain")
    qtbot.keyClick(editor.text, Qt.Key.Key_Return)  # a plain Enter is a new line
    assert editor.text.toPlainText() == "rain\n"
    with qtbot.waitSignal(editor.submitted, timeout=1000):
        qtbot.keyClick(editor.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    editor.set_recent(["a", "b", "a", ""])
    editor.remember("b")
    assert editor.recent() == ["b", "a"]
    editor.recent_menu.actions()[1].trigger()
    assert editor.prompt() == "a"


def drop(widget, path) -> bool:
    """Send a real drag-enter + drop of a file URL to `widget`; returns whether the drop was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(5, 5)
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(pos, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(pos, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_audio_slot_takes_dropped_files(qtbot, audio_dir, tmp_path):
    slot = AudioSlot("Melody", "drop here", max_seconds=2.0)
    qtbot.addWidget(slot)
    messages = []
    slot.message.connect(messages.append)
    with qtbot.waitSignal(slot.clip_changed, timeout=5000) as changed:
        assert drop(slot, audio_dir / "bach.mp3")
    clip = changed.args[0]
    assert clip is slot.clip() and clip.duration == pytest.approx(2.0, abs=0.01)
    assert messages and "cut to 2.0 s" in messages[-1]
    assert "bach.mp3" in slot.label.text() and not slot.picture.pixmap().isNull()

    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    assert drop(slot, text)
    assert messages[-1] == "Cannot use notes.txt: SoundDesk reads WAV, AIFF, FLAC, OGG and MP3 files."
    assert slot.clip() is clip  # a bad drop keeps what was there

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000WAVEjunk")
    assert drop(slot, broken)
    assert "broken.wav" in messages[-1] and slot.clip() is clip

    flac = tmp_path / "tone.flac"
    sf.write(flac, 0.1 * np.sin(np.linspace(0, 300, 8000)), 16000, format="FLAC")
    assert drop(slot, flac) and slot.clip().path == str(flac)
    with qtbot.waitSignal(slot.clip_changed, timeout=1000) as cleared:
        slot.clear_button.click()
    assert cleared.args == [None] and slot.clip() is None

    slot.setEnabled(False)  # a melody slot with a model that takes no melody refuses drops
    assert not drop(slot, flac)


def test_exception_hook_logs_and_shows_one_dialog(qtbot, tmp_path, capsys):
    log_path = setup_logging(tmp_path / "logs" / "sounddesk.log")
    handler = ExceptionHandler(log_path)
    handler.install()
    try:
        for i in range(20):  # a storm: the same failure from a timer, say
            try:
                raise RuntimeError(f"boom {i}")
            except RuntimeError as exc:
                import sys

                sys.excepthook(type(exc), exc, exc.__traceback__)
        qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible(), timeout=2000)
        qtbot.wait(50)
        assert handler.shown == 1
        assert "boom 0" in handler.dialog.text() and str(log_path) in handler.dialog.informativeText()
        for h in logging.getLogger().handlers:
            h.flush()
        text = log_path.read_text()
        assert "boom 0" in text and "boom 19" in text and "Traceback" in text
        assert "RuntimeError: boom 19" in capsys.readouterr().err  # a crash at start is seen in the terminal too
        handler.dialog.accept()
    finally:
        handler.uninstall()
        root = logging.getLogger()
        for h in list(root.handlers):
            if getattr(h, "baseFilename", "") == str(log_path):
                root.removeHandler(h)
                h.close()


def test_a_damaged_take_still_gets_a_drag_picture(tmp_path):
    """A WAV that no longer decodes must not crash the drag: its file goes out with a flat picture."""
    from core.takes.library import TakeRecord
    from desktop.takes.drag import picture_audio, take_mime_data

    wav = tmp_path / "broken.wav"
    wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    record = TakeRecord(
        1,
        "p",
        "m",
        0,
        GenerationParams(),
        wav,
        tmp_path / "c.npy",
        tmp_path / "s.json",
        32000,
        1,
        1.0,
        "p #0",  # its default name: the drag hands out the library file itself
        False,
        False,
        0.0,
    )
    assert picture_audio(record).shape == (1, 2)
    assert [u.toLocalFile() for u in take_mime_data(record).urls()] == [str(wav)]

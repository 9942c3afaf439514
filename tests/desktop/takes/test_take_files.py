"""What reaches the DAW and where it lies: a renamed take is dragged out and exported under its name, the export
dialog's naming, trim and fades, "Show in folder" after an export, and a library folder a user can find."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from core.export.settings import ExportSettings
from core.takes.library import DB_NAME
from desktop.dialogs.preferences import PreferencesDialog
from desktop.settings import Preferences
from desktop.takes.drag import take_mime_data

TIMEOUT_MS = 120_000


class Opened(QObject):
    """Receives what the window asks the desktop to open (QDesktopServices' handler for file URLs)."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[Path] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.paths.append(Path(url.toLocalFile()))


@pytest.fixture
def opened(qapp):
    handler = Opened()
    QDesktopServices.setUrlHandler("file", handler, "open")
    yield handler
    QDesktopServices.unsetUrlHandler("file")


@pytest.fixture
def take(qtbot, make_window, fixtures_dir):
    """A window with one fresh 0.3 s take selected; returns (window, record)."""
    window = make_window()
    panel = window.generate_panel
    panel.models.add_folder(fixtures_dir / "audiogen")
    panel.prompt.set_prompt("rain on a tin roof")
    panel.params.duration.setValue(0.3)
    panel.params.variations.setValue(1)
    with qtbot.waitSignal(window.controller.takes_added, timeout=TIMEOUT_MS) as blocker:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    return window, blocker.args[0][0]


def test_a_renamed_take_is_dragged_out_and_exported_under_its_name(take, tmp_path):
    window, record = take
    panel = window.takes_panel
    panel.rename_current("Tin roof rain")
    renamed = panel.current()
    dragged = [Path(url.toLocalFile()) for url in take_mime_data(renamed).urls()]
    assert [p.name for p in dragged] == ["Tin roof rain.wav"] and dragged[0].parent.name == "Named"
    assert dragged[0].read_bytes() == record.wav_path.read_bytes()
    assert record.wav_path.is_file() and renamed.wav_path == record.wav_path  # what a DAW already uses stays
    assert [Path(u.toLocalFile()) for u in take_mime_data(renamed).urls()] == dragged  # dragged again: one file

    dialog = window.exporter.dialog(renamed)  # the export is named after the take by default
    assert dialog.naming.currentText() == "{name}" and "Tin roof rain.wav" in dialog.file_name.text()
    result = window.exporter.export(renamed, tmp_path / "out", dialog.export_settings())
    assert result is not None and result.path.name == "Tin roof rain.wav"


def test_an_unrenamed_take_keeps_its_library_file_and_prompt_model_seed_export(take, tmp_path):
    window, record = take
    assert [Path(u.toLocalFile()) for u in take_mime_data(record).urls()] == [record.wav_path]
    result = window.exporter.export(record, tmp_path / "out", ExportSettings(naming="{name}"))
    assert result.path.name == f"rain-on-a-tin-roof_audiogen_{record.seed}.wav"


def test_export_dialog_trims_fades_and_remembers_them(take, tmp_path):
    window, record = take
    dialog = window.exporter.dialog(record)
    dialog.trim.setChecked(True)
    dialog.fade_in.setValue(50)
    dialog.fade_out.setValue(100)
    dialog.naming.setEditText("{prompt}_{seed}")
    assert dialog.file_name.text().endswith(f"rain-on-a-tin-roof_{record.seed}.wav")
    settings = dialog.export_settings()
    assert (settings.trim_silence, settings.fade_in, settings.fade_out) == (-60.0, 0.05, 0.1)
    dialog.naming.setEditText("{bogus}")  # a pattern that cannot be used says so and cannot be accepted
    assert not dialog.ok_button.isEnabled() and "{bogus}" in dialog.file_name.text()
    dialog.naming.setEditText("{prompt}_{seed}")
    result = window.exporter.export(record, tmp_path / "out", dialog.export_settings())
    audio, _ = sf.read(result.path, always_2d=True)
    assert np.abs(audio[-1]).max() < 1e-3  # faded out to silence
    dialog.remember()
    again = window.exporter.dialog(record)
    assert again.trim.isChecked() and again.fade_out.value() == 100 and again.naming.currentText() == "{prompt}_{seed}"


def test_show_in_folder_after_an_export_and_the_library_and_exports_folders(take, opened, tmp_path):
    window, record = take
    button = window.exporter.reveal_button
    assert button.isHidden()
    result = window.exporter.export(record, tmp_path / "out", ExportSettings())
    assert not button.isHidden() and str(result.path) in window.statusBar().currentMessage()
    button.click()
    window.reveal_library_action.trigger()
    window.reveal_exports_action.trigger()
    library = window.preferences.library_dir
    assert opened.paths == [tmp_path / "out", library, library / "exports"]
    assert (library / "exports").is_dir()

    dialog = PreferencesDialog(window.preferences, window)  # the library's place is shown, with an Open button
    assert dialog.library_dir.text() == str(library)
    dialog.library_field.open_button.click()
    assert opened.paths[-1] == library


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG folders platformdirs reads on Linux")
def test_the_default_library_is_a_visible_music_folder(tmp_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_MUSIC_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    from PySide6.QtCore import QSettings

    folder = Preferences.load(QSettings()).library_dir
    assert folder == tmp_path / "Music" / "SoundDesk"
    assert not any(part.startswith(".") for part in folder.relative_to(tmp_path).parts)
    legacy = tmp_path / ".local" / "share" / "SoundDesk" / "library"  # a library kept there earlier stays in use
    legacy.mkdir(parents=True)
    (legacy / DB_NAME).write_bytes(b"")
    assert Preferences.load(QSettings()).library_dir == legacy

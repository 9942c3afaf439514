"""Safe writing: existing files are never replaced silently, and a failed write leaves nothing behind."""

from __future__ import annotations

import errno
import os

import pytest

import core.takes.atomic
from core.errors import ExportError
from core.export.writer import ExportSettings, export_take
from tests.core.export.test_export import make_take, noise_tone

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def take():
    return make_take(noise_tone(channels=2, seconds=1.0))


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_existing_files_get_a_numbered_name(tmp_path, take) -> None:
    first = export_take(take, tmp_path, ExportSettings())
    before = first.path.read_bytes()
    second = export_take(take, tmp_path, ExportSettings())
    assert second.path.name == first.path.stem + "-2.wav" and first.path.read_bytes() == before
    assert len(_names(tmp_path)) == 4  # two audio files, two sidecars


def test_error_mode_refuses_and_keeps_the_old_file(tmp_path, take) -> None:
    first = export_take(take, tmp_path, ExportSettings())
    before = _names(tmp_path), first.path.read_bytes()
    with pytest.raises(ExportError, match="already exists"):
        export_take(take, tmp_path, ExportSettings(if_exists="error"))
    assert (_names(tmp_path), first.path.read_bytes()) == before


def test_overwrite_mode_replaces(tmp_path, take) -> None:
    first = export_take(take, tmp_path, ExportSettings(format="wav16"))
    quiet = make_take(take.wav * 0.1)
    again = export_take(quiet, tmp_path, ExportSettings(format="wav16", if_exists="overwrite"))
    assert again.path == first.path and _names(tmp_path) == [first.path.name, first.sidecar.name]


def _failing_write(after_fraction: float, only_json: bool = False):
    real = os.write

    def write(fd, data):
        view = memoryview(data)
        if only_json and bytes(view[:1]) != b"{":
            return real(fd, data)
        real(fd, view[: int(len(view) * after_fraction)])  # part of the data reaches the disk ...
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # ... then it is full

    return write


def test_disk_full_mid_write_leaves_nothing(tmp_path, take, monkeypatch) -> None:
    (tmp_path / "keep.txt").write_text("x")
    monkeypatch.setattr(core.takes.atomic.os, "write", _failing_write(0.5))
    with pytest.raises(ExportError, match="disk is full"):
        export_take(take, tmp_path, ExportSettings())
    assert _names(tmp_path) == ["keep.txt"]


def test_failure_on_the_sidecar_removes_the_audio_too(tmp_path, take, monkeypatch) -> None:
    monkeypatch.setattr(core.takes.atomic.os, "write", _failing_write(0.3, only_json=True))
    with pytest.raises(ExportError, match="disk is full"):
        export_take(take, tmp_path, ExportSettings(format="flac24"))
    assert _names(tmp_path) == []


def test_permission_denied_simulated(tmp_path, take, monkeypatch) -> None:
    real = os.open

    def deny(path, flags, *args):
        if os.path.dirname(os.fspath(path)) == os.fspath(tmp_path) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real(path, flags, *args)

    monkeypatch.setattr(core.takes.atomic.os, "open", deny)
    with pytest.raises(ExportError, match="Permission denied"):
        export_take(take, tmp_path, ExportSettings())
    assert _names(tmp_path) == []


@pytest.mark.skipif(IS_ROOT, reason="root ignores folder permissions; test_permission_denied_simulated covers it")
@pytest.mark.skipif(os.name == "nt", reason="chmod cannot make a folder read-only on Windows")
def test_permission_denied_on_a_read_only_folder(tmp_path, take) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ExportError, match="Permission denied"):
            export_take(take, folder, ExportSettings())
        assert _names(folder) == []
    finally:
        folder.chmod(0o755)


def test_output_location_that_is_a_file(tmp_path, take) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="output"):
        export_take(take, blocker, ExportSettings())

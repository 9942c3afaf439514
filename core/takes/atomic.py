"""Writing files so each appears whole or not at all: `write_files` for a group of files (OS failures become
ExportError sentences), `write_with` for one file a library writes itself. The one atomic writer of SoundDesk.

Every file is first written to a hidden temporary name in its own folder (same file system, so the final
rename is atomic), then committed. Without `overwrite`, the commit is a hard link, which fails if the target
appeared in the meantime: an existing file is never replaced silently. On any failure (or a stop: SIGINT,
SIGTERM) every temporary file and every file this call already committed is removed, and the commit itself runs
shielded from signals. A temporary name carries its writer's process id (`.NAME.PID.HEX.part`); one left by a
killed process is removed at the next write into that folder.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from core.errors import ExportError
from core.takes.interrupts import shielded

CHUNK = 1 << 20
STALE_AGE_S = 3600.0
_TEMP = re.compile(r"^\.(?P<target>.+?)\.(?:\d+\.)?[0-9a-f]{8}\.part$")  # .NAME[.PID].HEX.part
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.ENOSYS, errno.EMLINK, errno.EOPNOTSUPP}


def ensure_folder(folder: Path) -> Path:
    """Create `folder` (and parents) or raise ExportError saying why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot create the output folder {folder}: {_reason(exc, folder)}.") from exc
    if not folder.is_dir():
        raise ExportError(f"The output location {folder} is not a folder.")
    return folder


def write_files(files: Sequence[tuple[Path, bytes]], overwrite: bool = False) -> None:
    """Write every (path, data) pair completely, or none of them (raises ExportError)."""
    temps: list[tuple[Path, Path]] = []
    committed: list[Path] = []
    current = files[0][0] if files else Path()
    for folder in {path.parent for path, _ in files}:
        sweep_stale_parts(folder)
    try:
        for path, data in files:
            current = path
            temps.append((_write_temp(path, data), path))
        with shielded():
            for tmp, path in temps:
                current = path
                _commit(tmp, path, overwrite)
                committed.append(path)
    except BaseException as exc:
        for tmp, _ in temps:
            _remove(tmp)
        for path in committed:
            _remove(path)
        if isinstance(exc, FileExistsError):
            raise NameTakenError(describe(exc, current)) from exc
        if isinstance(exc, OSError):
            raise ExportError(describe(exc, current)) from exc
        raise


class NameTakenError(ExportError):
    """A target file appeared before it could be committed (another writer claimed the name)."""


def sweep_stale_parts(folder: Path) -> list[Path]:
    """Remove temporary `.part` files that a killed process left in `folder`; returns what was removed.

    A part file naming a process that no longer runs is stale; one without a process id (older versions) is
    stale once it is an hour old. Another live writer's part files are never touched.
    """
    removed = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".") and e.name.endswith(".part")]
    except OSError:
        return removed
    for entry in entries:
        if _is_stale(entry):
            path = Path(entry.path)
            _remove(path)
            removed.append(path)
    return removed


def _is_stale(entry: os.DirEntry) -> bool:
    parts = entry.name.split(".")
    pid = parts[-3] if len(parts) >= 5 else ""
    if pid.isdigit() and os.name == "posix":  # elsewhere os.kill(pid, 0) is no harmless probe
        return int(pid) != os.getpid() and not _alive(int(pid))
    try:
        return time.time() - entry.stat().st_mtime > STALE_AGE_S
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def temp_target(name: str) -> str | None:
    """The file name a temporary file named `name` was about to become, or None if it is not one of ours.

    A process killed mid-write leaves these behind (and, if it was committing, part of its group).
    """
    match = _TEMP.match(name)
    return match.group("target") if match else None


def write_with(path: Path, write: Callable[[Path], object]) -> None:
    """`write(tmp)` to a temporary name beside `path`, then replace `path` with it: for a file a library writes
    to a path itself (safetensors, text); a crash never leaves half a file at `path`. OSError as raised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")


def _write_temp(path: Path, data: bytes) -> Path:
    tmp = _temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view[:CHUNK])
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _remove(tmp)
        raise
    os.close(fd)
    return tmp


def _commit(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails with FileExistsError instead of replacing
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        if path.exists():  # file system without hard links: check, then rename
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from exc
        os.replace(tmp, path)
        return
    _remove(tmp)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _reason(exc: OSError, path: Path) -> str:
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the disk is read-only"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long for this file system"
    return exc.strerror or str(exc)


def describe(exc: OSError, path: Path) -> str:
    """One sentence for a failed write of `path`."""
    if isinstance(exc, FileExistsError):
        return f"{path} already exists; choose another name or allow overwriting it."
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return f"Permission denied: cannot write {path.name} into {path.parent}."
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"The disk is full: {path} could not be written (nothing was left behind)."
    return f"Could not write {path}: {_reason(exc, path)}."

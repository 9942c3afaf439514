"""One render at a time per output folder: an OS lock on a hidden file, held for the render's whole life.

The lock is the operating system's (flock on POSIX, a byte-range lock on Windows), so it is released when its
holder exits, killed included: a stale lock file never blocks a later render. The file holds the holder's process
id for the message the second render prints, and is removed on release.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import ExportError
from core.takes.atomic import describe

LOCK_NAME = ".sounddesk-render.lock"


class FolderBusyError(ExportError):
    """Another render is writing into the output folder."""


@contextmanager
def render_lock(folder: Path) -> Iterator[None]:
    """Hold the render lock of `folder` (FolderBusyError at once, touching nothing, if another render holds it)."""
    fd = _acquire(folder / LOCK_NAME)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # before the unlock, so a waiter locks a fresh file (Windows: kept)
            (folder / LOCK_NAME).unlink(missing_ok=True)
        _unlock(fd)
        os.close(fd)


def _acquire(path: Path) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ExportError(describe(exc, path)) from exc
        if not _try_lock(fd):
            holder = _read_holder(fd)
            os.close(fd)
            raise FolderBusyError(
                f"Another render{holder} is writing into {path.parent}; nothing was done. Wait for it to finish "
                "(a rerun then skips the takes it made) or render into another folder."
            )
        if _same_file(fd, path):  # not removed by the holder that released it while this one waited
            break
        _unlock(fd)
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip() if hasattr(os, "pread") else ""
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


if os.name == "nt":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

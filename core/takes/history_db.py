"""The library's SQLite history under concurrent writers: bounded waits on a locked database, one transaction
per change, and rows read back one by one so a damaged row is skipped and reported instead of failing all.

Two processes (the window and a CLI run) may use one library at once. A write waits for another writer's lock
for at most `busy_timeout_s` seconds, retrying, and then fails with `LibraryBusyError`, a sentence.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from core.errors import ExportError, SoundDeskError

log = logging.getLogger(__name__)
T = TypeVar("T")

BUSY_TIMEOUT_S = 15.0
_ATTEMPT_TIMEOUT_S = 0.25  # SQLite's own busy wait per attempt; the loop below bounds the total


class LibraryBusyError(ExportError):
    """Another process kept the library's database locked for longer than we wait."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode: every change runs in an explicit `transaction()`.

    It may be opened on one thread and handed to another (the window opens its library off the GUI thread while
    another program holds the lock), but it is used by one thread at a time."""
    db = sqlite3.connect(path, timeout=_ATTEMPT_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


def is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def with_retry(action: Callable[[], T], folder: Path, timeout_s: float, what: str) -> T:
    """Run `action` until it gets past another writer's lock, for at most `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    pause = 0.02
    while True:
        try:
            return action()
        except sqlite3.Error as exc:
            if not is_busy(exc):
                raise ExportError(f"The take library in {folder} could not {what}: {exc}.") from exc
            if time.monotonic() >= deadline:
                raise LibraryBusyError(
                    f"The take library in {folder} is locked by another program (another SoundDesk window or "
                    f"command) and could not {what} within {timeout_s:.0f} s; try again when it has finished."
                ) from exc
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (take the write lock now, so a check-then-insert cannot race), COMMIT or ROLLBACK.

    A COMMIT that meets another process's read lock fails as busy and SQLite keeps the transaction open (with
    its locks); it is rolled back here too, so `with_retry` starts the whole change again from a clean state
    and the connection never keeps other processes out while it waits."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        rollback(db)
        raise


def rollback(db: sqlite3.Connection) -> None:
    """End the connection's open transaction, if any (a failed COMMIT leaves one open)."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def insert_once(db: sqlite3.Connection, row: dict[str, Any], replace: bool = False) -> int:
    """Insert `row` unless a row already names its sidecar (then update that one if `replace`); one transaction,
    so a take recorded at open (core.takes.adopt) and by its late writer is still one row. Returns the row id."""
    with transaction(db):
        existing = row_for_sidecar(db, Path(row["sidecar_path"]))
        if existing is not None:
            if replace:
                names = ", ".join(f"{k} = ?" for k in row)
                db.execute(f"UPDATE takes SET {names} WHERE id = ?", (*row.values(), existing))
            return existing
        columns, marks = ", ".join(row), ", ".join("?" for _ in row)
        return int(db.execute(f"INSERT INTO takes ({columns}) VALUES ({marks})", tuple(row.values())).lastrowid)


def row_for_sidecar(db: sqlite3.Connection, sidecar: Path) -> int | None:
    """The id of the row whose sidecar is this file (paths compared resolved), or None."""
    pattern = "%" + sidecar.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    target = _resolved(sidecar)
    sql = "SELECT id, sidecar_path FROM takes WHERE sidecar_path LIKE ? ESCAPE '\\'"
    for found in db.execute(sql, (pattern,)):
        if _resolved(Path(found["sidecar_path"])) == target:
            return int(found["id"])
    return None


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def read_rows(rows: Iterable[sqlite3.Row], parse: Callable[[sqlite3.Row], T], damaged: list[str]) -> list[T]:
    """Parse each row; a row that cannot be read is skipped and described in `damaged` (and the log)."""
    records = []
    for row in rows:
        try:
            records.append(parse(row))
        except (SoundDeskError, ValueError, TypeError, KeyError) as exc:
            reason = f"history row {_row_id(row)} is damaged and was skipped ({exc})"
            if reason not in damaged:
                damaged.append(reason)
                log.warning("%s", reason)
    return records


def _row_id(row: Any) -> str:
    try:
        return str(row["id"])
    except (IndexError, KeyError):
        return "?"

"""Fault class: another process holds a read lock on the library's history (a backup tool, a second SoundDesk
reading it: `BEGIN; SELECT ...` kept open for seconds). A commit that meets it waits, rolls back cleanly and
retries; a wait that runs out is a sentence, and the connection is never left inside a transaction holding a
lock that would keep other processes out."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.errors import ExportError
from core.takes.library import DB_NAME, Library
from tests.faults.helpers import tone_take

READER = textwrap.dedent(
    """
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN")
    db.execute("SELECT COUNT(*) FROM takes").fetchall()  # a shared lock, held until the transaction ends
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    db.execute("COMMIT")
    """
)


def hold_read_lock(folder: Path, seconds: float) -> subprocess.Popen:
    """A second process that holds a read lock on the history for `seconds`, then lets go."""
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(folder / DB_NAME), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_commit_that_meets_a_read_lock_waits_and_records_the_take(tmp_path):
    with Library(tmp_path) as library:
        reader = hold_read_lock(tmp_path, 2.0)
        try:
            record = library.save(tone_take(prompt="saved while a backup reads"))
        finally:
            assert reader.wait(timeout=30) == 0
        assert [r.id for r in library.search()] == [record.id]
        assert not library._db.in_transaction


def test_a_read_lock_that_outlasts_the_wait_is_a_sentence_and_the_library_recovers(tmp_path):
    library = Library(tmp_path, busy_timeout_s=0.5)
    reader = hold_read_lock(tmp_path, 3.0)
    try:
        with pytest.raises(ExportError, match="is locked by another program"):
            library.save(tone_take(prompt="first"))
        assert not library._db.in_transaction  # no lock kept: other processes can still read the history
        other = sqlite3.connect(tmp_path / DB_NAME, timeout=0.1)
        assert other.execute("SELECT COUNT(*) FROM takes").fetchone() == (0,)
        other.close()
    finally:
        assert reader.wait(timeout=30) == 0
    library.save(tone_take(prompt="second"))  # the lock is gone: the same connection records again
    assert [r.prompt for r in library.search()] == ["second"]
    library.close()
    with Library(tmp_path) as again:  # the take whose row was refused is recorded at the next open
        assert sorted(r.prompt for r in again.search()) == ["first", "second"]

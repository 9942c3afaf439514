"""Fault class 2: one library, several writers. Names are claimed atomically, a locked database is waited for
a bounded time and then a sentence, a take whose row is missing is recorded at the next open, damaged rows are
skipped and reported."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from core.errors import ExportError
from core.takes.library import DB_NAME, Library, write_take_files
from tests.conftest import ROOT
from tests.faults.helpers import files_in, tone_take

WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from core.takes.library import Library
    from tests.faults.helpers import tone_take
    start = float(sys.argv[2])
    while time.time() < start:
        time.sleep(0.001)
    with Library(sys.argv[1]) as library:
        for i in range(25):
            take = tone_take(prompt="same prompt", seed=7, seconds=0.05)  # same names in both processes
            take.extra["writer"] = sys.argv[3]
            library.save(take)
    """
)


def test_two_processes_saving_at_once_keep_every_take(tmp_path):
    import time

    script = WRITER.format(root=str(ROOT))
    start = time.time() + 3.0  # both start writing at the same moment: same second, same prompt, same seed
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(start), tag], stderr=subprocess.PIPE)
        for tag in ("A", "B")
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    with Library(tmp_path) as library:
        records = library.search()
    assert len(records) == 50
    assert len({r.sidecar_path for r in records}) == 50 and len(files_in(tmp_path)) == 150
    for record in records:  # each row's files hold that row's own take (the sidecar names its writer)
        assert json.loads(record.sidecar_path.read_text())["writer"] == record.extra["writer"]
    assert sorted(r.extra["writer"] for r in records) == ["A"] * 25 + ["B"] * 25


def test_a_locked_library_is_a_sentence_and_the_take_is_recorded_later(tmp_path):
    library = Library(tmp_path, busy_timeout_s=0.5)  # the window opened it; now a CLI run holds it
    holder = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ExportError, match="is locked by another program") as caught:
            library.save(tone_take(prompt="kept anyway"))
        assert "will be listed when the library is next opened" in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(files_in(tmp_path)) == 3  # the take's files were kept, whole
    assert library.search() == []
    library.close()
    with Library(tmp_path) as again:
        (record,) = again.search()
        assert again.adopted == 1 and record.prompt == "kept anyway" and record.wav_path.is_file()
    with Library(tmp_path) as third:  # adopted once, not again
        assert len(third.search()) == 1 and third.adopted == 0


def test_files_written_without_a_row_are_recorded_once_at_the_next_open(tmp_path):
    files = write_take_files(tmp_path, tone_take(prompt="orphan"))  # a stop before the row was added
    (tmp_path / "scene.json").write_text(json.dumps({"layers": []}))  # not a take: left alone
    with Library(tmp_path) as library:
        (record,) = library.search()
        assert record.sidecar_path.name == files.sidecar.name and record.prompt == "orphan"
        again = library.add(tone_take(prompt="orphan"), files)  # the late row finds the adopted one
        assert again.id == record.id and len(library.search()) == 1


def test_a_damaged_row_is_skipped_and_reported(tmp_path):
    with Library(tmp_path) as library:
        good = library.save(tone_take(prompt="good"))
        bad = library.save(tone_take(prompt="bad"))
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute("UPDATE takes SET params = ? WHERE id = ?", (json.dumps({"duration": -1}), bad.id))
    db.commit()
    db.close()
    with Library(tmp_path) as library:
        assert [r.id for r in library.search()] == [good.id]
        assert len(library.damaged) == 1 and f"history row {bad.id} is damaged" in library.damaged[0]

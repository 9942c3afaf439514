"""Fault class: the library's history file is not a file (a folder of that name, made by a sync tool or by
hand). Opening the library says so in a sentence naming the file and what to do; nothing in it is touched."""

from __future__ import annotations

import pytest

from core.errors import ExportError
from core.takes.library import DB_NAME, Library
from core.takes.take import save_take
from tests.faults.helpers import files_in, tone_take


def test_a_history_file_that_is_a_folder_is_a_sentence(tmp_path):
    (tmp_path / DB_NAME).mkdir()
    (tmp_path / DB_NAME / "notes.txt").write_text("kept")
    save_take(tone_take(), tmp_path, "door")
    with pytest.raises(ExportError, match=f"its history file {DB_NAME} is a folder, not a database") as caught:
        Library(tmp_path)
    assert "Move or rename that folder" in str(caught.value)
    assert files_in(tmp_path) == ["door.codes.npy", "door.json", "door.wav"]
    assert (tmp_path / DB_NAME / "notes.txt").read_text() == "kept"

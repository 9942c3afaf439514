"""Fault class: search by sound over a damaged library. A take whose WAV is gone is never a hit, a take that
cannot be indexed is named, no score is NaN, and a damaged embeddings row or table is re-indexed, never fatal:
`search` exits 0 with every take that still has its sound, and says on stderr what it left out or repaired."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from core.cli.main import main
from core.takes.embeddings import TABLE
from core.takes.library import DB_NAME, Library
from tests.core.clap.clap_helpers import make_take, noise


@pytest.fixture
def library(fixtures_dir, tmp_path) -> Path:
    """A library of four takes of noise, indexed once by a search."""
    with Library(tmp_path) as opened:
        for i in range(4):
            opened.save(make_take(noise(0.3, seed=i), prompt=f"noise {i}"))
    assert main(["search", "noise", "--library", str(tmp_path)]) == 0
    return tmp_path


def search(folder: Path, capsys) -> tuple[list[tuple[float, str]], str]:
    capsys.readouterr()
    assert main(["search", "noise", "--library", str(folder), "--top", "10"]) == 0
    out = capsys.readouterr()
    lines = [line.split("\t") for line in out.out.strip().splitlines()]
    return [(float(score), path) for score, path in lines], out.err


def damage(folder: Path, *statements: str, args: tuple = ()) -> None:
    """Change the history with plain SQL, then drop the snapshot (a cache that may be deleted at any time), so
    the table itself is read."""
    db = sqlite3.connect(folder / DB_NAME)
    for statement in statements:
        db.execute(statement, args if "?" in statement else ())
    db.commit()
    db.close()
    for path in folder.glob(".embeddings-v1-*"):
        path.unlink()


def sidecars(folder: Path) -> list[str]:
    with Library(folder) as opened:
        return sorted(str(r.sidecar_path) for r in opened.search())


def test_a_take_whose_wav_was_deleted_is_not_a_hit(library, capsys):
    gone = sorted(library.glob("*.wav"))[1]
    gone.unlink()
    hits, err = search(library, capsys)
    assert len(hits) == 3 and str(gone.with_suffix(".json")) not in [path for _, path in hits]
    assert f"whose WAV file is gone were left out: {gone.name}" in err


def test_a_take_that_cannot_be_indexed_is_named(fixtures_dir, tmp_path, capsys):
    with Library(tmp_path) as opened:
        records = [opened.save(make_take(noise(0.3, seed=i), prompt=f"noise {i}")) for i in range(3)]
    records[0].wav_path.write_bytes(b"not audio")
    records[1].wav_path.unlink()
    hits, err = search(tmp_path, capsys)
    assert [path for _, path in hits] == [str(records[2].sidecar_path)]
    assert "2 take(s) could not be indexed and are left out" in err and records[0].wav_path.name in err
    assert all(np.isfinite(score) for score, _ in hits)


@pytest.mark.parametrize(
    "statements",
    [
        pytest.param([f"UPDATE {TABLE} SET vector = ? WHERE take_id = 2"], id="nan-vector"),
        pytest.param([f"UPDATE {TABLE} SET vector = x'0011223344' WHERE take_id = 3"], id="short-blob"),
        pytest.param([f"UPDATE {TABLE} SET dim = 4, vector = x'00000000000000000000000000000000'"], id="wrong-width"),
        pytest.param([f"DROP TABLE {TABLE}", f"CREATE TABLE {TABLE} (take_id INTEGER, vec BLOB)"], id="wrong-columns"),
    ],
)
def test_damaged_embeddings_are_indexed_again(library, capsys, statements):
    nan_vector = np.full(512, np.nan, np.float32).tobytes()
    damage(library, *statements, args=(nan_vector,))
    hits, err = search(library, capsys)
    assert sorted(path for _, path in hits) == sidecars(library)  # every take found again, none dropped
    assert all(np.isfinite(score) for score, _ in hits) and "indexed" in err
    again, _ = search(library, capsys)  # and it stays repaired
    assert sorted(path for _, path in again) == sidecars(library)

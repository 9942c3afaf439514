"""CLAP audio embeddings of a library's takes, in a versioned table of the library's SQLite history.

One row per (take, CLAP name): the embedding as a float32 blob. Rows are written inside transactions, so a
crash mid-update leaves each row either absent or whole; indexing is resumable because it only computes the
takes that have no row yet. Searching reads the vectors once into a matrix [N, D] that stays cached until the
database changes (this connection's `total_changes`, or another connection's commit seen through `PRAGMA
data_version`): a take moved to the trash leaves the results at once.

Each write transaction bumps a generation number for its CLAP; after indexing, `save_snapshot` keeps the matrix
of that generation in files beside the database (core.takes.embedding_snapshot), so that a new process's first
search is fast too. Searches after later additions read the table until the next indexing run.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from core.takes import history_db
from core.takes.embedding_snapshot import EmbeddingMatrix, read_snapshot, write_snapshot

EMBEDDINGS_VERSION = 1
TABLE = f"take_embeddings_v{EMBEDDINGS_VERSION}"
"""A new embedding layout gets a new table name; the old table is then ignored and the library re-indexed."""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    take_id INTEGER NOT NULL,
    clap TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (take_id, clap)
);
CREATE TABLE IF NOT EXISTS {TABLE}_generation (
    clap TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
);
"""
log = logging.getLogger(__name__)
_COLUMNS = {TABLE: ["take_id", "clap", "dim", "vector"], f"{TABLE}_generation": ["clap", "generation"]}
_BUMP = (
    f"INSERT INTO {TABLE}_generation (clap, generation) VALUES (?, 1)"
    " ON CONFLICT(clap) DO UPDATE SET generation = generation + 1"
)


class EmbeddingStore:
    """The embeddings table over an open library connection (used from the library's thread)."""

    def __init__(self, db: sqlite3.Connection, snapshot_dir: Path | None = None) -> None:
        self._db = db
        self._snapshot_dir = snapshot_dir
        self.problems: list[str] = []  # sentences about a damaged index that was repaired
        self._db.executescript(SCHEMA)
        self._rebuild_if_foreign()
        self._cache: dict[str, tuple[tuple[int, int], EmbeddingMatrix]] = {}

    def _rebuild_if_foreign(self) -> None:
        """A table of our name with other columns (damaged, or another program's) is dropped and made again:
        the vectors are derived from the takes' WAVs, so indexing recomputes them."""
        found = {name: [row[1] for row in self._db.execute(f"PRAGMA table_info({name})")] for name in _COLUMNS}
        if found == _COLUMNS:
            return
        with history_db.transaction(self._db):
            for name in _COLUMNS:
                self._db.execute(f"DROP TABLE IF EXISTS {name}")
        self._db.executescript(SCHEMA)
        self._note(
            f"the search index table {TABLE} had unexpected columns and was rebuilt; its takes are indexed again"
        )

    def _note(self, sentence: str) -> None:
        log.warning("%s", sentence)
        self.problems.append(sentence)

    def put(self, take_id: int, clap: str, vector: np.ndarray, commit: bool = True) -> None:
        """Store (or replace) one take's embedding; `commit=False` leaves it to the caller's transaction."""
        self.put_many([(take_id, vector)], clap, commit=commit)

    def put_many(self, items: Iterable[tuple[int, np.ndarray]], clap: str, commit: bool = True) -> None:
        """Store several embeddings in one transaction (all or none)."""
        rows = []
        for take_id, vector in items:
            vector = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)  # [D]
            if np.isfinite(vector).all():  # a NaN vector (from a NaN take) stays missing: indexing reports it
                rows.append((int(take_id), clap, int(vector.size), vector.tobytes()))
        if not commit:
            self._write_rows(rows, clap)
            return
        with history_db.transaction(self._db):  # a busy COMMIT is rolled back, so a retry starts clean
            self._write_rows(rows, clap)

    def _write_rows(self, rows: list[tuple[int, str, int, bytes]], clap: str) -> None:
        self._db.executemany(f"INSERT OR REPLACE INTO {TABLE} (take_id, clap, dim, vector) VALUES (?,?,?,?)", rows)
        self._db.execute(_BUMP, (clap,))

    def get(self, take_id: int, clap: str, dim: int | None = None) -> np.ndarray | None:
        """The take's embedding [D], or None when it has none or its row is damaged (then embed it again)."""
        row = self._db.execute(
            f"SELECT vector FROM {TABLE} WHERE take_id = ? AND clap = ?", (int(take_id), clap)
        ).fetchone()
        if row is None or not _whole(row[0], dim or len(row[0]) // 4):
            return None
        return np.frombuffer(row[0], dtype=np.float32).copy()

    def missing(self, clap: str, dim: int | None = None) -> list[int]:
        """Ids of the library's takes (not in the trash) without an embedding from `clap`, oldest first; with
        `dim`, a row of another width or a blob of the wrong length counts as missing (it is indexed again)."""
        valid = "" if dim is None else " AND dim = ? AND length(vector) = ?"
        rows = self._db.execute(
            f"SELECT id FROM takes WHERE deleted = 0 AND id NOT IN (SELECT take_id FROM {TABLE} WHERE clap = ?"
            f"{valid}) ORDER BY id",
            (clap,) if dim is None else (clap, int(dim), 4 * int(dim)),
        )
        return [int(row[0]) for row in rows]

    def count(self, clap: str) -> int:
        return int(self._db.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE clap = ?", (clap,)).fetchone()[0])

    def prune(self) -> None:
        """Drop the rows of takes that no longer exist (after emptying the trash)."""
        self._db.execute(f"DELETE FROM {TABLE} WHERE take_id NOT IN (SELECT id FROM takes)")
        self._db.execute(f"UPDATE {TABLE}_generation SET generation = generation + 1")
        self._db.commit()

    def matrix(self, clap: str, dim: int | None = None) -> EmbeddingMatrix:
        """The embeddings of the takes not in the trash, ordered by take id; cached until the database changes.

        Only whole rows of width `dim` (or, without it, the width most rows have) count; a damaged row is removed
        from the table, so the next indexing run embeds its take again."""
        cached = self._cache.get(clap)
        if cached is not None and cached[0] == self._version() and (dim is None or cached[1].vectors.shape[1] == dim):
            return cached[1]
        every = self._every(clap, dim=dim)[1]
        trashed = np.array([int(r[0]) for r in self._db.execute("SELECT id FROM takes WHERE deleted = 1")], np.int64)
        keep = ~np.isin(every.ids, trashed)  # [N]
        result = every if keep.all() else EmbeddingMatrix(every.ids[keep], every.vectors[keep], every.norms[keep])
        self._cache[clap] = (self._version(), result)
        return result

    def _version(self) -> tuple[int, int]:
        return self._db.total_changes, int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def save_snapshot(self, clap: str) -> None:
        """Keep the current matrix of `clap` beside the database (after indexing), unless it is there already."""
        if self._snapshot_dir is None:
            return
        generation, every, from_snapshot = self._every(clap, want_source=True)
        if not from_snapshot:
            write_snapshot(self._snapshot_dir, clap, generation, every)

    def _every(self, clap: str, want_source: bool = False, dim: int | None = None):
        """(generation, matrix of every row of `clap`[, whether it came from the snapshot])."""
        row = self._db.execute(f"SELECT generation FROM {TABLE}_generation WHERE clap = ?", (clap,)).fetchone()
        generation = 0 if row is None else int(row[0])
        every = None if self._snapshot_dir is None else read_snapshot(self._snapshot_dir, clap, generation)
        if every is not None and dim is not None and every.vectors.shape[1] != dim:
            every = None  # written for another width: the table decides
        from_snapshot = every is not None
        if every is None:
            every = self._read_table(clap, dim)
        return (generation, every, from_snapshot) if want_source else (generation, every)

    def _read_table(self, clap: str, dim: int | None = None) -> EmbeddingMatrix:
        rows = self._db.execute(f"SELECT take_id, dim, vector FROM {TABLE} WHERE clap = ? ORDER BY take_id", (clap,))
        rows = rows.fetchall()
        if dim is None:  # one CLAP has one width: the one most rows have
            sizes = [len(row[2]) if isinstance(row[2], bytes) else 0 for row in rows]
            dim = max(set(sizes), key=sizes.count) // 4 if sizes else 0
        damaged = [int(row[0]) for row in rows if not _whole(row[2], row[1])]
        if damaged:  # a whole row of another width is only left out: indexing at this width replaces it
            self._forget(damaged, clap)
        kept = [row for row in rows if row[1] == dim and _whole(row[2], dim)]
        ids = np.fromiter((int(row[0]) for row in kept), dtype=np.int64, count=len(kept))  # [N]
        vectors = np.frombuffer(b"".join(row[2] for row in kept), dtype=np.float32).reshape(len(kept), dim)
        return EmbeddingMatrix(ids, vectors, np.linalg.norm(vectors, axis=1))  # [N], [N, D], [N]

    def _forget(self, take_ids: list[int], clap: str) -> None:
        """Remove damaged rows (best effort: a locked database only delays it), so indexing embeds them again."""
        self._note(f"{len(take_ids)} damaged search index row(s) were removed; their takes are indexed again")
        try:
            with history_db.transaction(self._db):
                self._db.executemany(
                    f"DELETE FROM {TABLE} WHERE take_id = ? AND clap = ?", [(i, clap) for i in take_ids]
                )
                self._db.execute(_BUMP, (clap,))
        except sqlite3.Error as exc:
            log.warning("could not remove damaged search index rows: %s", exc)


def _whole(blob: bytes, dim: int) -> bool:
    """Whether `blob` holds exactly `dim` finite float32 values."""
    if not isinstance(blob, bytes) or not isinstance(dim, int) or dim <= 0 or len(blob) != 4 * dim:
        return False
    return bool(np.isfinite(np.frombuffer(blob, dtype=np.float32)).all())

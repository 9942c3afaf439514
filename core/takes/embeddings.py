"""CLAP audio embeddings of a library's takes, in a versioned table of the library's SQLite history.

One row per (take, CLAP name): the embedding as a float32 blob. Rows are written inside transactions, so a
crash mid-update leaves each row either absent or whole; indexing is resumable because it only computes the
takes that have no row yet. Searching reads the vectors once into a matrix [N, D] that stays cached until the
table changes (this connection's writes, or another connection's commit seen through `PRAGMA data_version`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import numpy as np

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
"""


class EmbeddingStore:
    """The embeddings table over an open library connection (used from the library's thread)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._db.executescript(SCHEMA)
        self._writes = 0
        self._cache: dict[str, tuple[tuple[int, int], np.ndarray, np.ndarray]] = {}

    def put(self, take_id: int, clap: str, vector: np.ndarray, commit: bool = True) -> None:
        """Store (or replace) one take's embedding; `commit=False` leaves it to the caller's transaction."""
        self.put_many([(take_id, vector)], clap, commit=commit)

    def put_many(self, items: Iterable[tuple[int, np.ndarray]], clap: str, commit: bool = True) -> None:
        """Store several embeddings in one transaction (all or none)."""
        rows = []
        for take_id, vector in items:
            vector = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)  # [D]
            rows.append((int(take_id), clap, int(vector.size), vector.tobytes()))
        try:
            self._db.executemany(f"INSERT OR REPLACE INTO {TABLE} (take_id, clap, dim, vector) VALUES (?,?,?,?)", rows)
            if commit:
                self._db.commit()
        except BaseException:
            if commit:
                self._db.rollback()
            raise
        self._writes += 1

    def get(self, take_id: int, clap: str) -> np.ndarray | None:
        row = self._db.execute(
            f"SELECT vector FROM {TABLE} WHERE take_id = ? AND clap = ?", (int(take_id), clap)
        ).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=np.float32).copy()

    def missing(self, clap: str) -> list[int]:
        """Ids of the library's takes (not in the trash) without an embedding from `clap`, oldest first."""
        rows = self._db.execute(
            f"SELECT id FROM takes WHERE deleted = 0 AND id NOT IN (SELECT take_id FROM {TABLE} WHERE clap = ?)"
            " ORDER BY id",
            (clap,),
        )
        return [int(row[0]) for row in rows]

    def count(self, clap: str) -> int:
        return int(self._db.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE clap = ?", (clap,)).fetchone()[0])

    def prune(self) -> None:
        """Drop the rows of takes that no longer exist (after emptying the trash)."""
        self._db.execute(f"DELETE FROM {TABLE} WHERE take_id NOT IN (SELECT id FROM takes)")
        self._db.commit()
        self._writes += 1

    def matrix(self, clap: str) -> tuple[np.ndarray, np.ndarray]:
        """(take ids [N] int64, embeddings [N, D] float32) of the takes not in the trash, cached."""
        version = (self._writes, int(self._db.execute("PRAGMA data_version").fetchone()[0]))
        cached = self._cache.get(clap)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        rows = self._db.execute(
            f"SELECT e.take_id, e.dim, e.vector FROM {TABLE} e JOIN takes t ON t.id = e.take_id"
            " WHERE e.clap = ? AND t.deleted = 0 ORDER BY e.take_id",
            (clap,),
        ).fetchall()
        dims = {int(row[1]) for row in rows}
        dim = dims.pop() if len(dims) == 1 else 0
        ids = np.array([int(row[0]) for row in rows if int(row[1]) == dim], dtype=np.int64)  # [N]
        blob = b"".join(row[2] for row in rows if int(row[1]) == dim)
        vectors = np.frombuffer(blob, dtype=np.float32).reshape(len(ids), dim) if dim else np.zeros((0, 0), np.float32)
        self._cache[clap] = (version, ids, vectors)
        return ids, vectors

"""CLAP audio embeddings of a library's takes, in a versioned table of the library's SQLite history.

One row per (take, CLAP name): the embedding as a float32 blob. Rows are written inside transactions, so a
crash mid-update leaves each row either absent or whole; indexing is resumable because it only computes the
takes that have no row yet. Searching reads the vectors once into a matrix [N, D] that stays cached until the
table changes (this connection's writes, or another connection's commit seen through `PRAGMA data_version`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

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
        self._cache: dict[str, tuple[tuple[int, int], EmbeddingMatrix]] = {}

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

    def matrix(self, clap: str) -> EmbeddingMatrix:
        """The embeddings of the takes not in the trash, ordered by take id; cached until the table changes."""
        version = (self._writes, int(self._db.execute("PRAGMA data_version").fetchone()[0]))
        cached = self._cache.get(clap)
        if cached is not None and cached[0] == version:
            return cached[1]
        rows = self._db.execute(f"SELECT take_id, vector FROM {TABLE} WHERE clap = ? ORDER BY take_id", (clap,))
        rows = rows.fetchall()
        live = {int(row[0]) for row in self._db.execute("SELECT id FROM takes WHERE deleted = 0")}
        sizes = [len(row[1]) for row in rows]
        size = max(set(sizes), key=sizes.count) if sizes else 0  # one CLAP has one width; skip strays
        kept = [row for row in rows if len(row[1]) == size and int(row[0]) in live]
        ids = np.fromiter((int(row[0]) for row in kept), dtype=np.int64, count=len(kept))  # [N]
        vectors = np.frombuffer(b"".join(row[1] for row in kept), dtype=np.float32).reshape(len(kept), size // 4)
        result = EmbeddingMatrix(ids, vectors, np.linalg.norm(vectors, axis=1))  # [N], [N, D], [N]
        self._cache[clap] = (version, result)
        return result


@dataclass(frozen=True)
class EmbeddingMatrix:
    """Take ids [N], their embeddings [N, D] float32 and the embeddings' lengths [N] (for cosines)."""

    ids: np.ndarray
    vectors: np.ndarray
    norms: np.ndarray

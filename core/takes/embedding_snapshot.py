"""A snapshot of one CLAP's embedding matrix beside the library database: a cache that makes a process's first
search fast (reading 10,000 blobs from SQLite takes longer than a search should).

Two files per CLAP: `.embeddings-v1-KEY-gN.npy` holds the vectors [N, D] float32 (memory-mapped on read) and
`.embeddings-v1-KEY.npz` the generation N, the CLAP name, the take ids and the vector lengths. The vectors are
written first, then the index; an index names its generation, and is used only when that is the database's
current one. A crash between the two writes therefore leaves a miss, never a wrong matrix, and the files can be
deleted at any time.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ExportError
from core.takes.atomic import write_files

SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class EmbeddingMatrix:
    """Take ids [N], their embeddings [N, D] float32 and the embeddings' lengths [N] (for cosines)."""

    ids: np.ndarray
    vectors: np.ndarray
    norms: np.ndarray


def _stem(clap: str) -> str:
    return f".embeddings-v{SNAPSHOT_VERSION}-{hashlib.sha1(clap.encode('utf-8')).hexdigest()[:12]}"


def read_snapshot(folder: Path, clap: str, generation: int) -> EmbeddingMatrix | None:
    """The snapshot of `clap` if it is of `generation`, else None (also for a missing or damaged file)."""
    index = folder / f"{_stem(clap)}.npz"
    vectors_path = folder / f"{_stem(clap)}-g{generation}.npy"
    if generation <= 0 or not index.is_file() or not vectors_path.is_file():
        return None
    try:
        with np.load(index, allow_pickle=False) as data:
            if int(data["generation"]) != generation or str(data["clap"]) != clap:
                return None
            ids, norms = data["ids"], data["norms"]
        vectors = np.load(vectors_path, mmap_mode="r", allow_pickle=False)  # [N, D]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    if vectors.ndim != 2 or vectors.shape[0] != ids.shape[0] or vectors.dtype != np.float32:
        return None
    return EmbeddingMatrix(ids, vectors, norms)


def write_snapshot(folder: Path, clap: str, generation: int, matrix: EmbeddingMatrix) -> None:
    """Write the snapshot (vectors, then index) and remove older vectors files; failures only cost speed."""
    if generation <= 0:
        return
    vectors, index = io.BytesIO(), io.BytesIO()
    np.save(vectors, np.ascontiguousarray(matrix.vectors, dtype=np.float32))
    np.savez(index, generation=generation, clap=clap, ids=matrix.ids, norms=matrix.norms)
    current = folder / f"{_stem(clap)}-g{generation}.npy"
    try:
        write_files([(current, vectors.getvalue())], overwrite=True)
        write_files([(folder / f"{_stem(clap)}.npz", index.getvalue())], overwrite=True)
    except ExportError:
        return  # a read-only or full disk: searches read the database instead
    for old in folder.glob(f"{_stem(clap)}-g*.npy"):
        if old != current:
            try:
                old.unlink()
            except OSError:
                pass  # still mapped elsewhere (Windows): removed by a later write

"""The embeddings table and its snapshot: same matrix from either, stale or damaged snapshots ignored, trash."""

from __future__ import annotations

import numpy as np

from core.takes.library import Library
from tests.core.clap.clap_helpers import make_take, noise

CLAP = "laion/larger_clap_general"


def _library_with_vectors(folder, count: int = 6, dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    with Library(folder) as library:
        records = [library.save(make_take(noise(0.05, seed=i))) for i in range(count)]
        library.embeddings.put_many([(r.id, v) for r, v in zip(records, vectors, strict=True)], CLAP)
        library.embeddings.save_snapshot(CLAP)
    return vectors


def test_snapshot_gives_the_table_matrix(tmp_path):
    vectors = _library_with_vectors(tmp_path)
    assert len(list(tmp_path.glob(".embeddings-v1-*"))) == 2  # index + vectors
    with Library(tmp_path) as library:
        index = library.embeddings.matrix(CLAP)
        np.testing.assert_array_equal(index.ids, np.arange(1, 7))
        np.testing.assert_array_equal(np.asarray(index.vectors), vectors)
        np.testing.assert_allclose(index.norms, np.linalg.norm(vectors, axis=1), rtol=1e-6)


def test_rows_added_after_the_snapshot_are_seen(tmp_path):
    _library_with_vectors(tmp_path)
    with Library(tmp_path) as library:
        record = library.save(make_take(noise(0.05, seed=9)))
        library.embeddings.put(record.id, CLAP, np.full(8, 2.0, np.float32))
    with Library(tmp_path) as library:
        index = library.embeddings.matrix(CLAP)
        assert record.id in index.ids.tolist() and index.vectors.shape == (7, 8)
        np.testing.assert_array_equal(np.asarray(index.vectors)[-1], np.full(8, 2.0, np.float32))


def test_damaged_snapshot_is_only_a_miss(tmp_path):
    vectors = _library_with_vectors(tmp_path)
    for path in tmp_path.glob(".embeddings-v1-*"):
        path.write_bytes(b"not a numpy file")
    with Library(tmp_path) as library:
        np.testing.assert_array_equal(np.asarray(library.embeddings.matrix(CLAP).vectors), vectors)


def test_trashed_takes_are_left_out_and_come_back(tmp_path):
    _library_with_vectors(tmp_path)
    with Library(tmp_path) as library:
        library.delete(3)
        assert 3 not in library.embeddings.matrix(CLAP).ids.tolist()
        library.restore(3)
        assert 3 in library.embeddings.matrix(CLAP).ids.tolist()

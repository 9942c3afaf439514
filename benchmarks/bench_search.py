"""Search by sound over a large library: 10,000 synthetic CLAP embeddings (512-d, the LAION CLAP size).

Builds a library database in a temporary folder with N take rows and their float32 embeddings (random unit
vectors; the audio is not needed for the ranking itself), then times searches as `search_text` / `search_like`
run them: the first query of a connection after indexing (the matrix snapshot beside the database is read),
the first query of a connection when takes were added since (every blob is read from SQLite), and later
queries (matrix in memory: one matrix product, argpartition for the top N, N row lookups). The text embedding
of a query is excluded (one CLAP text forward, independent of the library size). Target: under 100 ms.

    python benchmarks/bench_search.py [--takes 10000] [--dim 512] [--top 20] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine  # noqa: E402
from core.clap.search import rank_by_vector  # noqa: E402
from core.takes.library import Library  # noqa: E402

CLAP = "laion/larger_clap_general"


def fill(library: Library, count: int, dim: int) -> None:
    """`count` take rows and embeddings, in one transaction (rows as `Library.add` writes them)."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    params = json.dumps({"duration": 5.0})
    rows = [
        (f"prompt {i}", "facebook/audiogen-medium", i, params, "{}", f"t{i}.wav", f"t{i}.codes.npy", f"t{i}.json",
         16000, 1, 5.0, f"take {i}", time.time())
        for i in range(count)
    ]  # fmt: skip
    db = library._db
    db.executemany(
        "INSERT INTO takes (prompt, model, seed, params, extra, wav_path, codes_path, sidecar_path,"
        " sample_rate, channels, duration, name, created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    ids = [int(r[0]) for r in db.execute("SELECT id FROM takes ORDER BY id")]
    library.embeddings.put_many(zip(ids, vectors, strict=True), CLAP)
    library.embeddings.save_snapshot(CLAP)  # as `index_library` does at its end


def search(library: Library, query: np.ndarray, top: int) -> list:
    index = library.embeddings.matrix(CLAP)
    return [library.get(take_id) for take_id, _ in rank_by_vector(index, query, top, cosine=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(machine())
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        with Library(folder) as library:
            fill(library, args.takes, args.dim)
            query = rng.standard_normal(args.dim).astype(np.float32)
            start = time.perf_counter()
            search(library, query, args.top)
            first = time.perf_counter() - start
        with Library(folder) as library:  # takes added since the snapshot: the table is read
            library.embeddings.put(1, CLAP, np.ones(args.dim, np.float32) / args.dim**0.5)
        with Library(folder) as library:
            start = time.perf_counter()
            search(library, query, args.top)
            from_table = time.perf_counter() - start
            library.embeddings.save_snapshot(CLAP)
        with Library(folder) as library:  # a new process: fresh connection, no matrix in memory
            start = time.perf_counter()
            search(library, query, args.top)
            reopened = time.perf_counter() - start
            warm = []
            for _ in range(args.repeats):
                query = rng.standard_normal(args.dim).astype(np.float32)
                start = time.perf_counter()
                hits = search(library, query, args.top)
                warm.append(time.perf_counter() - start)
            assert len(hits) == args.top
    print(f"{args.takes} takes x {args.dim}-d float32, top {args.top}")
    print(f"first search of a connection, after indexing (reads the snapshot): {first * 1000:.1f} ms")
    print(f"first search of a connection, takes added since (reads every blob from SQLite): {from_table * 1000:.1f} ms")
    print(f"first search of a connection, indexed again (reads the new snapshot): {reopened * 1000:.1f} ms")
    print(f"later searches (matrix in memory), median of {args.repeats}: {statistics.median(warm) * 1000:.2f} ms")
    print(f"later searches, slowest: {max(warm) * 1000:.2f} ms")


if __name__ == "__main__":
    main()

"""Search by sound: indexing (resumable, transactional), text queries, "more like this", and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from core.cancel import CancelToken
from core.clap.search import index_library, like_take, rank_by_vector, search_like, search_text
from core.cli.main import main
from core.engine import Engine
from core.errors import GenerationCancelled
from core.takes.embeddings import EmbeddingMatrix
from core.takes.library import Library
from tests.conftest import ROOT
from tests.core.clap.clap_helpers import GENERAL, make_take, noise


def _tone(freq: float, seconds: float = 0.5, rate: int = 16000, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    wav = 0.4 * np.sign(np.sin(2 * np.pi * freq * t)) * np.exp(-t * (seed % 7)) + 0.02 * rng.standard_normal(t.size)
    return wav[None].astype(np.float32)  # [1, N]


@pytest.fixture(scope="module")
def scorer(clap_fixtures):
    return Engine().clap(GENERAL)


def test_planted_near_duplicate_comes_first(tmp_path, scorer):
    with Library(tmp_path) as library:
        for i in range(12):
            library.save(make_take(_tone(80 + 170 * i, seed=i), prompt=f"take {i}"))
        target = library.save(make_take(_tone(1234.0, seed=3), prompt="target"))
        rng = np.random.default_rng(99)
        twin_wav = _tone(1234.0, seed=3) + 0.001 * rng.standard_normal((1, 8000)).astype(np.float32)
        twin = library.save(make_take(twin_wav, prompt="unrelated words"))
        assert index_library(library, scorer) == 14
        hits = like_take(library, scorer, target, top=5)
        assert hits[0].record.id == twin.id
        assert target.id not in [hit.record.id for hit in hits]
        assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_text_search_scores_are_the_text_match(tmp_path, scorer):
    with Library(tmp_path) as library:
        records = [library.save(make_take(noise(0.4, seed=i), prompt=f"p{i}")) for i in range(5)]
        index_library(library, scorer)
        hits = search_text(library, scorer, "metallic impacts", top=5)
        assert sorted(hit.record.id for hit in hits) == sorted(r.id for r in records)
        for hit in hits:
            wav = noise(0.4, seed=records.index(next(r for r in records if r.id == hit.record.id)))
            assert hit.score == pytest.approx(scorer.text_match("metallic impacts", wav, 16000), abs=1e-5)


@pytest.mark.slow
def test_library_of_200_takes_indexes_resumably_and_searches(tmp_path, scorer):
    with Library(tmp_path) as library:
        for i in range(200):
            library.save(make_take(_tone(60 + 37 * i, seconds=0.2, seed=i), prompt=f"sound {i}"))
        token, seen = CancelToken(), []

        def progress(step: int, total: int) -> None:
            seen.append((step, total))
            if step == 40:
                token.cancel()

        with pytest.raises(GenerationCancelled):
            index_library(library, scorer, progress, token)
        done = library.embeddings.count(scorer.name)
        assert 0 < done < 200 and done % 16 == 0  # whole committed batches only
        assert index_library(library, scorer) == 200 - done
        assert library.embeddings.missing(scorer.name) == []
        hits = search_text(library, scorer, "sound", top=10)
        assert len(hits) == 10
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        index = library.embeddings.matrix(scorer.name)
        assert index.vectors.shape == (200, scorer.dim) and index.vectors.dtype == np.float32
        everything = search_text(library, scorer, "sound", top=500)
        assert len(everything) == 200


def test_failed_update_leaves_no_partial_rows(tmp_path, scorer):
    with Library(tmp_path) as library:
        a, b = (library.save(make_take(noise(0.2, seed=i))) for i in range(2))

        def rows():
            yield a.id, np.ones(scorer.dim, np.float32)
            raise RuntimeError("crash in the middle of the batch")

        with pytest.raises(RuntimeError):
            library.embeddings.put_many(rows(), scorer.name)
        assert library.embeddings.count(scorer.name) == 0
    with Library(tmp_path) as library:  # reopened: the table is there, still empty, and indexing completes
        assert library.embeddings.count(scorer.name) == 0
        assert index_library(library, scorer) == 2


def test_trashed_takes_leave_the_results(tmp_path, scorer):
    with Library(tmp_path) as library:
        keep, gone = (library.save(make_take(noise(0.3, seed=i))) for i in range(2))
        index_library(library, scorer)
        library.delete(gone.id)
        assert [h.record.id for h in search_text(library, scorer, "x", top=5)] == [keep.id]


def test_rank_by_vector_top_and_cosine():
    vectors = np.array([[1, 0], [0, 2], [1, 1], [-1, 0]], dtype=np.float32)
    index = EmbeddingMatrix(np.array([10, 11, 12, 13]), vectors, np.linalg.norm(vectors, axis=1))
    assert rank_by_vector(index, np.array([0.0, 1.0], np.float32), 2, cosine=False) == [(11, 2.0), (12, 1.0)]
    ranked = rank_by_vector(index, np.array([1.0, 0.0], np.float32), 3, cosine=True, exclude=10)
    assert [i for i, _ in ranked] == [12, 11, 13] and ranked[0][1] == pytest.approx(2**-0.5)


def test_search_cli_text_and_like(tmp_path, capsys, scorer):
    with Library(tmp_path) as library:
        records = [library.save(make_take(_tone(100 + 250 * i, seed=i), prompt=f"t{i}")) for i in range(6)]
    assert main(["search", "dog barking", "--library", str(tmp_path), "--top", "3"]) == 0
    out = capsys.readouterr()
    lines = [line.split("\t") for line in out.out.strip().splitlines()]
    assert len(lines) == 3 and "indexed 6 take(s)" in out.err
    assert [float(s) for s, _ in lines] == sorted((float(s) for s, _ in lines), reverse=True)
    assert main(["search", "--library", str(tmp_path), "--like", str(records[2].sidecar_path)]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert len(lines) == 5 and str(records[2].sidecar_path) not in [p for _, p in lines]


def test_search_cli_without_query_is_an_error(tmp_path, capsys):
    assert main(["search", "--library", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_like_an_outside_file(tmp_path, scorer):
    from core.takes.take import save_take

    with Library(tmp_path / "lib") as library:
        for i in range(4):
            library.save(make_take(_tone(300 + 400 * i, seed=i)))
        index_library(library, scorer)
        outside = save_take(make_take(_tone(1100, seed=2)), tmp_path, "outside")
        hits = search_like(library, scorer, scorer.embed_file(outside.wav), top=4)
        assert hits[0].record.prompt == "dog barking" and len(hits) == 4


KILL_SCRIPT = """
import os, signal, sys
from core.clap.search import index_library
from core.engine import Engine
from core.takes.library import Library

def progress(step, total):
    if step == 18:
        os.kill(os.getpid(), signal.SIGKILL)  # a crash in the middle of the second batch

with Library(sys.argv[1]) as library:
    index_library(library, Engine().clap("laion/larger_clap_general"), progress)
"""


def test_index_survives_a_killed_process(tmp_path, scorer):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys

    with Library(tmp_path) as library:
        for i in range(20):
            library.save(make_take(_tone(90 + 61 * i, seconds=0.1, seed=i)))
    root = ROOT
    done = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)}
    )
    assert done.returncode == -signal.SIGKILL
    with sqlite3.connect(tmp_path / "sounddesk-library.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Library(tmp_path) as library:
        assert library.embeddings.count(scorer.name) == 16  # the first batch, whole; nothing of the second
        assert index_library(library, scorer) == 4
        assert library.embeddings.missing(scorer.name) == []


def test_search_cli_in_a_folder_without_library_is_an_error(tmp_path, capsys):
    assert main(["search", "rain", "--library", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: There is no SoundDesk take library") and not (tmp_path / "nothing").exists()

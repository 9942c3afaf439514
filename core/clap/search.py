"""Search a take library by sound: index its takes' CLAP audio embeddings, then rank them for a text query
(text-audio similarity, the same number as a take's text match) or for a take ("more like this": the cosine
of the two audio embeddings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.cancel import CancelToken, Progress, check_cancel, report
from core.clap.scorer import ClapScorer
from core.errors import AudioFileError
from core.takes.embeddings import EmbeddingMatrix
from core.takes.library import Library, TakeRecord

INDEX_BATCH = 16
"""Takes embedded per transaction: a crash or cancel loses at most this many takes' work."""


@dataclass(frozen=True)
class Hit:
    score: float
    record: TakeRecord


def index_library(
    library: Library,
    scorer: ClapScorer,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    skipped: list[str] | None = None,
) -> int:
    """Embed every take that has no whole embedding from `scorer` yet; returns how many were added.

    Resumable: each batch is committed as one transaction, and a later call starts with what is still missing
    (a damaged row counts as missing). A take whose audio file is gone, unreadable or NaN is skipped (it stays
    missing) and a sentence saying why goes into `skipped`.
    """
    todo = library.embeddings.missing(scorer.name, scorer.dim)
    done = 0
    for start in range(0, len(todo), INDEX_BATCH):
        batch = []
        for position, take_id in enumerate(todo[start : start + INDEX_BATCH], start + 1):
            check_cancel(cancel)
            wav_path = library.get(take_id).wav_path
            try:
                vector = scorer.embed_file(wav_path, cancel)  # [D]
            except AudioFileError as exc:  # a missing or damaged file must not stop the index
                _skip(skipped, f"{wav_path.name}: {exc}")
            else:
                if np.isfinite(vector).all():
                    batch.append((take_id, vector))
                else:
                    _skip(skipped, f"{wav_path.name}: its audio holds NaN values")
            report(progress, position, len(todo))
        library.embeddings.put_many(batch, scorer.name)
        done += len(batch)
    library.embeddings.save_snapshot(scorer.name)  # the next process's first search reads it at once
    return done


def _skip(skipped: list[str] | None, reason: str) -> None:
    if skipped is not None:
        skipped.append(reason)


def top_matches(scores: np.ndarray, top: int) -> np.ndarray:
    """Indices of the `top` highest scores [N], highest first (argpartition, then a sort of the few)."""
    top = min(max(top, 0), scores.shape[0])
    if top == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, top - 1)[:top] if top < scores.shape[0] else np.arange(scores.shape[0])
    return part[np.argsort(-scores[part], kind="stable")]


def rank_by_vector(
    index: EmbeddingMatrix, query: np.ndarray, top: int, cosine: bool, exclude: int | None = None
) -> list[tuple[int, float]]:
    """(take id, score) best first: the index's vectors [N, D] against `query` [D], dot product or cosine."""
    if index.vectors.shape[0] == 0:
        return []
    scores = index.vectors @ np.asarray(query, dtype=np.float32)  # [N]
    if cosine:
        scores = scores / np.maximum(index.norms * max(float(np.linalg.norm(query)), 1e-12), 1e-12)
    scores[~np.isfinite(scores)] = -np.inf  # never rank a damaged vector
    if exclude is not None:
        scores[index.ids == exclude] = -np.inf
    top = min(top, int(np.isfinite(scores).sum()))
    order = top_matches(scores, top)
    return [(int(index.ids[i]), float(scores[i])) for i in order]


def hits_for_vector(
    library: Library,
    clap: str,
    query: np.ndarray,
    top: int,
    cosine: bool,
    exclude: int | None = None,
    gone: list[str] | None = None,
) -> list[Hit]:
    """Rank the library's takes indexed with `clap` against an embedding already computed [D].

    A take whose WAV file is no longer there is never a hit: it is left out (its file name goes into `gone`) and
    the next best take takes its place."""
    query = np.asarray(query, dtype=np.float32).reshape(-1)  # [D]
    if not np.isfinite(query).all():
        raise AudioFileError("The sound to compare with holds NaN values, so nothing can sound like it.")
    index = library.embeddings.matrix(clap, query.shape[0])
    want = top
    while True:
        ranked = rank_by_vector(index, query, want, cosine=cosine, exclude=exclude)
        hits, missing = _existing(library, ranked)
        if len(hits) >= top or len(ranked) < want:
            if gone is not None:
                gone.extend(missing)
            return hits[:top]
        want *= 2


def _existing(library: Library, ranked: list[tuple[int, float]]) -> tuple[list[Hit], list[str]]:
    """The ranked takes that still have their WAV as hits, and the names of those that do not."""
    hits, missing = [], []
    for take_id, score in ranked:
        try:
            record = library.get(take_id)
        except KeyError:  # removed by another connection since the matrix was read
            continue
        if record.wav_path.is_file():
            hits.append(Hit(score, record))
        else:
            missing.append(record.wav_path.name)
    return hits, missing


def search_text(
    library: Library, scorer: ClapScorer, query: str, top: int = 20, gone: list[str] | None = None
) -> list[Hit]:
    """Takes ranked by how well their sound matches `query` (CLAP text-audio similarity)."""
    return hits_for_vector(library, scorer.name, scorer.embed_text(query), top, cosine=False, gone=gone)


def search_like(
    library: Library,
    scorer: ClapScorer,
    audio_embedding: np.ndarray,
    top: int = 20,
    exclude: int | None = None,
    gone: list[str] | None = None,
) -> list[Hit]:
    """Takes ranked by how much they sound like `audio_embedding` (cosine), without the take `exclude`."""
    return hits_for_vector(library, scorer.name, audio_embedding, top, cosine=True, exclude=exclude, gone=gone)


def like_take(
    library: Library, scorer: ClapScorer, record: TakeRecord, top: int = 20, gone: list[str] | None = None
) -> list[Hit]:
    """ "More like this" for a take of the library (embedding it first if the index lacks it)."""
    vector = library.embeddings.get(record.id, scorer.name, scorer.dim)
    if vector is None:
        vector = scorer.embed_file(record.wav_path)
        library.embeddings.put(record.id, scorer.name, vector)
    return search_like(library, scorer, vector, top, exclude=record.id, gone=gone)

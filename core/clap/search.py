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
) -> int:
    """Embed every take that has no embedding from `scorer` yet; returns how many were added.

    Resumable: each batch is committed as one transaction, and a later call starts with what is still missing.
    A take whose audio file is gone or unreadable is skipped (it stays missing).
    """
    todo = library.embeddings.missing(scorer.name)
    done = 0
    for start in range(0, len(todo), INDEX_BATCH):
        batch = []
        for position, take_id in enumerate(todo[start : start + INDEX_BATCH], start + 1):
            check_cancel(cancel)
            try:
                batch.append((take_id, scorer.embed_file(library.get(take_id).wav_path, cancel)))
            except AudioFileError:  # a missing or damaged file must not stop the index
                pass
            report(progress, position, len(todo))
        library.embeddings.put_many(batch, scorer.name)
        done += len(batch)
    library.embeddings.save_snapshot(scorer.name)  # the next process's first search reads it at once
    return done


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
    if exclude is not None:
        scores[index.ids == exclude] = -np.inf
        top = min(top, int(np.isfinite(scores).sum()))
    order = top_matches(scores, top)
    return [(int(index.ids[i]), float(scores[i])) for i in order]


def hits_for_vector(
    library: Library, clap: str, query: np.ndarray, top: int, cosine: bool, exclude: int | None = None
) -> list[Hit]:
    """Rank the library's takes indexed with `clap` against an embedding already computed."""
    ranked = rank_by_vector(library.embeddings.matrix(clap), query, top, cosine=cosine, exclude=exclude)
    hits = []
    for take_id, score in ranked:
        try:
            hits.append(Hit(score, library.get(take_id)))
        except KeyError:  # removed by another connection since the matrix was read
            continue
    return hits


def search_text(library: Library, scorer: ClapScorer, query: str, top: int = 20) -> list[Hit]:
    """Takes ranked by how well their sound matches `query` (CLAP text-audio similarity)."""
    return hits_for_vector(library, scorer.name, scorer.embed_text(query), top, cosine=False)


def search_like(
    library: Library, scorer: ClapScorer, audio_embedding: np.ndarray, top: int = 20, exclude: int | None = None
) -> list[Hit]:
    """Takes ranked by how much they sound like `audio_embedding` (cosine), without the take `exclude`."""
    return hits_for_vector(library, scorer.name, audio_embedding, top, cosine=True, exclude=exclude)


def like_take(library: Library, scorer: ClapScorer, record: TakeRecord, top: int = 20) -> list[Hit]:
    """ "More like this" for a take of the library (embedding it first if the index lacks it)."""
    vector = library.embeddings.get(record.id, scorer.name)
    if vector is None:
        vector = scorer.embed_file(record.wav_path)
        library.embeddings.put(record.id, scorer.name, vector)
    return search_like(library, scorer, vector, top, exclude=record.id)

"""CLAP work off the GUI thread: score a finished batch, embed a query or a take, index a library folder.

Plain functions over core.clap taking `report(stage, step, total)` and a CancelToken, like desktop.generate.tasks.
Indexing opens its own connection to the library database (SQLite connections belong to one thread); its
batches are transactions, so a cancel keeps what was indexed and the next run resumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.cancel import CancelToken
from core.clap.loading import SEARCH_CLAP
from core.errors import GenerationCancelled, SoundDeskError
from desktop.jobs.engine import EngineHolder
from desktop.jobs.worker import Report


def _scorer_for(engine: Any, report: Report, cancel: CancelToken):
    return lambda name: engine.clap(name, progress=lambda done, total: report("clap", done, total), cancel=cancel)


def rank_result(engine: Any, result: Any, report: Report, cancel: CancelToken) -> None:
    """Score the batch's takes (already written) and embed them for search; they are kept whatever happens.

    A cancel, or a CLAP that cannot be loaded, leaves the remaining takes unscored and says so in `notice`.
    """
    from core.clap.ranking import rank_written_takes

    takes = [take for take, _, _ in result.takes]
    sidecars = [files.sidecar for _, files, _ in result.takes]
    try:
        vectors = rank_written_takes(
            takes,
            sidecars,
            _scorer_for(engine, report, cancel),
            SEARCH_CLAP,
            progress=lambda step, total: report("rank", step, total),
            cancel=cancel,
        )
    except GenerationCancelled:
        result.notice = "Scoring was cancelled: the takes are kept, unscored."
        return
    except SoundDeskError as exc:
        result.notice = f"The takes are kept but were not scored: {exc}"
        return
    result.embeddings = [None if v is None else (SEARCH_CLAP, v) for v in vectors]
    result.ranked = True


def embed_query_task(holder: EngineHolder, query: str):
    """A job task: the search CLAP's text embedding of `query` [D]."""

    def task(report: Report, cancel: CancelToken) -> np.ndarray:
        report("clap", 0, 1)
        return _scorer_for(holder.get(), report, cancel)(SEARCH_CLAP).embed_text(query)

    return task


def embed_take_task(holder: EngineHolder, wav_path: Path):
    """A job task: the search CLAP's audio embedding of one take's WAV [D]."""

    def task(report: Report, cancel: CancelToken) -> np.ndarray:
        report("clap", 0, 1)
        return _scorer_for(holder.get(), report, cancel)(SEARCH_CLAP).embed_file(wav_path, cancel)

    return task


def rank_files_task(holder: EngineHolder, sidecars: list[Path]):
    """A job task: score each take file by how well it fits its prompt (writing `text_match` into its JSON);
    returns core.clap.ranking.Scored entries, best first."""

    def task(report: Report, cancel: CancelToken) -> list:
        from core.clap.ranking import rank_take_files

        scorer_for = _scorer_for(holder.get(), report, cancel)
        return rank_take_files(
            sidecars, scorer_for, progress=lambda step, total: report("rank", step, total), cancel=cancel
        )

    return task


def index_task(holder: EngineHolder, folder: Path):
    """A job task: embed every take of the library in `folder` that has no embedding yet; returns how many, and
    a sentence for each take that could not be indexed."""

    def task(report: Report, cancel: CancelToken) -> tuple[int, list[str]]:
        from core.clap.search import index_library
        from core.takes.library import Library

        scorer = _scorer_for(holder.get(), report, cancel)(SEARCH_CLAP)
        skipped: list[str] = []
        with Library(folder) as library:
            count = index_library(library, scorer, lambda step, total: report("index", step, total), cancel, skipped)
        return count, skipped

    return task

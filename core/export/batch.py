"""Batches of exports are all or none: when one file of a batch fails, the files this batch already wrote are
removed, and the message says so exactly (or names what could not be removed). A cancel is no failure: the
files finished before it stay, as a stopped generation keeps its finished takes.

With `if_exists="overwrite"` an earlier file may have replaced one the user had; removing it would lose both,
so those files are kept and named instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from core.errors import ExportError, SoundDeskError

T = TypeVar("T")


def all_or_none(items: Iterable[T], export_one: Callable[[int, T], object], keep_written: bool = False) -> list:
    """`export_one(index, item)` for every item (each returns an ExportResult); on a failure, undo the batch."""
    done: list = []
    try:
        for index, item in enumerate(items):
            done.append(export_one(index, item))
    except SoundDeskError as exc:  # a stop (cancel, SIGINT) keeps the finished files: the caller lists them
        if not done:
            raise
        files = [path for result in done for path in (result.path, result.sidecar)]
        if keep_written:
            note = f" These files of the batch were written before it and kept: {_names(files)}."
        else:
            left = _remove(files)
            note = (
                f" The {len(done)} file(s) this batch exported before it were removed, so nothing of it was kept."
                if not left
                else f" These files of the batch could not be removed and remain: {_names(left)}."
            )
        raise (type(exc) if isinstance(exc, ExportError) else ExportError)(f"{exc}{note}") from exc
    return done


def _remove(paths: list[Path]) -> list[Path]:
    left = []
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            left.append(path)
    return left


def _names(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths)

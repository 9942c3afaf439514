"""Named copies: a renamed take reaches a DAW under its name while its library files keep theirs.

A take's files in the library folder are never renamed (a DAW session may reference them). When a take that
was given a name is dragged out, `named_wav` hands out `<library>/Named/<name>.wav` instead: a hard link to the
take's WAV (no extra disk space; a copy where links are not possible), complete before the drag starts and
kept afterwards, so the DAW can reference it in place too. Dragging the same take again reuses its file; another
take of the same name gets `<name>-2.wav`; a file named before a later rename stays, for the DAW that uses it.
"""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

from core.errors import ExportError
from core.takes.atomic import ensure_folder, write_files
from core.takes.naming import sanitize

NAMED_DIR = "Named"
MAX_SAME_NAME = 1000


def named_wav(wav: Path, name: str, library_folder: Path | None = None) -> Path:
    """The WAV `wav` under the file name `name`.wav in the library's Named folder (made now if needed)."""
    folder = ensure_folder((library_folder or wav.parent) / NAMED_DIR)
    stem = sanitize(name, fallback="take")
    for number in range(1, MAX_SAME_NAME + 1):
        target = folder / (f"{stem}.wav" if number == 1 else f"{stem}-{number}.wav")
        if target.exists():
            if _same(target, wav):
                return target
            continue
        if _link_or_copy(wav, target):
            return target
    raise ExportError(f"Cannot name a copy of {wav.name} “{name}” in {folder}: too many files of that name.")


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b) or filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _link_or_copy(source: Path, target: Path) -> bool:
    """Make `target` a hard link to `source` (or a complete copy); False if `target` appeared meanwhile."""
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        return False
    except OSError:  # another file system, or one without hard links: a copy, written whole or not at all
        pass
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ExportError(f"Cannot read {source} to name a copy of it: {exc.strerror or exc}.") from exc
    try:
        write_files([(target, data)], overwrite=False)
    except ExportError:
        if target.exists():
            return False
        raise
    return True

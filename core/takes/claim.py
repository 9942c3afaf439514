"""Writing a take under a name no other writer holds: the name is claimed by the commit itself.

Checking that `NAME.wav` is free and then writing it is a race when two processes (the window and a CLI run)
write into one folder: both see the name free and the second replaces the first's take. Here the commit is a
link that fails when the target exists (core.takes.atomic, never replacing), and a lost race moves on to the
next `-2`, `-3` ... name, so every take keeps its own three files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from core.errors import ExportError
from core.takes.atomic import NameTakenError, ensure_folder
from core.takes.naming import TAKE_SUFFIXES, TakeFiles, unique_stem
from core.takes.take import Take, save_take

MAX_ATTEMPTS = 1000


def save_new_take(take: Take, folder: str | os.PathLike, stem: str, taken: Iterable[str] = ()) -> TakeFiles:
    """Write `take` as `stem` or the first free `stem-N` in `folder` (all three files or none); never replaces."""
    folder = ensure_folder(Path(folder))
    lost = list(taken)
    for _ in range(MAX_ATTEMPTS):
        name = unique_stem(folder, stem, TAKE_SUFFIXES, lost)
        try:
            return save_take(take, folder, name, overwrite=False)
        except NameTakenError:
            lost.append(name)  # another writer committed this name between our check and our link
    raise ExportError(f"Could not find a free name for {stem} in {folder} after {MAX_ATTEMPTS} tries.")

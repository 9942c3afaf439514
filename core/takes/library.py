"""The take library: a folder of take files plus an SQLite history of every take (search, star, trash).

Each take lives in the library folder as `STEM.wav`, `STEM.codes.npy` and `STEM.json` (core.takes.take); the files
are written once and kept in place, so a DAW that references a WAV never loses it. The history database
`sounddesk-library.sqlite` sits in the same folder, so a library folder carries its own history.

Deleting a take moves its files into `.trash/` and sets the row's `deleted` flag; `restore` undoes both.
A `Library` object is used from one thread (SQLite connections are thread-bound); `write_take_files` is a
plain function that a worker thread may call before the row is added on the owner's thread. Several processes
may share one library: names are claimed atomically (core.takes.claim), a locked database is waited for a
bounded time (core.takes.history_db), and a take whose row is missing is recorded at the next open
(core.takes.adopt). A damaged row is skipped and listed in `Library.damaged`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from core.errors import ExportError
from core.params import GenerationParams
from core.takes import history_db
from core.takes.adopt import adopt, row_from_sidecar
from core.takes.atomic import ensure_folder
from core.takes.claim import save_new_take
from core.takes.embeddings import EmbeddingStore
from core.takes.naming import library_stem
from core.takes.take import Take, TakeFiles, set_take_name

DB_NAME = "sounddesk-library.sqlite"
TRASH_DIR = ".trash"
SCHEMA_VERSION = 1
APP_NAME = "SoundDesk"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS takes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt TEXT NOT NULL,
    model TEXT NOT NULL,
    seed INTEGER NOT NULL,
    params TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}',
    wav_path TEXT NOT NULL,
    codes_path TEXT NOT NULL,
    sidecar_path TEXT NOT NULL,
    sample_rate INTEGER NOT NULL,
    channels INTEGER NOT NULL,
    duration REAL NOT NULL,
    name TEXT NOT NULL,
    starred INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS takes_created ON takes(created);
"""


def default_library_dir() -> Path:
    """`~/Music/SoundDesk`: a folder a user finds in a file manager and a DAW's browser (never a hidden one).

    A library already kept in the per-user data folder (where earlier versions put it when there was no music
    folder) stays where it is."""
    legacy = Path(platformdirs.user_data_dir(APP_NAME, APP_NAME)) / "library"
    if (legacy / DB_NAME).is_file():
        return legacy
    return Path(platformdirs.user_music_dir()) / APP_NAME


@dataclass(frozen=True)
class TakeRecord:
    """One row of the history: where a take's files are and how to make it again."""

    id: int
    prompt: str
    model: str
    seed: int
    params: GenerationParams
    wav_path: Path
    codes_path: Path
    sidecar_path: Path
    sample_rate: int
    channels: int
    duration: float
    name: str
    starred: bool
    deleted: bool
    created: float
    extra: dict[str, Any] = field(default_factory=dict)


def write_take_files(folder: str | os.PathLike, take: Take, created: float | None = None) -> TakeFiles:
    """Write the take into `folder` under a fresh unique name (WAV + codes + sidecar, all or none)."""
    folder = ensure_folder(Path(folder))
    created = time.time() if created is None else created
    return save_new_take(take, folder, library_stem(take.prompt, take.seed, created))


def default_name(prompt: str, seed: int) -> str:
    short = " ".join(prompt.split())
    if len(short) > 48:
        short = short[:47].rstrip() + "…"
    return f"{short or 'untitled'} #{seed}"


def given_name(record: TakeRecord) -> str | None:
    """The name the take was given (renamed in the window, or a loop's name), or None while it has its default."""
    return None if record.name == default_name(record.prompt, record.seed) else record.name


class Library:
    """The history of one library folder; open it, use it from one thread, `close()` it."""

    def __init__(self, folder: str | os.PathLike, busy_timeout_s: float = history_db.BUSY_TIMEOUT_S) -> None:
        self.folder = Path(folder)
        self.busy_timeout_s = busy_timeout_s
        self.damaged: list[str] = []  # sentences about history rows that could not be read
        if (self.folder / DB_NAME).is_dir():
            raise ExportError(
                f"Cannot open the take library in {self.folder}: its history file {DB_NAME} is a folder, not a "
                "database. Move or rename that folder, or choose another library folder in Preferences."
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = history_db.connect(self.folder / DB_NAME)
        except (OSError, sqlite3.Error) as exc:
            raise ExportError(f"Cannot open the take library in {self.folder}: {exc}.") from exc
        try:  # a damaged or foreign database file fails here, not at connect
            self._retry(self._create_schema, "open its history")
            # CLAP vectors for search by sound
            self.embeddings = self._retry(lambda: EmbeddingStore(self._db, self.folder), "open its search index")
        except history_db.LibraryBusyError:
            self._db.close()
            raise
        except ExportError as exc:
            self._db.close()
            raise ExportError(f"Cannot open the take library in {self.folder}: {exc.__cause__}.") from exc
        self.adopted = self._adopt_orphans()

    def _create_schema(self) -> None:
        if self._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            self._db.executescript(_SCHEMA)  # writes nothing when the tables exist: a reader does not hold it up
            return
        with history_db.transaction(self._db):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _retry(self, action: Callable[[], Any], what: str, wait_s: float | None = None) -> Any:
        return history_db.with_retry(action, self.folder, self.busy_timeout_s if wait_s is None else wait_s, what)

    def _adopt_orphans(self) -> int:
        """Record complete takes in the folder that have no row (a stop between files and row); see core.takes.adopt."""
        try:
            paths = [
                row[0]
                for row in self._retry(lambda: self._db.execute("SELECT sidecar_path FROM takes").fetchall(), "read")
            ]
            return adopt(self.folder, paths, self._record_found)
        except history_db.LibraryBusyError:
            return 0  # another writer is busy: the next open repairs

    def _record_found(self, sidecar: Path, data: dict, created: float) -> None:
        row = row_from_sidecar(sidecar, data, created)
        given = data.get("name")
        row["name"] = given if isinstance(given, str) and given.strip() else default_name(row["prompt"], row["seed"])
        self._retry(lambda: history_db.insert_once(self._db, row), "record a take")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def trash(self) -> Path:
        return self.folder / TRASH_DIR

    def add(
        self,
        take: Take,
        files: TakeFiles,
        created: float | None = None,
        embedding: tuple[str, Any] | None = None,
        wait_s: float | None = None,
    ) -> TakeRecord:
        """Record a take whose files `write_take_files` (or save_take) already wrote; adding it again (same
        sidecar) updates its one row.

        `embedding` (CLAP name, vector) is stored after the row. `wait_s` bounds the wait for another program's
        lock (default `busy_timeout_s`).
        """
        created = time.time() if created is None else created
        row = {
            "prompt": take.prompt,
            "model": take.model,
            "seed": int(take.seed),
            "params": json.dumps(take.recorded_params()),
            "extra": json.dumps(take.extra, default=str),
            "wav_path": str(files.wav),
            "codes_path": str(files.codes),
            "sidecar_path": str(files.sidecar),
            "sample_rate": int(take.sample_rate),
            "channels": take.channels,
            "duration": float(take.duration),
            "name": default_name(take.prompt, take.seed),
            "created": created,
        }
        take_id = self._retry(lambda: history_db.insert_once(self._db, row, replace=True), "record the take", wait_s)
        if embedding is not None:  # a lost vector is recomputed by the next indexing run
            store = lambda: self.embeddings.put(take_id, embedding[0], embedding[1])  # noqa: E731
            self._retry(store, "store its embedding", wait_s)
        return self.get(take_id)

    def save(self, take: Take) -> TakeRecord:
        """Write the take's files into the library folder and record it.

        The files are written first (all three or none). If the row cannot be added (the database stays locked
        by another program), the files are kept and the take is recorded the next time the library is opened.
        """
        created = time.time()
        files = write_take_files(self.folder, take, created)
        try:
            return self.add(take, files, created)
        except ExportError as exc:
            raise ExportError(
                f"{exc} The take was saved as {files.wav.name}; it will be listed when the library is next opened."
            ) from exc

    def get(self, take_id: int) -> TakeRecord:
        row = self._retry(lambda: self._db.execute("SELECT * FROM takes WHERE id = ?", (take_id,)).fetchone(), "read")
        if row is None:
            raise KeyError(take_id)
        return _record(row)

    def by_sidecar(self, sidecar: str | os.PathLike) -> TakeRecord | None:
        """The record whose JSON sidecar is `sidecar`, if this library holds it."""
        forms = (str(sidecar), str(Path(sidecar).resolve()))
        row = self._db.execute("SELECT * FROM takes WHERE sidecar_path IN (?, ?)", forms).fetchone()
        return None if row is None else _record(row)

    def set_extra(self, take_id: int, key: str, value: Any) -> TakeRecord:
        """Set one value of the take's extra facts (such as its CLAP `text_match`)."""
        extra = dict(self.get(take_id).extra, **{key: value})
        self._update(take_id, "extra = ?", json.dumps(extra, default=str))
        return self.get(take_id)

    def search(self, text: str = "", starred_only: bool = False, deleted: bool = False) -> list[TakeRecord]:
        """Takes whose prompt or name contains `text` (case-insensitive): newest run first; a run best first by
        CLAP text match where its takes were scored, else in seed order."""
        sql = "SELECT * FROM takes WHERE deleted = ?"
        args: list[Any] = [int(deleted)]
        for word in text.split():
            sql += " AND (prompt LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')"
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [pattern, pattern]
        if starred_only:
            sql += " AND starred = 1"
        sql += " ORDER BY created DESC, json_extract(extra, '$.text_match') DESC NULLS LAST, id ASC"
        rows = self._retry(lambda: self._db.execute(sql, args).fetchall(), "search its history")
        return history_db.read_rows(rows, _record, self.damaged)

    def recent_prompts(self, limit: int = 20) -> list[str]:
        """Distinct prompts, most recently used first."""
        sql = "SELECT prompt, MAX(created) AS last FROM takes GROUP BY prompt ORDER BY last DESC LIMIT ?"
        rows = self._retry(lambda: self._db.execute(sql, (limit,)).fetchall(), "read")
        return [row["prompt"] for row in rows]

    def rename(self, take_id: int, name: str) -> TakeRecord:
        """Give the take a name: in the history and in its JSON sidecar, so exports (also from the command line)
        and a history rebuilt from the files carry it. The files keep their names: a DAW may reference them;
        a drag hands out a copy named after the take (core.takes.named)."""
        record = self.get(take_id)
        name = name.strip() or record.name
        if record.sidecar_path.is_file():
            set_take_name(record.sidecar_path, name)
        try:
            self._update(take_id, "name = ?", name)
        except ExportError:  # the history is locked: the sidecar keeps the old name too
            if record.sidecar_path.is_file():
                set_take_name(record.sidecar_path, record.name)
            raise
        return self.get(take_id)

    def set_starred(self, take_id: int, starred: bool) -> TakeRecord:
        self._update(take_id, "starred = ?", int(starred))
        return self.get(take_id)

    def delete(self, take_id: int) -> TakeRecord:
        """Move the take's files into `.trash/` and hide it; `restore` undoes this."""
        record = self.get(take_id)
        if record.deleted:
            return record
        moved = self._move_files(record, self.trash)
        self._set_paths(take_id, moved, deleted=True)
        return self.get(take_id)

    def restore(self, take_id: int) -> TakeRecord:
        """Bring a deleted take's files back from `.trash/` and show it again."""
        record = self.get(take_id)
        if not record.deleted:
            return record
        moved = self._move_files(record, self.folder)
        self._set_paths(take_id, moved, deleted=False)
        return self.get(take_id)

    def _update(self, take_id: int, assignment: str, value: Any) -> None:
        if self._write(f"UPDATE takes SET {assignment} WHERE id = ?", (value, take_id)) == 0:
            raise KeyError(take_id)

    def _move_files(self, record: TakeRecord, target: Path) -> tuple[Path, Path, Path]:
        """Move the take's three files into `target`: all of them, or (after putting back) none."""
        done: list[tuple[Path, Path]] = []
        try:
            target.mkdir(parents=True, exist_ok=True)
            for path in (record.wav_path, record.codes_path, record.sidecar_path):
                if path.exists():
                    shutil.move(path, target / path.name)
                    done.append((path, target / path.name))
        except OSError as exc:
            for source, destination in reversed(done):
                shutil.move(destination, source)
            raise ExportError(f"Cannot move the files of '{record.name}' to {target}: {exc}.") from exc
        return tuple(target / p.name for p in (record.wav_path, record.codes_path, record.sidecar_path))

    def _set_paths(self, take_id: int, paths: tuple[Path, Path, Path], deleted: bool) -> None:
        self._write(
            "UPDATE takes SET wav_path = ?, codes_path = ?, sidecar_path = ?, deleted = ? WHERE id = ?",
            (str(paths[0]), str(paths[1]), str(paths[2]), int(deleted), take_id),
        )

    def _write(self, sql: str, args: Any, many: bool = False) -> int:
        """One statement in its own transaction, waiting (bounded) for another writer; returns the rows changed."""

        def run() -> int:
            with history_db.transaction(self._db):
                cursor = self._db.executemany(sql, args) if many else self._db.execute(sql, args)
                return cursor.rowcount

        return self._retry(run, "save the change")


_READ_COLUMN: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(("id", "seed", "sample_rate", "channels"), int),
    **dict.fromkeys(("duration", "created"), float),
    **dict.fromkeys(("starred", "deleted"), bool),
    **dict.fromkeys(("wav_path", "codes_path", "sidecar_path"), Path),
    "params": lambda text: GenerationParams.from_dict(json.loads(text)),
    "extra": lambda text: json.loads(text or "{}"),
}
"""How a history column becomes its TakeRecord field; text columns (prompt, model, name) are taken as they are."""


def _record(row: sqlite3.Row) -> TakeRecord:
    return TakeRecord(**{f.name: _READ_COLUMN.get(f.name, _as_is)(row[f.name]) for f in fields(TakeRecord)})


def _as_is(value: Any) -> Any:
    return value

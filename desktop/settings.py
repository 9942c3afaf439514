"""Persistent settings: QSettings groups per component, typed reads, and the app-wide preferences dialog data.

The organisation and application names are set once by desktop.app; components then call
`save_state(settings)` / `restore_state(settings)` inside their own group (`with group(settings, "name")`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from core.takes.library import default_library_dir

ORGANISATION = "SoundDesk"
APPLICATION = "SoundDesk"
log = logging.getLogger(__name__)


@contextmanager
def group(settings: QSettings, name: str) -> Iterator[QSettings]:
    settings.beginGroup(name)
    try:
        yield settings
    finally:
        settings.endGroup()


def restore_bytes(settings: QSettings, key: str, restore: Callable[[QByteArray], bool]) -> QByteArray | None:
    """Apply a saved geometry or widget state with `restore` (restoreGeometry, restoreState); the value applied.

    A value that is not bytes (a hand-edited `geometry=abc`) or that Qt rejects is removed, with a log line: the
    window then opens with its defaults instead of not at all."""
    value = settings.value(key)
    if value is None:
        return None
    if isinstance(value, QByteArray | bytes | bytearray) and restore(QByteArray(value)) is not False:
        return QByteArray(value)
    _reset(settings, key, f"unusable value {str(value)[:40]!r}")
    return None


def restore_group(settings: QSettings, name: str, restore: Callable[[QSettings], None]) -> None:
    """Run a component's `restore_state` inside its group; one that fails on a bad value gets its group reset."""
    with group(settings, name):
        try:
            restore(settings)
        except Exception as exc:  # noqa: BLE001 - a settings file must never keep the window from opening
            _reset(settings, "", f"{type(exc).__name__}: {exc}")


def _reset(settings: QSettings, key: str, why: str) -> None:
    where = "/".join(part for part in (settings.group(), key) if part)
    log.warning("settings: %s reset to the defaults (%s) in %s", where, why, settings.fileName())
    settings.remove(key)


def read_bool(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):  # INI files give strings back
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def read_int(settings: QSettings, key: str, default: int) -> int:
    try:
        return int(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def read_float(settings: QSettings, key: str, default: float) -> float:
    try:
        return float(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def read_str(settings: QSettings, key: str, default: str = "") -> str:
    value = settings.value(key, default)
    return default if value is None else str(value)


def read_json(settings: QSettings, key: str, default: Any) -> Any:
    """Values stored as JSON text (lists and dicts survive every QSettings backend this way)."""
    text = settings.value(key)
    if not text:
        return default
    try:
        return json.loads(str(text))
    except ValueError:
        return default


def write_json(settings: QSettings, key: str, value: Any) -> None:
    settings.setValue(key, json.dumps(value))


@dataclass
class Preferences:
    """App-wide preferences: where takes go, which device plays them, whether the hub may be reached."""

    library_dir: Path
    output_device: str = ""  # device name; "" = system default
    offline: bool = False
    rank_takes: bool = False  # score every generation by CLAP text match (best variation first)
    theme: str = "dark"  # "dark" or "light" (resources/styles)
    preview: bool = True  # hear takes while they are generated (costs some generation speed)

    @classmethod
    def load(cls, settings: QSettings) -> Preferences:
        with group(settings, "preferences"):
            folder = read_str(settings, "library_dir")
            return cls(
                library_dir=Path(folder) if folder else default_library_dir(),
                output_device=read_str(settings, "output_device"),
                offline=read_bool(settings, "offline", False),
                rank_takes=read_bool(settings, "rank_takes", False),
                theme=read_str(settings, "theme", "dark") or "dark",
                preview=read_bool(settings, "preview", True),
            )

    def save(self, settings: QSettings) -> None:
        with group(settings, "preferences"):
            settings.setValue("library_dir", str(self.library_dir))
            settings.setValue("output_device", self.output_device)
            settings.setValue("offline", self.offline)
            settings.setValue("rank_takes", self.rank_takes)
            settings.setValue("theme", self.theme)
            settings.setValue("preview", self.preview)

"""Repairing a library after a stop between writing a take's files and recording its history row.

A take is written first (three files, all or none) and recorded second. A process killed in between, or a
row refused because another program held the database, leaves a complete take without a row. When a library
is opened, every such take in its folder (a sidecar that passes the take schema, with its WAV and codes
beside it) is recorded, so no finished take is ever lost from the history.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from core.errors import SoundDeskError
from core.takes import schemas
from core.takes.naming import TakeFiles

log = logging.getLogger(__name__)
SIDECAR_FIELDS = {
    *("version", "prompt", "model", "seed", "parameters", "sample_rate", "channels", "duration", "codes", "name")
}


def orphan_sidecars(folder: Path, recorded: Iterable[str]) -> list[Path]:
    """Take sidecars in `folder` whose file name no history row mentions, oldest first."""
    known = {Path(p).name for p in recorded}
    found = []
    try:
        candidates = sorted(folder.glob("*.json"))
    except OSError:
        return []
    for path in candidates:
        if path.name in known or path.name.startswith("."):
            continue
        files = TakeFiles.of_sidecar(path)
        if files.wav.is_file() and files.codes.is_file():
            found.append(path)
    return sorted(found, key=_mtime)


def adopt(folder: Path, recorded: Iterable[str], record: Callable[[Path, dict, float], None]) -> int:
    """Call `record(sidecar, data, created)` for every orphan take in `folder`; returns how many."""
    count = 0
    for sidecar in orphan_sidecars(folder, recorded):
        try:
            data = schemas.check(schemas.read_json(sidecar, "take"), schemas.TAKE, sidecar, "take")
            schemas.params_field(data, sidecar, "take")
        except SoundDeskError as exc:  # not a take of ours (an export's sidecar, a scene): leave it alone
            log.debug("not adopting %s: %s", sidecar, exc)
            continue
        record(sidecar, data, _mtime(sidecar))
        count += 1
    if count:
        log.warning("recorded %d take(s) found in %s without a history row", count, folder)
    return count


def row_from_sidecar(sidecar: Path, data: dict, created: float) -> dict[str, Any]:
    """The history row (without its display name) for a checked take sidecar."""
    return {
        "prompt": data["prompt"],
        "model": data["model"],
        "seed": int(data["seed"]),
        "params": json.dumps(data.get("parameters") or {}),
        "extra": json.dumps({k: v for k, v in data.items() if k not in SIDECAR_FIELDS}, default=str),
        "wav_path": str(TakeFiles.of_sidecar(sidecar).wav),
        "codes_path": str(TakeFiles.of_sidecar(sidecar).codes),
        "sidecar_path": str(sidecar),
        "sample_rate": int(data.get("sample_rate") or 0),
        "channels": int(data.get("channels") or 1),
        "duration": float(data.get("duration") or 0.0),
        "created": created,
    }


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0

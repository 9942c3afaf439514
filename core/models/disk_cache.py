"""The user cache on disk: where it is, what keys it, and small checked JSON records in it.

Everything a load derives once per machine lives under `cache_root()`: the int8 weights (core.models.int8_cache),
the facts of `core.models.load_facts`, auto's choice (`auto.json`, core.models.precision). What depends on the
checkpoint is keyed by its SHA-256 (`content_hash`, remembered per path, size and mtime so a multi-GB file is
hashed once); what depends on the software and the CPU by `machine_key()`. Every record is written to a
temporary name and renamed, and carries a checksum of its content: a damaged record reads as absent (one log
line), so it is derived again and rewritten, never used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
from pathlib import Path
from typing import Any

from core.takes.atomic import write_with

log = logging.getLogger(__name__)
CACHE_ENV = "SOUNDDESK_CACHE_DIR"


def cache_root() -> Path:
    """`$SOUNDDESK_CACHE_DIR`, else the platform's user cache folder for SoundDesk."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("SoundDesk", "SoundDesk"))


def content_hash(path: Path, folder: Path) -> str:
    """SHA-256 of the file's bytes, remembered per (path, size, mtime) in `folder`/hashes.json."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_path = folder / "hashes.json"
    memo = read_checked_json(memo_path)
    if isinstance(memo.get(key), str):
        return memo[key]
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    memo[key] = digest
    write_checked_json(memo_path, memo)
    return digest


_ISA_LIMITS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")  # what a process may hold back


@functools.cache
def machine_key() -> str:
    """What derived kernels' results depend on besides the checkpoint: torch's version and the CPU (its vector ISA
    as torch sees it, its model and its feature flags, and any limit set on the ISA torch and oneDNN use), e.g.
    `torch 2.13.0|AVX512|x86_64|AMD EPYC ...|flags 1a2b3c4d5e6f`."""
    import torch

    limits = [f"{name}={os.environ[name]}" for name in _ISA_LIMITS if os.environ.get(name)]
    return "|".join(
        (f"torch {torch.__version__}", torch.backends.cpu.get_cpu_capability(), platform.machine(), *_cpu_identity())
        + tuple(limits)
    )


def _cpu_identity() -> tuple[str, str]:
    """(model name, short digest of the feature flags) from /proc/cpuinfo; the processor string elsewhere."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return platform.processor(), "flags ?"
    fields = {}
    for line in lines:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    flags = fields.get("flags") or fields.get("Features") or ""
    return fields.get("model name", platform.processor()), "flags " + hashlib.sha256(flags.encode()).hexdigest()[:12]


def read_checked_json(path: Path) -> dict[str, Any]:
    """The mapping `write_checked_json` stored at `path`; {} when absent, and {} with a log line when damaged (the
    damaged record is removed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("cache record %s unreadable (%s): it is made again", path.name, exc)
        return {}
    try:
        record = json.loads(text)
        data, checksum = record["data"], record["sha256"]
        ok = isinstance(data, dict) and checksum == _checksum(data)
    except (ValueError, TypeError, KeyError):
        ok = False
    if not ok:
        log.warning("cache record %s is damaged: it is made again", path.name)
        _remove(path)  # read once: the next reader finds it absent, not damaged again
        return {}
    return data


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # an unwritable cache: the record is ignored at each read, and never used


def write_checked_json(path: Path, data: dict[str, Any]) -> None:
    """Store `data` with the checksum of its content; a cache that cannot be written is skipped with a log line."""
    text = json.dumps({"data": data, "sha256": _checksum(data)}, indent=1, sort_keys=True)
    try:
        write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        log.warning("could not write the cache record %s: %s", path, exc)


def _checksum(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

"""The int8 weights of a checkpoint, quantized once and kept in the user cache (safetensors, never pickle).

Keyed by the checkpoint's content hash (SHA-256 of `state_dict.bin`), so a changed file is quantized again and
a moved or copied one is not. Hashing a multi-GB file takes seconds, so the hash is remembered per
(path, size, mtime) in `hashes.json`. Files are written to a temporary name and renamed: a crash never leaves a
half-written cache entry, and a damaged or mismatching entry is quantized again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from pathlib import Path

import platformdirs
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core.nn.lm import LMModel
from core.nn.quantize import matches, quantize_lm

log = logging.getLogger(__name__)
FORMAT = "int8-per-channel-v1"
CACHE_ENV = "SOUNDDESK_CACHE_DIR"


def cache_root() -> Path:
    """`$SOUNDDESK_CACHE_DIR`, else the platform's user cache folder for SoundDesk."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir("SoundDesk", "SoundDesk"))


def cache_dir() -> Path:
    """Where int8 weights are kept."""
    return cache_root() / "int8"


def content_hash(path: Path, folder: Path | None = None) -> str:
    """SHA-256 of the file's bytes, remembered per (path, size, mtime) in the cache folder."""
    folder = folder or cache_dir()
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_path = folder / "hashes.json"
    memo = _read_json(memo_path)
    if key in memo:
        return memo[key]
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    memo[key] = digest
    _write_atomic(memo_path, lambda tmp: tmp.write_text(json.dumps(memo, indent=1)))
    return digest


def int8_weights(lm: LMModel, checkpoint: Path, folder: Path | None = None) -> dict[str, torch.Tensor]:
    """The LM's int8 tensors: from the cache when present and valid, else quantized now and cached."""
    folder = folder or cache_dir()
    try:
        entry = folder / f"{content_hash(checkpoint, folder)}-{FORMAT}.safetensors"
    except OSError as exc:
        log.warning("int8 cache unavailable (%s): quantizing without it", exc)
        return quantize_lm(lm)
    if entry.is_file():
        try:
            tensors = load_file(entry)
            if matches(lm, tensors):
                return tensors
        except (OSError, SafetensorError) as exc:
            log.warning("int8 cache entry %s unreadable (%s): quantizing again", entry.name, exc)
    tensors = quantize_lm(lm)
    try:
        _write_atomic(entry, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT}))
    except OSError as exc:  # a full disk or a read-only cache must not stop generation
        log.warning("could not write the int8 cache entry %s: %s", entry, exc)
    return tensors


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

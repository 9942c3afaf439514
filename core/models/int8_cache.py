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
import math
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import platformdirs
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

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


class StoredTensors(Mapping[str, torch.Tensor]):
    """The tensors of a safetensors file, each read (not memory-mapped) when it is asked for.

    A model's int8 weights are then packed one at a time and the file's pages never count in the process's
    memory: a mapped file stays resident as long as any tensor viewing it lives.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(size)) if 0 < size <= _MAX_HEADER else None
        if not isinstance(header, dict):
            raise SafetensorError(f"{path.name} has no safetensors header")
        header.pop("__metadata__", None)
        self._start, length = 8 + size, path.stat().st_size
        self._entries = {name: _entry(name, info, length - self._start) for name, info in header.items()}

    def __getitem__(self, name: str) -> torch.Tensor:
        shape, dtype, (begin, end) = self._entries[name]
        tensor = torch.empty(shape, dtype=dtype)
        with self.path.open("rb") as handle:
            handle.seek(self._start + begin)
            if handle.readinto(tensor.numpy().view(np.uint8).reshape(-1)) != end - begin:
                raise SafetensorError(f"{self.path.name}: {name} is cut short")
        return tensor

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def describe(self, name: str) -> tuple[tuple[int, ...], torch.dtype]:
        """(shape, dtype) of a tensor, from the file's header."""
        shape, dtype, _ = self._entries[name]
        return shape, dtype


_MAX_HEADER = 100 << 20
_DTYPES = {"I8": torch.int8, "F32": torch.float32}


def _entry(name: str, info: dict, data_bytes: int) -> tuple[tuple[int, ...], torch.dtype, tuple[int, int]]:
    """A header entry checked against the file: a known dtype, and offsets that hold exactly its shape."""
    dtype = _DTYPES.get(info.get("dtype"))
    shape, (begin, end) = tuple(int(n) for n in info.get("shape", ())), info.get("data_offsets", (0, -1))
    if dtype is None or not 0 <= begin <= end <= data_bytes or end - begin != math.prod(shape) * dtype.itemsize:
        raise SafetensorError(f"damaged entry {name!r}")
    return shape, dtype, (int(begin), int(end))


def int8_weights(lm: LMModel, checkpoint: Path, folder: Path | None = None) -> Mapping[str, torch.Tensor]:
    """The LM's int8 tensors: from the cache when present and valid (read lazily), else quantized now and cached."""
    folder = folder or cache_dir()
    try:
        entry = folder / f"{content_hash(checkpoint, folder)}-{FORMAT}.safetensors"
    except OSError as exc:
        log.warning("int8 cache unavailable (%s): quantizing without it", exc)
        return quantize_lm(lm)
    if entry.is_file():
        try:
            tensors = StoredTensors(entry)
            if matches(lm, tensors):
                return tensors
        except (OSError, SafetensorError) as exc:
            log.warning("int8 cache entry %s unreadable (%s): quantizing again", entry.name, exc)
    tensors = quantize_lm(lm)
    try:
        _write_atomic(entry, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT}))
        return StoredTensors(entry)  # read back one at a time: the quantized copies are not held while packing
    except (OSError, SafetensorError) as exc:  # a full disk or a read-only cache must not stop generation
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

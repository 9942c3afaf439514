"""The int8 (or int4) weights of a checkpoint, quantized once and kept in the user cache (safetensors, never pickle).

Keyed by the checkpoint's content hash (SHA-256 of `state_dict.bin`; core.models.disk_cache), so a changed file is
quantized again and a moved or copied one is not. The values do not depend on the CPU (exact float32 arithmetic:
a maximum, a division, a rounding); the entry still records torch's version, and another version quantizes again.
Files are written to a temporary name and renamed: a crash never leaves a half-written entry.

What is read is checked before it is used: the header (names, dtypes, offsets that fit the file), the metadata
(this format, this checkpoint's hash, this torch) and each tensor's CRC-32, computed when it is read. A
mismatching or damaged entry is quantized again and rewritten, with one log line; never used, never a crash.
int4 entries (core.nn.int4's stored form, int8 output heads) are kept the same way, beside, in their own format.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

from core.models.disk_cache import CACHE_ENV, cache_root
from core.models.disk_cache import content_hash as _content_hash
from core.nn import int4
from core.nn.lm import LMModel
from core.nn.quantize import matches, matches_int4, quantize_lm, quantize_lm_int4
from core.takes.atomic import write_with

__all__ = [
    "CACHE_ENV",
    "FORMAT",
    "StoredTensors",
    "cache_dir",
    "cache_root",
    "content_hash",
    "int8_weights",
    "quantized_weights",
]
log = logging.getLogger(__name__)
FORMAT = "int8-per-channel-v1"


@dataclass(frozen=True)
class _Scheme:
    """How one quantized precision is made and checked."""

    format: str
    quantize: Callable[[LMModel], dict[str, torch.Tensor]]
    matches: Callable[[LMModel, Mapping[str, torch.Tensor]], bool]


SCHEMES = {
    "int8": _Scheme(FORMAT, quantize_lm, matches),
    "int4": _Scheme(f"int4-g{int4.GROUP}-int8-heads-v1", quantize_lm_int4, matches_int4),
}


def cache_dir() -> Path:
    """Where int8 weights are kept."""
    return cache_root() / "int8"


def content_hash(path: Path, folder: Path | None = None) -> str:
    """SHA-256 of the file's bytes, remembered per (path, size, mtime) in the cache folder."""
    return _content_hash(path, folder or cache_dir())


class DamagedEntry(SafetensorError):
    """A cache entry whose content is not what was written for this checkpoint."""


class StoredTensors(Mapping[str, torch.Tensor]):
    """The tensors of a safetensors file, each read (not memory-mapped) when it is asked for, and checked against
    the CRC-32 the file's metadata records for it (`DamagedEntry` when it differs).

    A model's int8 weights are then packed one at a time and the file's pages never count in the process's
    memory: a mapped file stays resident as long as any tensor viewing it lives.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            try:
                header = json.loads(handle.read(size)) if 0 < size <= _MAX_HEADER else None
            except ValueError:  # not UTF-8, not JSON: a garbled header
                header = None
        if not isinstance(header, dict):
            raise SafetensorError(f"{path.name} has no safetensors header")
        metadata = header.pop("__metadata__", None)
        self._start, length = 8 + size, path.stat().st_size
        self._entries = {name: _entry(name, info, length - self._start) for name, info in header.items()}
        self.record = _record(metadata if isinstance(metadata, dict) else {}, self._entries)
        self._crc = None if self.record is None else self.record["crc32"]

    def __getitem__(self, name: str) -> torch.Tensor:
        shape, dtype, (begin, end) = self._entries[name]
        tensor = torch.empty(shape, dtype=dtype)
        data = tensor.numpy().view(np.uint8).reshape(-1)
        with self.path.open("rb") as handle:
            handle.seek(self._start + begin)
            if handle.readinto(data) != end - begin:
                raise SafetensorError(f"{self.path.name}: {name} is cut short")
        if self._crc is not None and zlib.crc32(data) != self._crc[name]:
            raise DamagedEntry(f"the bytes of {name} differ from those written")
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
_DTYPES = {"I8": torch.int8, "U8": torch.uint8, "F32": torch.float32}


def _entry(name: str, info: dict, data_bytes: int) -> tuple[tuple[int, ...], torch.dtype, tuple[int, int]]:
    """A header entry checked against the file: a known dtype, and offsets that hold exactly its shape."""
    try:
        dtype = _DTYPES.get(info.get("dtype"))
        shape, (begin, end) = tuple(int(n) for n in info.get("shape", ())), info.get("data_offsets", (0, -1))
        fits = dtype is not None and 0 <= begin <= end <= data_bytes
    except (AttributeError, TypeError, ValueError):  # not a mapping, shape or offsets of the wrong kind
        fits = False
    if not fits or end - begin != math.prod(shape) * dtype.itemsize:
        raise SafetensorError(f"damaged entry {name!r}")
    return shape, dtype, (int(begin), int(end))


def _record(metadata: dict, entries: dict) -> dict | None:
    """What `_metadata` recorded (None for an entry written without it), its CRC-32s one for every tensor, or
    DamagedEntry."""
    if "sounddesk" not in metadata:
        return None
    try:
        record = json.loads(metadata["sounddesk"])
        crc = record["crc32"]
        complete = isinstance(crc, dict) and set(crc) == set(entries) and all(type(v) is int for v in crc.values())
    except (TypeError, ValueError, KeyError):
        complete = False
    if not complete:
        raise DamagedEntry("its metadata is damaged")
    return record


def _metadata(digest: str, tensors: Mapping[str, torch.Tensor], scheme: _Scheme) -> dict[str, str]:
    """What an entry records: its format, the checkpoint it was quantized from, torch's version, each CRC-32 (one
    metadata key: safetensors writes several in a varying order, and the same entry should be the same bytes)."""
    crc = {name: zlib.crc32(t.contiguous().numpy().view(np.uint8).reshape(-1)) for name, t in tensors.items()}
    record = {"format": scheme.format, "source": digest, "torch": torch.__version__, "crc32": crc}
    return {"sounddesk": json.dumps(record, sort_keys=True)}


def _why_not_usable(stored: StoredTensors, digest: str, lm: LMModel, scheme: _Scheme) -> str | None:
    """Why a readable entry must not serve this checkpoint and torch, or None when it may."""
    meta = stored.record
    if meta is None or meta.get("format") != scheme.format:
        return "it was written in an older layout"
    if meta.get("source") != digest:
        return "it was made from another checkpoint"
    if meta.get("torch") != torch.__version__:
        return f"it was made with torch {meta.get('torch')}"
    return None if scheme.matches(lm, stored) else "its tensors do not fit this model"


def int8_weights(lm: LMModel, checkpoint: Path, folder: Path | None = None) -> Mapping[str, torch.Tensor]:
    """The LM's int8 tensors (`quantized_weights` in int8)."""
    return quantized_weights(lm, checkpoint, "int8", folder)


def quantized_weights(
    lm: LMModel, checkpoint: Path, precision: str, folder: Path | None = None
) -> Mapping[str, torch.Tensor]:
    """The LM's tensors for "int8" or "int4": from the cache when present and valid (read lazily and checked),
    else quantized now and cached. A damaged or foreign entry is quantized again and rewritten, with one log line."""
    folder, scheme = folder or cache_dir(), SCHEMES[precision]
    try:
        digest = content_hash(checkpoint, folder)
    except OSError as exc:
        log.warning("%s cache unavailable (%s): quantizing without it", precision, exc)
        return scheme.quantize(lm)
    entry = folder / f"{digest}-{scheme.format}.safetensors"
    if entry.is_file():
        try:
            stored = StoredTensors(entry)
            why = _why_not_usable(stored, digest, lm, scheme)
        except (OSError, SafetensorError) as exc:
            why = f"it is damaged: {exc}"
        if why is None:
            return _Checked(lm, entry, digest, stored, scheme)
        log.warning("%s cache entry %s not used (%s): quantizing again", precision, entry.name, why)
    return _store(lm, entry, digest, scheme.quantize(lm), scheme)


def _store(
    lm: LMModel, entry: Path, digest: str, tensors: dict[str, torch.Tensor], scheme: _Scheme
) -> Mapping[str, torch.Tensor]:
    """Write the entry and read it back lazily (the quantized copies are not held while packing); `tensors` as they
    are where the cache cannot be written (a full disk or a read-only cache must not stop generation)."""
    if _write(entry, digest, tensors, scheme):
        try:
            return _Checked(lm, entry, digest, StoredTensors(entry), scheme)
        except (OSError, SafetensorError) as exc:
            log.warning("could not read back the cache entry %s: %s", entry, exc)
    return tensors


def _write(entry: Path, digest: str, tensors: dict[str, torch.Tensor], scheme: _Scheme) -> bool:
    try:
        metadata = _metadata(digest, tensors, scheme)
        write_with(entry, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))
    except (OSError, SafetensorError) as exc:
        log.warning("could not write the cache entry %s: %s", entry, exc)
        return False
    return True


class _Checked(Mapping[str, torch.Tensor]):
    """A cache entry's tensors for one load, each checked as it is read. The first damaged one makes the whole LM
    quantized again from its float weights (still held while the load packs) and the entry rewritten: every
    tensor served is then the quantization of this checkpoint, read intact or made now."""

    def __init__(self, lm: LMModel, entry: Path, digest: str, stored: StoredTensors, scheme: _Scheme) -> None:
        self._lm, self._entry, self._digest, self._scheme = lm, entry, digest, scheme
        self._tensors: Mapping[str, torch.Tensor] = stored
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> torch.Tensor:
        stored = self._tensors
        if isinstance(stored, StoredTensors):
            try:
                return stored[name]
            except (OSError, SafetensorError) as exc:
                self._quantize_again(stored, exc)
        return self._tensors[name]

    def _quantize_again(self, damaged: StoredTensors, exc: Exception) -> None:
        """Once per load, however many threads read the damaged entry (core.nn.fast_linear.made_together)."""
        with self._lock:
            if self._tensors is damaged:
                log.warning("cache entry %s is damaged (%s): quantizing again", self._entry.name, exc)
                self._tensors = self._scheme.quantize(self._lm)  # kept: this load does not read the entry again
                _write(self._entry, self._digest, self._tensors, self._scheme)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

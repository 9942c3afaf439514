"""Reads back what an export wrote inside its file (core.export.metadata writes it): the tests' reader."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import soundfile as sf

from core.errors import AudioFileError
from core.export.metadata import _BEXT, _INFO_IDS, _NOT_SET, riff_chunks


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def parse_bext(body: bytes) -> dict[str, Any]:
    fields = _BEXT.unpack(body[: _BEXT.size])
    return {
        "description": _text(fields[0]),
        "originator": _text(fields[1]),
        "originator_reference": _text(fields[2]),
        "origination_date": _text(fields[3]),
        "origination_time": _text(fields[4]),
        "time_reference": fields[5] | (fields[6] << 32),
        "version": fields[7],
        "loudness_value": None if fields[9] == _NOT_SET else fields[9] / 100.0,
        "coding_history": _text(body[_BEXT.size :]),
    }


def _parse_info(body: bytes) -> dict[str, str]:
    by_id = {chunk_id: key for key, chunk_id in _INFO_IDS.items()}
    out, pos = {}, 4
    while pos + 8 <= len(body):
        chunk_id, size = body[pos : pos + 4], struct.unpack("<I", body[pos + 4 : pos + 8])[0]
        if chunk_id in by_id:
            out[by_id[chunk_id]] = _text(body[pos + 8 : pos + 8 + size])
        pos += 8 + size + (size % 2)
    return out


def _wav_metadata(data: bytes) -> dict[str, Any]:
    found: dict[str, Any] = {"format": "WAV", "bext": None}
    for chunk_id, body in riff_chunks(data):
        if chunk_id == b"bext" and len(body) >= _BEXT.size:
            found["bext"] = parse_bext(body)
        elif chunk_id == b"LIST" and body[:4] == b"INFO":
            found.update(_parse_info(body))
    return found


def read_metadata(path: str | Path) -> dict[str, Any]:
    """What an exported file carries inside: title, comment, software, date (+ bext for WAV), and under
    "sounddesk" the comment's JSON (prompt, model, seed, parameters ...) when it has one."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".wav":
            found = _wav_metadata(path.read_bytes())
        else:
            with sf.SoundFile(path) as handle:
                found = {"format": handle.format, **{k: getattr(handle, k) for k in _INFO_IDS}}
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise AudioFileError(f"Cannot read the metadata of {path}: {exc}.") from exc
    try:
        found["sounddesk"] = json.loads(found.get("comment") or "")
    except ValueError:
        found["sounddesk"] = None
    return found

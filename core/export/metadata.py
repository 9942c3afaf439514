"""What an exported file says about itself: BWF bext and RIFF LIST/INFO chunks, Vorbis comments, JSON sidecar.

Inside the file: title = prompt, comment = a compact JSON of prompt, model, seed and parameters, software =
"SoundDesk <version>", date. WAV files get them as a BWF `bext` chunk (EBU Tech 3285 v2) plus a RIFF
LIST/INFO chunk (INAM, ICMT, ISFT, ICRD), inserted before the `data` chunk of the file soundfile wrote; FLAC
and OGG get Vorbis comments through soundfile. Beside the file: `NAME.ext.json` with everything.
"""

from __future__ import annotations

import json
import struct
from datetime import datetime
from importlib import metadata as _dist
from pathlib import Path
from typing import Any

from core.errors import AudioFileError, ExportError

ORIGINATOR = "SoundDesk"
_BEXT = struct.Struct("<256s32s32s10s8sIIH64s5h180s")  # 602 bytes, then CodingHistory
_NOT_SET = 0x7FFF  # BWF v2: loudness field not computed
_INFO_IDS = {"title": b"INAM", "comment": b"ICMT", "software": b"ISFT", "date": b"ICRD"}
_WAV_MAX = 0xFFFFFFFF


def software() -> str:
    try:
        return f"{ORIGINATOR} {_dist.version('sounddesk')}"
    except _dist.PackageNotFoundError:
        return ORIGINATOR


def sidecar_path(audio: Path) -> Path:
    """`dog.wav` -> `dog.wav.json` (never clashes with a take's own `dog.json`)."""
    return audio.with_name(audio.name + ".json")


def sidecar_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def tags(summary: dict[str, Any], title: str, when: datetime) -> dict[str, str]:
    """The four text fields embedded in every export: title, comment (JSON of `summary`), software, date."""
    comment = json.dumps(summary, ensure_ascii=False, separators=(", ", ": "))
    return {"title": title, "comment": comment, "software": software(), "date": when.date().isoformat()}


# --- WAV: bext + LIST/INFO ---


def _fixed(text: str, size: int) -> bytes:
    """UTF-8, cut on a character boundary to fit `size` bytes (struct pads with NULs)."""
    data = text.encode("utf-8")[:size]
    return data.decode("utf-8", errors="ignore").encode("utf-8")


def bext_chunk(
    description: str, reference: str, when: datetime, history: str, loudness_lufs: float | None = None
) -> bytes:
    """A BWF `bext` chunk body (version 2; loudness value in 0.01 LU, other loudness fields not set)."""
    loudness = _NOT_SET if loudness_lufs is None else max(-32768, min(32766, round(loudness_lufs * 100)))
    body = _BEXT.pack(
        _fixed(description, 256),
        _fixed(ORIGINATOR, 32),
        _fixed(reference, 32),
        when.strftime("%Y-%m-%d").encode("ascii"),
        when.strftime("%H:%M:%S").encode("ascii"),
        0,
        0,
        2,
        b"",
        loudness,
        _NOT_SET,
        _NOT_SET,
        _NOT_SET,
        _NOT_SET,
        b"",
    )
    return body + history.encode("ascii", errors="replace")


def coding_history(sample_rate: int, bits: int, channels: int) -> str:
    """EBU R98 coding history line, e.g. ``A=PCM,F=48000,W=24,M=stereo,T=SoundDesk 0.1.0``."""
    mode = "mono" if channels == 1 else "stereo" if channels == 2 else f"{channels}ch"
    return f"A=PCM,F={sample_rate},W={bits},M={mode},T={software()}\r\n"


def info_chunk(fields: dict[str, str]) -> bytes:
    """A RIFF `LIST` chunk body of type INFO holding the given text fields (UTF-8, NUL-terminated)."""
    body = b"INFO"
    for key, chunk_id in _INFO_IDS.items():
        if fields.get(key):
            body += _chunk(chunk_id, fields[key].encode("utf-8") + b"\0")
    return body


def _chunk(chunk_id: bytes, body: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (id, body) chunks of a RIFF/WAVE file image."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFileError("Not a RIFF/WAVE file.")
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunks.append((chunk_id, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size % 2)
    return chunks


def add_wav_chunks(wav_file: bytes, extra: list[tuple[bytes, bytes]]) -> bytes:
    """Rebuild a WAV image with `extra` chunks just before `data` (same ids replaced, sizes and pads set)."""
    replace = {chunk_id for chunk_id, _ in extra}
    out: list[bytes] = []
    for chunk_id, body in riff_chunks(wav_file):
        if chunk_id == b"data":
            out += [_chunk(i, b) for i, b in extra]
        if chunk_id not in replace:
            out.append(_chunk(chunk_id, body))
    payload = b"WAVE" + b"".join(out)
    if len(payload) > _WAV_MAX:
        raise ExportError("The sound is too long for a WAV file (4 GB); choose FLAC or a shorter range.")
    return b"RIFF" + struct.pack("<I", len(payload)) + payload

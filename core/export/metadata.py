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

import soundfile as sf

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


# --- Reading back ---


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

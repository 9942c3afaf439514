"""Loop points and tempo inside audio files: RIFF `smpl` and `acid` chunks for WAV, Vorbis comments for FLAC/OGG.

A loop take's file tells samplers and DAWs (Ableton Live, FL Studio, Reaper, Kontakt) how to play it:

- `smpl` (RIFF sampler chunk): manufacturer/product 0, sample period in nanoseconds (1e9 / rate, rounded),
  MIDI unity note 60, no SMPTE offset, one forward loop (cue id 0, type 0) from sample 0 to the last sample
  (`end` is inclusive, as the chunk defines it) repeating forever (play count 0);
- `acid` (Sony ACID loop chunk; music loops only, since an ambience has no tempo): flags "root note set" and
  "stretch" with one-shot off, root note 60, the number of quarter-note beats, the meter and the tempo (float
  BPM), which is what makes a DAW warp the file to its project's tempo;
- FLAC and OGG get the de-facto Vorbis comments `LOOPSTART` (0), `LOOPLENGTH` (samples) and, for music loops,
  `BPM`, written with mutagen into the image soundfile produced.

They are added next to the bext/INFO chunks of core.export.metadata, before the `data` chunk.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from core.export.metadata import add_wav_chunks

UNITY_NOTE = 60
_SMPL = struct.Struct("<9I")  # manufacturer, product, period, unity note, pitch fraction, smpte fmt/offset, loops, data
_SMPL_LOOP = struct.Struct("<6I")  # cue id, type, start, end (inclusive), fraction, play count
_ACID = struct.Struct("<IHHfIHHf")  # flags, root note, unknown, unknown, beats, meter denominator, numerator, tempo
ACID_ONE_SHOT = 0x01
ACID_ROOT_SET = 0x02
ACID_STRETCH = 0x04


def smpl_chunk(sample_rate: int, frames: int) -> bytes:
    """A `smpl` body with one forward loop over the whole file (samples 0 .. frames-1)."""
    period = int(round(1e9 / sample_rate))
    header = _SMPL.pack(0, 0, period, UNITY_NOTE, 0, 0, 0, 1, 0)
    return header + _SMPL_LOOP.pack(0, 0, 0, max(0, frames - 1), 0, 0)


def acid_chunk(bpm: float, beats: float, numerator: int, denominator: int) -> bytes:
    """An `acid` body for a tempo-synced loop (one-shot off) of `beats` quarter-note beats at `bpm`."""
    return _ACID.pack(
        ACID_ROOT_SET | ACID_STRETCH, UNITY_NOTE, 0x8000, 0.0, int(round(beats)), denominator, numerator, float(bpm)
    )


def _meter(record: dict[str, Any]) -> tuple[int, int]:
    numerator, _, denominator = str(record.get("meter", "4/4")).partition("/")
    return int(numerator), int(denominator or 4)


def wav_loop_chunks(record: dict[str, Any], sample_rate: int, frames: int) -> list[tuple[bytes, bytes]]:
    """The (id, body) chunks a loop's WAV carries: `smpl`, and `acid` for a music loop."""
    chunks = [(b"smpl", smpl_chunk(sample_rate, frames))]
    if record.get("kind") == "music" and record.get("bpm"):
        numerator, denominator = _meter(record)
        beats = float(record.get("beats") or record.get("bars", 1) * numerator * 4 / denominator)
        chunks.append((b"acid", acid_chunk(float(record["bpm"]), beats, numerator, denominator)))
    return chunks


def vorbis_loop_comments(record: dict[str, Any], frames: int) -> dict[str, str]:
    """LOOPSTART / LOOPLENGTH (and BPM for music loops) as Vorbis comment fields."""
    comments = {"LOOPSTART": "0", "LOOPLENGTH": str(frames)}
    if record.get("kind") == "music" and record.get("bpm"):
        comments["BPM"] = f"{float(record['bpm']):g}"
    return comments


def add_loop_metadata(data: bytes, container: str, record: dict[str, Any], sample_rate: int, frames: int) -> bytes:
    """The file image `data` (WAV, FLAC or OGG as soundfile wrote it) with the loop's points and tempo."""
    if container == "WAV":
        return add_wav_chunks(data, wav_loop_chunks(record, sample_rate, frames))
    from mutagen import File as MutagenFile  # only for FLAC / OGG loops

    buffer = io.BytesIO(data)
    audio = MutagenFile(buffer)
    if audio is None:
        return data
    if audio.tags is None:
        audio.add_tags()
    for key, value in vorbis_loop_comments(record, frames).items():
        audio.tags[key] = [value]
    buffer.seek(0)
    audio.save(buffer)
    return buffer.getvalue()

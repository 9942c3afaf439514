"""Exporting takes for a DAW: converted, levelled, tagged audio plus a JSON sidecar, written all-or-nothing.

    settings = ExportSettings(format="flac24", level="loudness", target=-16.0)
    result = export_take(load_take("takes/dog.json"), "exports", settings)
    result.path  # exports/dog-barking_musicgen-small_42.flac (+ .flac.json beside it)

Names never replace an existing file unless `settings.if_exists == "overwrite"` (see core.takes.naming).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from core.cancel import CancelToken, Progress, check_cancel, report
from core.errors import InvalidParameterError
from core.export.dsp import clipping_note, pcm_frames, prepare, quantise
from core.export.loop_chunks import add_loop_metadata
from core.export.loop_export import loop_record, prepare_loop
from core.export.loudness import GATE_SECONDS, integrated_lufs, peak_dbfs
from core.export.metadata import (
    add_wav_chunks,
    bext_chunk,
    coding_history,
    info_chunk,
    sidecar_bytes,
    sidecar_path,
    software,
    tags,
)
from core.export.settings import FORMATS, AudioFormat, ExportSettings
from core.takes.atomic import ensure_folder, write_files
from core.takes.naming import model_label, pattern_stem, ucs_stem, unique_stem
from core.takes.take import Take, load_take, take_name

__all__ = ["FORMATS", "ExportResult", "ExportSettings", "export_take", "export_takes"]
SIDECAR_VERSION = 1


@dataclass(frozen=True)
class ExportResult:
    """One written file: where it is, what it holds, and anything the user should know."""

    path: Path
    sidecar: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    gain_db: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendered:
    """An audio file image ready to be written, with the facts its sidecar reports."""

    data: bytes
    sample_rate: int
    channels: int
    frames: int
    facts: dict[str, Any]


def take_summary(take: Take) -> dict[str, Any]:
    """What identifies a take: embedded in the file's comment and copied into the sidecar."""
    return {
        "prompt": take.prompt,
        "model": take.model,
        "seed": take.seed,
        "parameters": take.recorded_params(),
    }


def _finite(value: float | None) -> float | None:
    return round(value, 3) if value is not None and math.isfinite(value) else None


def render(
    samples: np.ndarray,
    sample_rate: int,
    fmt: AudioFormat,
    summary: dict[str, Any],
    title: str,
    when: datetime,
    wav_for_facts: np.ndarray | None = None,
    loop: dict[str, Any] | None = None,
) -> Rendered:
    """Encode `samples` [C, N] (float32, or quantised int64 for PCM formats) with embedded metadata
    (and, for a loop take's `loop` record, its loop points and tempo: core.export.loop_chunks)."""
    channels, frames = samples.shape
    reference = wav_for_facts if wav_for_facts is not None else samples
    lufs = integrated_lufs(reference, sample_rate) if frames >= GATE_SECONDS * sample_rate else None
    text = tags(summary, title, when)
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", sample_rate, channels, subtype=fmt.subtype, format=fmt.container) as handle:
        if fmt.container != "WAV":
            for key, value in text.items():
                setattr(handle, key, value)
        handle.write(pcm_frames(samples, fmt.bits) if fmt.bits else np.ascontiguousarray(samples.T, np.float32))
    data = buffer.getvalue()
    if fmt.container == "WAV":
        seed = summary.get("seed")
        reference_id = f"{model_label(str(summary.get('model', '')))} {seed}" if seed is not None else "mix"
        bext = bext_chunk(
            title, reference_id, when, coding_history(sample_rate, fmt.bits or 32, channels), _finite(lufs)
        )
        data = add_wav_chunks(data, [(b"bext", bext), (b"LIST", info_chunk(text))])
    if loop is not None:
        data = add_loop_metadata(data, fmt.container, loop, sample_rate, frames)
    facts = {
        "format": fmt.key,
        "container": fmt.container,
        "subtype": fmt.subtype,
        "sample_rate": sample_rate,
        "channels": channels,
        "frames": frames,
        "duration": round(frames / sample_rate, 6),
        "peak_dbfs": _finite(peak_dbfs(reference)),
        "loudness_lufs": _finite(lufs),
    }
    return Rendered(data, sample_rate, channels, frames, facts)


def samples_for(wav: np.ndarray, fmt: AudioFormat) -> np.ndarray:
    """What `render` takes for `wav` float32 [C, N]: quantised integers for PCM formats, else the floats."""
    return quantise(wav, fmt.bits) if fmt.bits else wav


def file_stem(
    settings: ExportSettings, prompt: str, model: str, seed: int, index: int, when: datetime, name: str | None = None
) -> str:
    if settings.ucs is not None:
        return ucs_stem(settings.ucs, prompt)
    return pattern_stem(settings.naming, prompt, model, seed, index, when.date(), name)


def claim_paths(folder: Path, stems: Sequence[str], settings: ExportSettings) -> list[Path]:
    """Audio paths for `stems` in `folder`; in suffix mode unique on disk and among themselves."""
    ext = settings.audio_format.extension
    if settings.if_exists != "suffix":
        return [folder / f"{stem}{ext}" for stem in stems]
    taken: list[str] = []
    paths = []
    for stem in stems:
        unique = unique_stem(folder, stem, (ext, ext + ".json"), taken)
        taken += [unique + ext, unique + ext + ".json"]
        paths.append(folder / f"{unique}{ext}")
    return paths


def sidecar_record(
    path: Path, rendered: Rendered, settings: ExportSettings, when: datetime, **fields: Any
) -> dict[str, Any]:
    return {
        "version": SIDECAR_VERSION,
        "software": software(),
        "exported_at": when.isoformat(timespec="seconds"),
        "file": path.name,
        **fields,
        "export": settings.to_dict(),
        "audio": rendered.facts,
    }


def commit(items: Sequence[tuple[Path, Rendered, dict[str, Any]]], settings: ExportSettings) -> None:
    """Write every audio file and its sidecar, all or none."""
    files = []
    for path, rendered, record in items:
        files += [(path, rendered.data), (sidecar_path(path), sidecar_bytes(record))]
    write_files(files, overwrite=settings.if_exists == "overwrite")


def export_take(
    take: Take,
    folder: str | os.PathLike,
    settings: ExportSettings | None = None,
    *,
    index: int = 1,
    source: str | os.PathLike | None = None,
    name: str | None = None,
) -> ExportResult:
    """Write one take as `settings` say into `folder`; returns where it went (raises ExportError).

    `name` is the name the user gave the take: the naming pattern's `{name}` and the file's title."""
    settings = settings or ExportSettings()
    folder = ensure_folder(Path(folder))
    when = datetime.now().astimezone()
    require_finite(take, source)
    loop = loop_record(take.extra)
    if loop is not None:
        wav, rate, processing = prepare_loop(take.wav, take.sample_rate, settings, loop)
    else:
        wav, rate, processing = prepare(take.wav, take.sample_rate, settings)
    if wav.shape[-1] == 0:
        raise InvalidParameterError(f"The take {take.prompt!r} holds no audio to export.")
    notes = list(processing.pop("notes"))
    if note := clipping_note(wav, settings):
        notes.append(note)
    fmt = settings.audio_format
    summary = take_summary(take)
    title = name or take.prompt
    rendered = render(samples_for(wav, fmt), rate, fmt, summary, title, when, wav_for_facts=wav, loop=loop)
    stem = file_stem(settings, take.prompt, take.model, take.seed, index, when, name)
    path = claim_paths(folder, [stem], settings)[0]
    source_info = {k: v for k, v in take.metadata().items() if k not in summary and k not in ("version", "codes")}
    record = sidecar_record(
        path,
        rendered,
        settings,
        when,
        **summary,
        **({"name": name} if name else {}),
        source={"take": str(source) if source else None, **source_info},
        processing=processing,
        notes=notes,
    )
    commit([(path, rendered, record)], settings)
    return ExportResult(
        path,
        sidecar_path(path),
        rate,
        rendered.channels,
        rendered.frames,
        fmt.key,
        processing["gain_db"],
        tuple(notes),
    )


def require_finite(take: Take, source: str | os.PathLike | None = None) -> None:
    """Refuse a take whose samples hold NaN or infinity: exporting it would write silence and a null loudness."""
    bad = int(np.size(take.wav) - np.count_nonzero(np.isfinite(take.wav)))
    if bad:
        where = f" ({source})" if source else ""
        raise InvalidParameterError(
            f"The take {take.prompt!r}{where} has {bad} damaged samples (NaN or infinity), so it is not exported; "
            "generate it again from its seed."
        )


def export_takes(
    sidecars: Sequence[str | os.PathLike],
    folder: str | os.PathLike,
    settings: ExportSettings | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> list[ExportResult]:
    """Export each take (by its JSON sidecar path), numbering them {index} = 1, 2, ... in the given order.

    All or none: if one fails, those already exported are removed again (core.export.batch).
    """
    from core.export.batch import all_or_none

    def one(i: int, sidecar: str | os.PathLike) -> ExportResult:
        check_cancel(cancel)
        take = load_take(sidecar)
        result = export_take(take, folder, settings, index=i + 1, source=sidecar, name=take_name(sidecar))
        report(progress, i + 1, len(sidecars))
        return result

    overwrite = (settings or ExportSettings()).if_exists == "overwrite"
    return all_or_none(sidecars, one, keep_written=overwrite)

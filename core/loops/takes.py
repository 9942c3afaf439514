"""A loop take made from a source take: new audio and sidecar, linked to the source, which is left unchanged.

The loop's sidecar keeps the source's prompt, model, seed and parameters (so it can be found and made again)
and adds a `loop` record:

    "loop": {"kind": "music", "bpm": 120.0, "bars": 4, "meter": "4/4", "beats": 16.0, "seconds": 8.0, "length": 256000,
             "detected_bpm": 117.3, "stretch": 1.023, "start": 5120, "crossfade": 960,
             "source": "/takes/groove.json", "source_duration": 10.0}

Its tokens are not applicable (the audio was cut and stretched after decoding, so no EnCodec codes describe
it): the codes file holds an empty [0, 0] array and the sidecar says `"codes_applicable": false`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.cancel import CancelToken, Progress
from core.errors import InvalidParameterError
from core.export.loop_chunks import add_loop_metadata
from core.loops.meter import FOUR_FOUR, Meter, bars_of, bars_seconds, loop_beats
from core.loops.music import make_music_loop
from core.loops.seamless import make_seamless_loop
from core.loops.spec import DEFAULT_CROSSFADE_MS, LOOP_KINDS, MAX_CROSSFADE_MS, LoopSpec  # noqa: F401 (re-exported)
from core.takes.atomic import ensure_folder
from core.takes.library import Library, TakeRecord
from core.takes.naming import TAKE_SUFFIXES as LIBRARY_SUFFIXES
from core.takes.naming import library_stem, unique_stem
from core.takes.take import Take, TakeFiles, save_take


def default_loop_bars(take_bars: int) -> int:
    """Bars of the loop cut from a take generated `take_bars` bars long: the largest power of two below it.

    A take of exactly N bars rarely holds N whole bars after its first downbeat, and loopers work in powers of
    two (8 -> 4, 4 -> 2, 16 -> 8); a one-bar take gives one bar, if it can."""
    bars = 1
    while bars * 2 < take_bars:
        bars *= 2
    return bars


def fitting_loop_bars(seconds: float, bpm: float, meter: Meter = FOUR_FOUR) -> int:
    """Bars of a loop to propose for a take of `seconds` made without a tempo: the whole bars it lasts at `bpm`,
    less one for where its first downbeat falls, rounded down to a power of two (`default_loop_bars`); 0 when it
    is shorter than one bar. 5 s at 120 BPM in 4/4 holds 2 bars of 2 s: 1 bar is proposed."""
    whole = int(seconds / bars_seconds(bpm, 1, meter) + 1e-9)
    return default_loop_bars(whole) if whole >= 1 else 0


def is_loop(take_extra: dict[str, Any]) -> bool:
    """Whether a take's extra fields (or a library row's) describe a loop."""
    return isinstance(take_extra.get("loop"), dict)


def make_loop_take(
    source: Take,
    spec: LoopSpec,
    source_path: str | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> Take:
    """The loop of `source` that `spec` asks for, as a new Take (raises InvalidParameterError if impossible)."""
    check_loopable(source, source_path)
    try:
        return _loop_take(source, spec, source_path, progress, cancel)
    except InvalidParameterError as exc:
        if spec.kind != "music" or not is_loop(source.extra):
            raise
        record = source.extra["loop"]
        what = f" ({loop_label(record)})" if isinstance(record.get("bpm"), int | float) else ""
        raise InvalidParameterError(
            f"{exc} This take is already a loop{what} that starts on its downbeat, so it holds no more bars than "
            "that: ask for fewer bars, or loop its source take."
        ) from exc


def check_loopable(source: Take, source_path: str | None = None) -> None:
    """Refuse a take whose audio holds NaN or infinite samples (damaged: no tempo can be measured in it)."""
    bad = int(np.size(source.wav) - np.count_nonzero(np.isfinite(source.wav)))
    if bad:
        name = source_path or repr(source.prompt)
        raise InvalidParameterError(
            f"The take {name} has {bad} damaged samples (NaN or infinity), so it cannot be looped; generate it again."
        )


def _loop_take(
    source: Take, spec: LoopSpec, source_path: str | None, progress: Progress | None, cancel: CancelToken | None
) -> Take:
    rate = source.sample_rate
    fade = spec.crossfade_ms / 1000.0
    record: dict[str, Any] = {"kind": spec.kind}
    if spec.kind == "music":
        assert spec.bpm is not None and spec.bars is not None
        asked = source.extra.get("bpm")  # generated with --bpm: the tempo it was made at
        hint = float(asked) if isinstance(asked, int | float) and asked > 0 else None
        music = make_music_loop(
            source.wav, rate, spec.bpm, spec.bars, spec.meter, fade, None, progress, cancel, hint_bpm=hint
        )
        wav = music.wav
        record.update(
            bpm=music.bpm,
            bars=music.bars,
            meter=str(music.meter),
            beats=loop_beats(music.bars, music.meter),
            seconds=bars_seconds(music.bpm, music.bars, music.meter),
            detected_bpm=round(music.detected_bpm, 3),
            stretch=round(music.stretch, 6),
            start=music.start,
            crossfade=music.crossfade,
        )
        if hint is not None:
            record["asked_bpm"] = hint
    else:
        seamless = make_seamless_loop(source.wav, rate, fade, None, progress, cancel)
        wav = seamless.wav
        record.update(start=seamless.start, end=seamless.end, crossfade=seamless.crossfade)
        record["match"] = round(seamless.match, 4)
    record.update(length=int(wav.shape[-1]), source=source_path, source_duration=round(source.duration, 6))
    # the loop's own tempo replaces the one its source was asked for (a seamless loop has none)
    extra = {k: v for k, v in source.extra.items() if k not in ("loop", "codes_applicable", "bpm", "bars", "meter")}
    if spec.kind == "music":
        extra.update(bpm=record["bpm"], bars=record["bars"], meter=record["meter"])
    extra.update(loop=record, codes_applicable=False)
    return dataclasses.replace(
        source, wav=np.ascontiguousarray(wav, dtype=np.float32), codes=np.zeros((0, 0), np.int64), extra=extra
    )


def loop_label(record: dict[str, Any]) -> str:
    """A short description: "4 bars of 4/4 at 120 BPM" or "seamless loop"."""
    if record.get("kind") == "music":
        bars = record.get("bars")
        return f"{bars} bar{'s' if bars != 1 else ''} of {record.get('meter', '4/4')} at {record.get('bpm'):g} BPM"
    return "seamless loop"


def loop_wav_filter(take: Take) -> Callable[[bytes], bytes]:
    """What save_take applies to a loop take's WAV image: adds its `smpl` (and `acid`) chunks."""
    record = take.extra["loop"]
    return lambda data: add_loop_metadata(data, "WAV", record, take.sample_rate, int(take.wav.shape[-1]))


def save_loop_take(take: Take, folder: str | os.PathLike, name: str, overwrite: bool = False) -> TakeFiles:
    """save_take for a loop take: its WAV carries the loop points and tempo, so dragging it works in a DAW."""
    return save_take(take, folder, name, overwrite, wav_filter=loop_wav_filter(take))


def write_loop_take_files(folder: str | os.PathLike, take: Take, created: float) -> TakeFiles:
    """Write a loop take into a library folder under a fresh name (`<date>-<prompt>-s<seed>-loop`).

    A plain function, as core.takes.library.write_take_files: a worker thread may call it before the
    owner's thread adds the row (`record_loop`)."""
    folder = ensure_folder(Path(folder))
    stem = unique_stem(folder, library_stem(take.prompt, take.seed, created) + "-loop", LIBRARY_SUFFIXES)
    return save_loop_take(take, folder, stem)


def record_loop(library: Library, take: Take, files: TakeFiles, created: float) -> TakeRecord:
    """Give a written loop take its own library row, named after its source and the loop."""
    record = library.add(take, files, created)
    return library.rename(record.id, f"{record.name} · {loop_label(take.extra['loop'])}")


def add_loop_to_library(library: Library, take: Take) -> TakeRecord:
    """Write a loop take into the library folder and give it its own row."""
    created = time.time()
    return record_loop(library, take, write_loop_take_files(library.folder, take, created), created)


def loop_summary(extra: dict[str, Any], sample_rate: int) -> str | None:
    """What a take's details say about its loop or tempo, or None: "4.00 bars of 4/4 at 120 BPM (256000
    samples, 8.000 s), stretched from 117.3 BPM" / "seamless loop, 8.15 s, 30 ms crossfade"."""
    record = extra.get("loop")
    if isinstance(record, dict):
        length = int(record.get("length", 0))
        seconds = length / sample_rate if sample_rate else 0.0
        fade = f"{1000 * int(record.get('crossfade', 0)) / sample_rate:.0f} ms crossfade" if sample_rate else ""
        if record.get("kind") != "music":
            return f"seamless loop, {seconds:.2f} s, {fade}"
        meter = Meter.parse(str(record.get("meter", "4/4")))
        bars = bars_of(length, sample_rate, float(record["bpm"]), meter)
        how = (
            f"stretched from {record['detected_bpm']:g} BPM"
            if record.get("stretch", 1.0) != 1.0
            else f"cut at its own {record.get('detected_bpm', record['bpm']):g} BPM"
        )
        return f"{bars:.2f} bars of {meter} at {record['bpm']:g} BPM ({length} samples, {seconds:.3f} s), {how}"
    if isinstance(extra.get("bpm"), int | float) and isinstance(extra.get("bars"), int) and extra["bars"] > 0:
        bars = f"{extra['bars']} bar{'s' if extra['bars'] != 1 else ''}"
        return f"asked for {bars} of {extra.get('meter', '4/4')} at {extra['bpm']:g} BPM"
    return None

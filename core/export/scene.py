"""A scene: takes on one timeline (offset, gain, mute, solo), exported as equal-length stems plus a mix.

Scene file (JSON; take paths relative to the scene file's folder)::

    {"version": 1, "name": "alley", "layers": [
        {"take": "takes/rain.json", "offset": 0.0, "gain_db": -6.0},
        {"take": "takes/dog.json", "offset": 1.5, "mute": false, "solo": false, "name": "dog"}]}

Every stem has the mix's length, rate, channels and bit depth, and the stems sum to the mix: the mix is
computed from the very same float layers, and for PCM formats it *is* the sum of the quantised layers (round,
no dither), so the sum holds to the last bit. Level, fades and trimming use one gain curve for all layers; if
the mix (or a layer) would clip, all layers are lowered by the same factor and the result says so.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.cancel import CancelToken, Progress, check_cancel, report
from core.errors import InvalidParameterError
from core.export.dsp import fade_curve, linear_level_gain, resample, silence_bounds
from core.export.metadata import sidecar_path
from core.export.settings import ExportSettings
from core.export.writer import (
    ExportResult,
    claim_paths,
    commit,
    render,
    require_finite,
    samples_for,
    sidecar_record,
    take_summary,
)
from core.takes import schemas
from core.takes.atomic import ensure_folder, write_files
from core.takes.audio_io import convert_channels
from core.takes.naming import prompt_slug, sanitize
from core.takes.take import Take, load_take

SCENE_VERSION = 1
MAX_GAIN_DB = 24.0


@dataclass(frozen=True)
class Layer:
    """One take on the timeline."""

    take: Path  # the take's JSON sidecar
    offset: float = 0.0  # seconds from the start of the scene
    gain_db: float = 0.0
    mute: bool = False
    solo: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "take", Path(self.take))
        if not (math.isfinite(self.offset) and self.offset >= 0.0):
            raise InvalidParameterError(f"A layer offset is seconds of 0 or more, got {self.offset}.")
        if not (math.isfinite(self.gain_db) and self.gain_db <= MAX_GAIN_DB):
            raise InvalidParameterError(f"A layer gain must be at most +{MAX_GAIN_DB:g} dB, got {self.gain_db}.")


@dataclass(frozen=True)
class Scene:
    name: str
    layers: tuple[Layer, ...] = field(default_factory=tuple)

    def audible(self) -> list[int]:
        """Indices of the layers heard: the soloed ones if any layer is soloed, else the unmuted ones."""
        soloed = [i for i, layer in enumerate(self.layers) if layer.solo]
        return soloed or [i for i, layer in enumerate(self.layers) if not layer.mute]


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path.resolve())


def scene_to_dict(scene: Scene, base: Path | None = None) -> dict[str, Any]:
    layers = []
    for layer in scene.layers:
        take = _relative(layer.take, base) if base else str(layer.take)
        layers.append(
            {
                "take": take,
                "offset": layer.offset,
                "gain_db": layer.gain_db,
                "mute": layer.mute,
                "solo": layer.solo,
                "name": layer.name,
            }
        )
    return {"version": SCENE_VERSION, "name": scene.name, "layers": layers}


def load_scene(path: str | os.PathLike) -> Scene:
    """Read a scene file (checked against the scene schema); take paths are resolved against its folder."""
    path = Path(path)
    data = schemas.check(schemas.read_json(path, "scene"), schemas.SCENE, path, "scene")
    layers = []
    for i, item in enumerate(schemas.check_layer_list(data, path)):
        try:
            layer = Layer(
                path.parent / item["take"],
                float(item.get("offset", 0.0)),
                float(item.get("gain_db", 0.0)),
                bool(item.get("mute", False)),
                bool(item.get("solo", False)),
                str(item.get("name", "")),
            )
        except InvalidParameterError as exc:
            raise schemas.FileFormatError(f"Cannot read the scene {path}: layer {i}: {exc}") from exc
        layers.append(layer)
    return Scene(str(data.get("name") or path.stem), tuple(layers))


def save_scene(scene: Scene, path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Write `scene` as JSON with take paths relative to the file's folder."""
    path = Path(path)
    ensure_folder(path.parent)
    text = json.dumps(scene_to_dict(scene, path.parent), indent=2, ensure_ascii=False) + "\n"
    write_files([(path, text.encode("utf-8"))], overwrite=overwrite)
    return path


@dataclass
class LayerStack:
    """A scene rendered to float layers [L, C, N]: gains, offsets, trim, fades, level, anti-clip applied."""

    sample_rate: int
    indices: list[int]  # scene layer index of each row
    takes: list[Take]
    layers: np.ndarray  # [L, C, N] float32
    scale_db: float = 0.0
    gain_db: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def mix(self) -> np.ndarray:
        return np.sum(self.layers, axis=0, dtype=np.float64).astype(np.float32)  # [C, N]


def _place(takes: Sequence[Take], layers: Sequence[Layer], rate: int, channels: int) -> np.ndarray:
    placed = [convert_channels(resample(t.wav, t.sample_rate, rate), channels) for t in takes]
    starts = [round(layer.offset * rate) for layer in layers]
    length = max(s + w.shape[-1] for s, w in zip(starts, placed, strict=True))
    out = np.zeros((len(placed), channels, length), dtype=np.float64)  # [L, C, N]
    for row, (start, wav, layer) in enumerate(zip(starts, placed, layers, strict=True)):
        out[row, :, start : start + wav.shape[-1]] = wav * 10.0 ** (layer.gain_db / 20.0)
    return out


def _headroom(settings: ExportSettings, count: int) -> float:
    """Largest float peak each layer and the mix may have so that nothing clips after quantisation."""
    bits = settings.audio_format.bits
    if bits is None:
        return 1.0
    full = float(1 << (bits - 1))
    return (full - 1.0 - count / 2.0) / full


def build_layers(scene: Scene, settings: ExportSettings | None = None) -> LayerStack:
    """Render the audible layers of `scene` at one rate and channel count, ready to encode."""
    settings = settings or ExportSettings()
    if settings.level == "audiocraft":
        raise InvalidParameterError("Stems cannot use audiocraft loudness: its tanh would break mix = sum of stems.")
    indices = scene.audible()
    if not indices:
        raise InvalidParameterError(f"Every layer of the scene {scene.name!r} is muted; nothing to export.")
    takes = [load_take(scene.layers[i].take) for i in indices]
    for i, take in zip(indices, takes, strict=True):
        require_finite(take, scene.layers[i].take)
    rates = {t.sample_rate for t in takes}
    rate = settings.sample_rate or max(rates)
    notes = [] if settings.sample_rate or len(rates) == 1 else [f"Takes have different rates; all at {rate} Hz."]
    channels = settings.channels or max(t.channels for t in takes)
    stack = _place(takes, [scene.layers[i] for i in indices], rate, channels)  # [L, C, N]
    if settings.trim_silence is not None:
        bounds = silence_bounds(stack.sum(axis=0), settings.trim_silence)
        if bounds is None:
            notes.append(f"Everything is below {settings.trim_silence:g} dBFS; nothing was trimmed.")
        else:
            stack = stack[..., bounds[0] : bounds[1]]
    curve = fade_curve(stack.shape[-1], rate, settings.fade_in, settings.fade_out)
    if curve is not None:
        stack = stack * curve
    gain = linear_level_gain(stack.sum(axis=0).astype(np.float32), rate, settings)
    stack = stack * gain
    peak = max(float(np.max(np.abs(stack.sum(axis=0)))), float(np.max(np.abs(stack))))
    limit = _headroom(settings, len(takes))
    scale = min(1.0, limit / peak) if peak > 0 else 1.0
    if scale < 1.0:
        notes.append(f"The mix would clip; all layers were lowered by {-20 * math.log10(scale):.2f} dB.")
    layers = (stack * scale).astype(np.float32)
    return LayerStack(rate, indices, takes, layers, 20 * math.log10(scale), 20 * math.log10(gain), notes)


@dataclass(frozen=True)
class StemsResult:
    stems: tuple[ExportResult, ...]
    mix: ExportResult
    scale_db: float  # < 0 when the layers were lowered to keep the mix from clipping
    notes: tuple[str, ...] = ()


def _stem_name(scene: Scene, index: int, take: Take) -> str:
    label = scene.layers[index].name or prompt_slug(take.prompt, 40, "-")
    return sanitize(f"{scene.name}_{index + 1:02d}_{label}")


def export_stems(
    scene: Scene,
    folder: str | os.PathLike,
    settings: ExportSettings | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> StemsResult:
    """Write one file per audible layer plus `<scene>_mix`, all or none; stems sum to the mix."""
    settings = settings or ExportSettings()
    folder = ensure_folder(Path(folder))
    stack = build_layers(scene, settings)
    fmt, when = settings.audio_format, datetime.now().astimezone()
    names = [_stem_name(scene, i, t) for i, t in zip(stack.indices, stack.takes, strict=True)]
    paths = claim_paths(folder, [*names, sanitize(f"{scene.name}_mix")], settings)
    common = {"processing": {"gain_db": stack.gain_db, "scale_db": stack.scale_db}, "notes": stack.notes}
    layer_dicts = scene_to_dict(scene)["layers"]
    items, mix_samples = [], None
    for row, (index, take) in enumerate(zip(stack.indices, stack.takes, strict=True)):
        check_cancel(cancel)
        wav = stack.layers[row]  # [C, N]
        samples = samples_for(wav, fmt)
        mix_samples = samples if mix_samples is None else mix_samples + samples
        summary = {**take_summary(take), "scene": scene.name, "layer": index + 1}
        rendered = render(samples, stack.sample_rate, fmt, summary, f"{scene.name} - {take.prompt}", when, wav)
        record = sidecar_record(paths[row], rendered, settings, when, **summary, placement=layer_dicts[index], **common)
        items.append((paths[row], rendered, record))
        report(progress, row + 1, len(paths))
    mix = stack.mix  # [C, N] float32 = sum of the float layers
    summary = {"scene": scene.name, "layers": [take_summary(t) for t in stack.takes]}
    rendered = render(
        mix if fmt.bits is None else mix_samples,
        stack.sample_rate,
        fmt,
        summary,
        f"{scene.name} (mix)",
        when,
        mix,
    )
    items.append(
        (
            paths[-1],
            rendered,
            sidecar_record(paths[-1], rendered, settings, when, **summary, scene_layers=layer_dicts, **common),
        )
    )
    commit(items, settings)
    report(progress, len(paths), len(paths))
    results = tuple(
        ExportResult(
            path,
            sidecar_path(path),
            r.sample_rate,
            r.channels,
            r.frames,
            fmt.key,
            stack.gain_db,
            tuple(stack.notes),
        )
        for path, r, _ in items
    )
    return StemsResult(results[:-1], results[-1], stack.scale_db, tuple(stack.notes))

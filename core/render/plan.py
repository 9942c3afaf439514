"""From valid rows to the takes still to render: take identity keys, file names, and what a folder already holds.

A take's identity is a key over its model, prompt, the parameters its row sets, its seed and the contents of
its audio inputs; the key is written into the take's sidecar (`render_key`). A take whose sidecar with that
key exists is complete (the sidecar is committed last, core.takes.atomic), so it is skipped. A take whose
group commit was cut short (a temporary sidecar is left, the sidecar itself is missing) is ours and unfinished:
its leftovers are removed and it is rendered again under the same name, so a rerun after a kill ends with the
files an uninterrupted render writes. Names are decided in manifest order and skip names other files hold.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.render.manifest import RowSpec
from core.takes.atomic import temp_target
from core.takes.audio_io import AudioClip, load_audio
from core.takes.naming import TAKE_SUFFIXES, TakeFiles, generated_stem

KEY_FIELD = "render_key"


@dataclass(frozen=True, eq=False)
class TakeJob:
    """One take to render: everything a worker needs, with its audio inputs already read."""

    id: int
    line: int
    key: str
    stem: str
    model: str
    prompt: str
    seed: int
    changes: dict[str, Any]
    melody: AudioClip | None = None
    continuation: AudioClip | None = None
    separate_melody: bool = True
    given: frozenset[str] = frozenset()
    precision: str = "auto"


@dataclass(frozen=True)
class Entry:
    """A take of the plan that is not rendered now: already on disk (skipped) or impossible (failed)."""

    line: int
    seed: int
    key: str
    stem: str
    reason: str


@dataclass
class Plan:
    jobs: list[TakeJob] = field(default_factory=list)
    skipped: list[Entry] = field(default_factory=list)
    failed: list[Entry] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.jobs) + len(self.skipped) + len(self.failed)


def take_key(row: RowSpec, seed: int) -> str:
    identity = {**row.identity(), "seed": seed}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


@dataclass
class FolderState:
    """What an output folder holds, by take stem."""

    complete: dict[str, str] = field(default_factory=dict)  # render key -> stem
    occupied: set[str] = field(default_factory=set)  # stems with a final file that is not ours-unfinished
    interrupted: set[str] = field(default_factory=set)  # stems whose group commit was cut short
    temps: dict[str, list[Path]] = field(default_factory=dict)  # stem -> leftover temporary files


def scan_folder(folder: Path) -> FolderState:
    state = FolderState()
    finals: dict[str, set[str]] = {}
    sidecar_temps: set[str] = set()
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return state
    for name in names:
        target = temp_target(name)
        stem, suffix = _split(target if target is not None else name)
        if stem is None:
            continue
        if target is not None:
            state.temps.setdefault(stem, []).append(folder / name)
            if suffix == ".json":
                sidecar_temps.add(stem)
        else:
            finals.setdefault(stem, set()).add(suffix)
    state.interrupted = {stem for stem in sidecar_temps if ".json" not in finals.get(stem, ())}
    state.occupied = set(finals) - state.interrupted
    for stem, suffixes in finals.items():
        key = _complete_key(folder, stem) if ".json" in suffixes else None
        if key is not None:
            state.complete.setdefault(key, stem)
    return state


def _split(name: str) -> tuple[str | None, str]:
    for suffix in TAKE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return None, ""


def _complete_key(folder: Path, stem: str) -> str | None:
    """The render key of a whole take (sidecar with a key, WAV and codes present), else None."""
    sidecar = TakeFiles.named(folder, stem).sidecar
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get(KEY_FIELD), str):
        return None
    files = TakeFiles.of_sidecar(sidecar, str(data.get("codes", "")) or None)
    return data[KEY_FIELD] if files.wav.is_file() and files.codes.is_file() else None


def make_plan(rows: list[RowSpec], folder: Path) -> Plan:
    """Every take of `rows` in manifest order: skipped if complete in `folder`, failed if its audio is bad."""
    state = scan_folder(folder)
    plan, seen, claimed = Plan(), {}, set(state.occupied)
    clips: dict[str, AudioClip | Exception] = {}
    for row in rows:
        melody, continuation = inputs = [_clip(path, clips) for path in (row.melody, row.continuation)]
        problem = next((str(c) for c in inputs if isinstance(c, Exception)), None)
        for seed in range(row.seed, row.seed + row.variations):
            key = take_key(row, seed)
            if key in seen:
                line, stem = seen[key]
                plan.skipped.append(Entry(row.line, seed, key, stem, f"the same take as line {line}"))
                continue
            if key in state.complete:
                seen[key] = (row.line, state.complete[key])
                plan.skipped.append(Entry(row.line, seed, key, state.complete[key], "already rendered"))
                continue
            stem = _free_stem(generated_stem(row.prompt, row.model, seed, row.name), claimed)
            claimed.add(stem)
            seen[key] = (row.line, stem)
            if problem is not None:
                plan.failed.append(Entry(row.line, seed, key, stem, problem))
                continue
            job = TakeJob(len(plan.jobs), row.line, key, stem, row.model, row.prompt, seed, row.changes)
            extra = {"melody": melody, "continuation": continuation, "separate_melody": row.separate_melody}
            extra["given"], extra["precision"] = row.given, row.precision
            plan.jobs.append(replace(job, **extra))
    _clean_leftovers(folder, state, {job.stem for job in plan.jobs}, {e.stem for e in plan.skipped})
    return plan


def _clip(path: str | None, cache: dict) -> AudioClip | Exception | None:
    if path is None:
        return None
    if path not in cache:
        try:
            cache[path] = load_audio(path)
        except Exception as exc:  # noqa: BLE001 - a bad file fails its row, with its sentence
            cache[path] = exc
    return cache[path]


def _free_stem(base: str, claimed: set[str]) -> str:
    stem, n = base, 1
    while stem in claimed:
        n += 1
        stem = f"{base}-{n}"
    return stem


def _clean_leftovers(folder: Path, state: FolderState, rendering: set[str], done: set[str]) -> None:
    """Remove what a killed render left for the takes this render owns: temporary files, half-committed groups."""
    for stem in rendering | done:
        for path in state.temps.get(stem, []):
            path.unlink(missing_ok=True)
    for stem in rendering & state.interrupted:
        for suffix in TAKE_SUFFIXES:
            (folder / f"{stem}{suffix}").unlink(missing_ok=True)

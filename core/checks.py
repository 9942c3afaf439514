"""Checks a generation must pass before any work starts: device, seeds, duration limits, options that apply,
the output folder; and an estimate of the steps, time and memory a long request will take.

Each failure is a SoundDeskError sentence, raised before a model is loaded or a step is decoded, so minutes of
compute are never thrown away on something knowable at the start.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ExportError, InvalidParameterError
from core.options import flag_of, unused
from core.params import GenerationParams
from core.takes.atomic import describe
from core.takes.schemas import MAX_SEED

ASSUMED_BANDWIDTH = 10e9  # bytes/s a typical CPU reads weights at; each decoding step reads all weights once
MIN_STEP_S = 0.002  # per-step overhead of a tiny model
LONG_WORK_S = 60.0  # estimates above this are shown before starting
_DEVICE = re.compile(r"^(cpu|cuda|mps)(:(\d+))?$")


def parse_device(name: Any) -> Any:
    """A usable torch.device for `name` (cpu, cuda, cuda:N, mps), or a sentence saying why not."""
    import torch

    if isinstance(name, torch.device):
        name = str(name)
    match = _DEVICE.match(str(name).strip().lower())
    if match is None:
        raise InvalidParameterError(f"Unknown device {name!r}: use cpu, cuda, cuda:N (an NVIDIA GPU) or mps (Apple).")
    kind, index = match.group(1), match.group(3)
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise InvalidParameterError(
                f"The device {name!r} needs an NVIDIA GPU and a CUDA build of torch; none is available here "
                "(use --device cpu)."
            )
        if index is not None and int(index) >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise InvalidParameterError(f"The device {name!r} does not exist: this machine has {count} CUDA GPU(s).")
    if kind == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise InvalidParameterError(f"The device {name!r} needs Apple silicon with Metal; use --device cpu.")
    return torch.device(match.group(0))


def check_seed(seed: int, count: int = 1) -> None:
    """Seeds S .. S+count-1 must all lie in 0 .. 2^63-1 (torch's generator and the history store 64 bits)."""
    if seed < 0 or seed > MAX_SEED:
        raise InvalidParameterError(f"The seed must be a whole number from 0 to {MAX_SEED} (2^63-1), got {seed}.")
    if seed + count - 1 > MAX_SEED:
        raise InvalidParameterError(
            f"Seeds {seed} to {seed + count - 1} for {count} variations go beyond {MAX_SEED} (2^63-1); "
            f"use a seed of at most {MAX_SEED - count + 1}."
        )


def check_duration(model: Any, params: GenerationParams) -> None:
    """At least one frame, and no more than the family's stated maximum."""
    frame = 1.0 / model.frame_rate
    if int(params.duration * model.frame_rate) < 1:
        raise InvalidParameterError(
            f"A duration of {params.duration:g} s is shorter than one frame ({frame:.2f} s) of {model.ref}."
        )
    limit = model.capabilities.longest_take
    if params.duration > limit + 1e-6:
        how = "one window" if not model.autoregressive else "the longest take SoundDesk makes"
        raise InvalidParameterError(
            f"A duration of {params.duration:g} s is too long for {model.ref} ({model.family}): {how} is {limit:g} s."
        )


def check_options_apply(model: Any, given: set[str]) -> None:
    """Refuse parameters the user set that the chosen model does not use (so a take never records them)."""
    named = sorted(flag_of(field) for field in unused(model.family, given))
    if named:
        kind = "an autoregressive (MusicGen / AudioGen)" if model.autoregressive else "a MAGNeT"
        raise InvalidParameterError(
            f"{', '.join(named)} {'does' if len(named) == 1 else 'do'} not apply to {model.ref}, {kind} model; "
            "leave it out."
        )


@dataclass(frozen=True)
class Estimate:
    """What a request will cost before it starts."""

    steps: int
    seconds: float
    memory_bytes: int
    output_bytes: int

    def sentence(self, count: int = 1) -> str:
        each = " each" if count > 1 else ""
        memory, disk = self.memory_bytes / 2**20, self.output_bytes * count / 2**20
        return (
            f"about {self.steps} decoding steps{each}, roughly {_duration(self.seconds * count)} in all on a typical "
            f"CPU, about {memory:.0f} MB of working memory and {disk:.1f} MB on disk"
        )


def estimate(model: Any, params: GenerationParams) -> Estimate:
    """Steps, time (from a bandwidth floor), memory and file size of one take."""
    lm = model.bundle.lm
    n_q, frames = lm.cfg.n_q, max(1, int(params.duration * model.frame_rate))
    window = int(min(params.duration, model.max_duration) * model.frame_rate)
    if model.autoregressive:
        stride = max(1.0, min(params.extend_stride, model.max_duration))
        extra = max(0.0, params.duration - model.max_duration)
        windows = 1 + math.ceil(extra / stride)
        steps = frames + n_q * windows
    else:
        steps = sum(params.decoding_steps)
    weights = sum(p.numel() * p.element_size() for p in lm.parameters())
    layers, dim = lm.cfg.transformer.num_layers, lm.cfg.transformer.dim
    kv_cache = layers * 2 * 2 * (window + n_q) * dim * 4  # [k, v] x CFG batch 2 x positions x dim, float32
    audio = int(params.duration * model.sample_rate) * model.channels * 4
    output = audio + frames * n_q * 8 + 4096
    seconds = steps * max(weights / ASSUMED_BANDWIDTH, MIN_STEP_S)
    return Estimate(steps, seconds, kv_cache + 3 * audio, output)


def check_output(folder: Path, needed_bytes: int) -> Path:
    """The output folder accepts new files and has room for `needed_bytes` plus margin (ExportError if not).

    A folder that does not exist yet is not created here (a later failure must not leave an empty folder);
    the nearest existing folder above it is checked instead.
    """
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise ExportError(f"Cannot create the output folder {folder}: {existing} is a file, not a folder.")
    if existing == folder:
        _probe(folder)
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise ExportError(f"Cannot create the output folder {folder}: permission denied in {existing}.")
    try:
        free = shutil.disk_usage(existing).free
    except OSError:
        return folder
    if free < needed_bytes + 2**20:
        raise ExportError(
            f"The disk holding {folder} has {free / 2**20:.1f} MB free; these takes need about "
            f"{needed_bytes / 2**20:.1f} MB. Free some space or choose another output folder."
        )
    return folder


def _probe(folder: Path) -> None:
    """Create and remove a hidden file: the only sure test that this folder takes new files."""
    probe = folder / f".sounddesk-write-test.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise ExportError(describe(exc, probe).replace(probe.name, "new files")) from exc
    finally:
        probe.unlink(missing_ok=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"

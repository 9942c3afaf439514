"""A take (one generated sound) and its files on disk: NAME.wav, NAME.codes.npy and the NAME.json sidecar."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from core.errors import ExportError
from core.options import UNUSED_BY
from core.params import GenerationParams
from core.takes import schemas
from core.takes.atomic import ensure_folder, write_files
from core.takes.naming import TakeFiles

SIDECAR_VERSION = 1
COMMIT_ORDER = (".wav", ".codes.npy", ".json")
"""The order `save_take` commits a take's files in: the sidecar last, so a sidecar marks a whole take."""


@dataclass
class Take:
    """One generated result: the audio, the tokens that made it, and everything needed to make it again."""

    prompt: str
    model: str
    seed: int
    params: GenerationParams
    sample_rate: int
    wav: np.ndarray  # [C, N] float32
    codes: np.ndarray  # [K, T] int64, without the delay pattern
    extra: dict[str, Any] = field(default_factory=dict)  # melody / continuation sources, timings, ...

    @property
    def duration(self) -> float:
        return self.wav.shape[-1] / self.sample_rate

    @property
    def channels(self) -> int:
        return int(self.wav.shape[0])

    def recorded_params(self) -> dict[str, Any]:
        """The parameters as recorded with the take: those its model's family does not use are left out
        (cfg and extend stride for MAGNeT, the masked-decoding fields for MusicGen and AudioGen)."""
        data = self.params.to_dict()
        for name in UNUSED_BY.get(str(self.extra.get("family", "")), ()):
            data.pop(name, None)
        return data

    def metadata(self, codes_name: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": SIDECAR_VERSION,
            "prompt": self.prompt,
            "model": self.model,
            "seed": self.seed,
            "parameters": self.recorded_params(),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "duration": round(self.duration, 6),
        }
        if codes_name is not None:
            data["codes"] = codes_name
        data.update(self.extra)
        return data


def save_take(
    take: Take,
    folder: str | os.PathLike,
    name: str,
    overwrite: bool = True,
    wav_filter: Callable[[bytes], bytes] | None = None,
) -> TakeFiles:
    """Write the take's WAV (32-bit float), codes and JSON sidecar: all three, or none (ExportError).

    `wav_filter` may rewrite the WAV file image first (a loop take adds its loop chunks: core.loops.takes)."""
    folder = ensure_folder(Path(folder))
    files = TakeFiles.named(folder, name)
    data = take_file_bytes(take, name)
    if wav_filter is not None:
        data[".wav"] = wav_filter(data[".wav"])
    paths = files.by_suffix()
    write_files([(paths[suffix], data[suffix]) for suffix in COMMIT_ORDER], overwrite=overwrite)
    return files


def take_file_bytes(take: Take, name: str) -> dict[str, bytes]:
    """The contents of the take's three files named `name` ({suffix: bytes}), exactly as `save_take` writes them."""
    codes_name = TakeFiles.named(Path(), name).codes.name
    sidecar = json.dumps(take.metadata(codes_name=codes_name), indent=2, ensure_ascii=False)
    wav, codes = io.BytesIO(), io.BytesIO()
    sf.write(wav, take.wav.T, take.sample_rate, subtype="FLOAT", format="WAV")
    np.save(codes, np.asarray(take.codes, dtype=np.int64))
    return {".wav": wav.getvalue(), ".codes.npy": codes.getvalue(), ".json": sidecar.encode("utf-8")}


def take_name(sidecar: str | os.PathLike) -> str | None:
    """The name the take was given (`"name"` in its sidecar, written by Library.rename), or None."""
    try:
        name = schemas.read_json(Path(sidecar), "take").get("name")
    except (schemas.FileFormatError, AttributeError):
        return None
    return name if isinstance(name, str) and name.strip() else None


def set_take_name(sidecar: Path, name: str) -> None:
    """Write `"name"` into the take's sidecar (replaced atomically), so the name travels with its files."""
    data = schemas.read_json(sidecar, "take")
    data["name"] = name
    write_files([(sidecar, json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))], overwrite=True)


def load_take(sidecar: str | os.PathLike) -> Take:
    """Read a take back from its JSON sidecar (the WAV and codes next to it), checked against the take schema."""
    sidecar = Path(sidecar)
    data = schemas.check(schemas.read_json(sidecar, "take"), schemas.TAKE, sidecar, "take")
    params = schemas.params_field(data, sidecar, "take")
    files = TakeFiles.of_sidecar(sidecar, data.get("codes"))
    wav_path, codes_path = files.wav, files.codes
    for path, role in ((wav_path, "audio"), (codes_path, "codes")):
        if not path.is_file():
            raise schemas.FileFormatError(f"Cannot read the take {sidecar}: its {role} file {path.name} is missing.")
    try:
        wav, rate = sf.read(wav_path, dtype="float32", always_2d=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ExportError(
            f"Cannot read the take {sidecar}: its audio file {wav_path.name} is damaged ({exc})."
        ) from exc
    try:
        codes = np.load(codes_path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ExportError(
            f"Cannot read the take {sidecar}: its codes file {codes_path.name} is damaged ({exc})."
        ) from exc
    # "name" (given in the window) names this take only: a loop or stem made from it must not inherit it
    known = {"version", "prompt", "model", "seed", "parameters", "sample_rate", "channels", "duration", "codes", "name"}
    return Take(
        prompt=data["prompt"],
        model=data["model"],
        seed=int(data["seed"]),
        params=params,
        sample_rate=int(rate),
        wav=np.ascontiguousarray(wav.T),
        codes=codes.astype(np.int64),
        extra={k: v for k, v in data.items() if k not in known},
    )

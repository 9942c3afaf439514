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
from core.params import GenerationParams
from core.takes.atomic import ensure_folder, write_files

SIDECAR_VERSION = 1


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

    def metadata(self, codes_name: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": SIDECAR_VERSION,
            "prompt": self.prompt,
            "model": self.model,
            "seed": self.seed,
            "parameters": self.params.to_dict(),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "duration": round(self.duration, 6),
        }
        if codes_name is not None:
            data["codes"] = codes_name
        data.update(self.extra)
        return data


@dataclass(frozen=True)
class TakeFiles:
    wav: Path
    codes: Path
    sidecar: Path


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
    files = TakeFiles(folder / f"{name}.wav", folder / f"{name}.codes.npy", folder / f"{name}.json")
    sidecar = json.dumps(take.metadata(codes_name=files.codes.name), indent=2, ensure_ascii=False)
    wav, codes = io.BytesIO(), io.BytesIO()
    sf.write(wav, take.wav.T, take.sample_rate, subtype="FLOAT", format="WAV")
    np.save(codes, np.asarray(take.codes, dtype=np.int64))
    wav_bytes = wav.getvalue() if wav_filter is None else wav_filter(wav.getvalue())
    write_files(
        [(files.wav, wav_bytes), (files.codes, codes.getvalue()), (files.sidecar, sidecar.encode("utf-8"))],
        overwrite=overwrite,
    )
    return files


def load_take(sidecar: str | os.PathLike) -> Take:
    """Read a take back from its JSON sidecar (the WAV and codes next to it)."""
    sidecar = Path(sidecar)
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        wav, rate = sf.read(sidecar.with_suffix(".wav"), dtype="float32", always_2d=True)
        codes = np.load(sidecar.parent / data.get("codes", sidecar.stem + ".codes.npy"), allow_pickle=False)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ExportError(f"Cannot read the take {sidecar}: {exc}.") from exc
    known = {"version", "prompt", "model", "seed", "parameters", "sample_rate", "channels", "duration", "codes"}
    return Take(
        prompt=data["prompt"],
        model=data["model"],
        seed=int(data["seed"]),
        params=GenerationParams.from_dict(data.get("parameters", {})),
        sample_rate=int(rate),
        wav=np.ascontiguousarray(wav.T),
        codes=codes.astype(np.int64),
        extra={k: v for k, v in data.items() if k not in known},
    )

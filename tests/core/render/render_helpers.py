"""Helpers shared by the render tests: the small manifest and comparisons of output folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

ROWS = [  # 4 takes of 1 s: a handful, so a kill lands mid-way and the tests stay fast
    {"prompt": "dog barking", "duration": 1, "seed": 5, "top_k": 10, "variations": 2},
    {"prompt": "rain on a tin roof", "duration": 1, "seed": 7, "name": "rain"},
    {"prompt": "footsteps in a corridor", "duration": 1, "seed": 9, "greedy": True},
]


def write_manifest(path: Path, model: Path, rows: list[dict] = ROWS) -> Path:
    # precision fixed: "auto" is decided by timing the machine's kernels, which a busy test machine can swing
    lines = [json.dumps({"model": str(model), "precision": "fp32", **row}) + "\n" for row in rows]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def take_files(folder: Path) -> list[str]:
    """Every file name in `folder` (hidden temporary files included)."""
    return sorted(p.name for p in folder.iterdir())


def assert_same_takes(folder: Path, reference: Path) -> None:
    """The same files as `reference`, identical codes, the same audio, sidecars equal but for the timing."""
    assert take_files(folder) == take_files(reference)
    sidecars = sorted(reference.glob("*.json"))
    assert len(sidecars) > 1
    for sidecar in sidecars:
        if sidecar.name == "render-report.json":
            continue
        stem = sidecar.name[: -len(".json")]
        np.testing.assert_array_equal(np.load(folder / f"{stem}.codes.npy"), np.load(reference / f"{stem}.codes.npy"))
        # The codes are identical; the audio decoded from them may differ in the last float bit when the worker
        # ran torch with another thread count (the decoder's convolutions sum in another order).
        np.testing.assert_allclose(read_wav(folder / f"{stem}.wav"), read_wav(reference / f"{stem}.wav"), atol=1e-6)
        ours, theirs = (json.loads(p.read_text()) for p in (folder / sidecar.name, sidecar))
        ours.pop("elapsed_s"), theirs.pop("elapsed_s")
        assert ours == theirs


def read_wav(path: Path) -> np.ndarray:
    """The samples (the bytes differ: libsndfile stamps the time into a float WAV's PEAK chunk)."""
    audio, _ = sf.read(path, dtype="float32", always_2d=True)
    return audio


def report(folder: Path) -> dict:
    return json.loads((folder / "render-report.json").read_text())

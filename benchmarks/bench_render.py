"""Batch render throughput: 16 takes of 1 s on the fixture MusicGen, 1 worker vs 2 workers vs a local Ray (2 CPUs).

    python benchmarks/bench_render.py [--takes 16] [--seconds 1]

Each configuration renders the same manifest (4 prompts x 4 variations) into a fresh folder; the wall time
includes everything a user waits for: starting the worker processes or Ray, importing torch there and
loading the model once per worker, then the takes. Prints the machine it ran on, the wall time and takes
per minute of each, and checks that every configuration made the same codes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_CACHE", str(FIXTURES / "hf-cache"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.common import machine  # noqa: E402
from core.render.manifest import read_manifest  # noqa: E402
from core.render.runner import make_backend, render_manifest  # noqa: E402

PROMPTS = ["dog barking", "rain on a tin roof", "footsteps in a corridor", "sirens of an emergency vehicle"]


def write_manifest(folder: Path, takes: int, seconds: float) -> Path:
    per_prompt = max(1, takes // len(PROMPTS))
    rows = [
        {
            "prompt": p,
            "model": str(FIXTURES / "musicgen"),
            "duration": seconds,
            "seed": 100 * i,
            "variations": per_prompt,
        }
        for i, p in enumerate(PROMPTS)
    ]
    path = folder / "bench.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def run(label: str, manifest: Path, out: Path, **backend) -> tuple[str, float, int]:
    started = time.perf_counter()
    if backend.get("cluster"):
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = render_manifest(read_manifest(manifest), out, make_backend(**backend))
    finally:
        if backend.get("cluster"):
            ray.shutdown()
    wall = time.perf_counter() - started
    assert not report.failed, report.failed
    return label, wall, len(report.done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    print(machine())
    results, folders = [], []
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_manifest(Path(tmp), args.takes, args.seconds)
        configs = [
            ("1 worker (this process)", {"workers": 1}),
            ("2 worker processes", {"workers": 2}),
            ("local Ray, 2 CPUs", {"cluster": "ray"}),
        ]
        for index, (label, backend) in enumerate(configs):
            out = Path(tmp) / f"out{index}"
            results.append(run(label, manifest, out, **backend))
            folders.append(out)
            print(f"{label}: done", flush=True)
        same = all(
            np.array_equal(np.load(codes), np.load(other / codes.name))
            for codes in sorted(folders[0].glob("*.codes.npy"))
            for other in folders[1:]
        )
    print(f"\n{args.takes} takes of {args.seconds:g} s on the fixture MusicGen; identical codes everywhere: {same}")
    print(f"{'configuration':<26} {'wall s':>8} {'takes/min':>10}")
    for label, wall, done in results:
        print(f"{label:<26} {wall:>8.1f} {60 * done / wall:>10.1f}")


if __name__ == "__main__":
    main()

"""Time to first sound (issue 25): how soon `main.py` answers, and a first 0.1 s take, as whole processes.

    python benchmarks/bench_startup.py [--sizes musicgen-small audiogen-medium] [--models DIR] [--repeats 3]
    python benchmarks/bench_startup.py --sizes fixture --repeats 1     # a smoke run on the tiny fixture model

Every figure is the wall time of a fresh `python main.py ...` process, as a user starts it:
- `main.py --help`: imports and argument parsing only (target <= 0.5 s);
- `main.py generate "rain" --model M --duration 0.1 --precision int8` per model size, cold (an empty user cache:
  the int8 weights are quantized, the scripted step and the kernels checked, all of it written) and warm (those
  caches read back; targets <= 4 s at musicgen-small size, <= 10 s at audiogen-medium size).
Model sizes are random-weight releases written by benchmarks/random_release.py under --models (made when missing;
they take 1.7 GB and 6.5 GB of disk), with the fixtures' tiny T5 and SEANet, so the LM dominates as with the real
models. Then, per size, the window's figures (launch to ready, Generate to the first preview chunk: from
benchmarks/bench_startup_window.py) unless --no-window.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
sys.path.insert(0, str(ROOT))
SIZES = ("fixture", "musicgen-small", "audiogen-medium")


def _env(cache: Path) -> dict[str, str]:
    env = {**os.environ, "SOUNDDESK_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if FIXTURES.is_dir():
        env.setdefault("HF_HUB_CACHE", str(FIXTURES / "hf-cache"))
    return env


def process_seconds(args: list[str], cache: Path) -> float:
    """Wall seconds of `python main.py ARGS` run to its end (a failure stops the benchmark with its message)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=_env(cache), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"main.py {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds


def help_seconds(repeats: int) -> list[float]:
    with tempfile.TemporaryDirectory() as cache:
        return [process_seconds(["--help"], Path(cache)) for _ in range(repeats)]


def take_seconds(model: Path, precision: str, repeats: int) -> tuple[float, list[float]]:
    """(cold, [warm, ...]): the first take in an empty cache, then `repeats` takes with the caches it built."""
    with tempfile.TemporaryDirectory() as scratch:
        cache, out = Path(scratch) / "cache", Path(scratch) / "takes"
        args = ["generate", "rain", "--model", str(model), "--duration", "0.1", "--precision", precision]
        args += ["--seed", "1", "--out", str(out)]
        cold = process_seconds(args, cache)
        return cold, [process_seconds(args, cache) for _ in range(repeats)]


def model_folder(size: str, models: Path) -> Path:
    """The fixture, or a random release of `size` under `models` (written the first time)."""
    if size == "fixture":
        return FIXTURES / "musicgen"
    folder = models / size
    if not (folder / "state_dict.bin").is_file():
        from benchmarks.random_release import write_release

        print(f"writing a random {size} release to {folder} ...", flush=True)
        write_release(size, folder)
    return folder


def _figures(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s, best {min(values):.2f} s ({len(values)} runs)"


def window_figures(model: Path) -> None:
    """The window's figures for `model` (benchmarks/bench_startup_window.py: launch to ready, Generate to the first
    preview chunk), a cold launch and a warm one."""
    from benchmarks.bench_startup_window import main as window_main

    window_main(["--model", str(model), "--runs", "2"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=SIZES, default=["musicgen-small", "audiogen-medium"])
    parser.add_argument("--models", type=Path, default=Path(tempfile.gettempdir()) / "sounddesk-releases")
    parser.add_argument("--precision", default="int8", choices=("int8", "fp32", "bf16", "auto"))
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per figure (default 3)")
    parser.add_argument("--no-window", dest="window", action="store_false", help="skip the window's figures")
    args = parser.parse_args()
    from benchmarks.common import machine

    print(machine())
    print(f"main.py --help: {_figures(help_seconds(args.repeats))}")
    for size in args.sizes:
        folder = model_folder(size, args.models)
        cold, warm = take_seconds(folder, args.precision, args.repeats)
        print(f"{size}, 0.1 s take, {args.precision}: cold {cold:.2f} s; warm {_figures(warm)}", flush=True)
        if args.window and size != "fixture":
            window_figures(folder)


if __name__ == "__main__":
    main()

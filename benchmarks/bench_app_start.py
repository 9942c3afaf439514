"""Start time of the built app against `python main.py`: `--help` answered, and the window ready (shown, its event
loop running), each the median of N alternating runs with a fresh home folder; plus the app folder's size.

    python benchmarks/bench_app_start.py [--app dist/SoundDesk] [--runs 5]

The window runs under xvfb-run (Qt's offscreen platform with --offscreen) in smoke-test mode
(desktop.app.SOUNDDESK_SMOKE_TEST: it prints once the window is up, then closes), so a run's time is from the
process start to that line, plus closing. The app runs in a clean environment (`env -i`) as in
scripts/smoke_app.sh; `python main.py` with this environment's Python. A first run of each is discarded
(the disk cache).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY = "SoundDesk window ready"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "SoundDesk", help="the built app folder")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (after one discarded)")
    parser.add_argument("--offscreen", action="store_true", help="Qt's offscreen platform instead of xvfb-run")
    return parser.parse_args(argv)


def command(program: str, app: Path, window: bool, offscreen: bool, home: str) -> tuple[list[str], dict | None]:
    """(argv, env) of one start: `program` is "app" or "python"; env None means this process's environment."""
    base = [str(app / "sounddesk")] if program == "app" else [sys.executable, str(ROOT / "main.py")]
    argv = base if window else [*base, "--help"]
    if window and not offscreen:
        argv = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *argv]
    extra = {"HOME": home, "SOUNDDESK_SMOKE_TEST": "1"} | ({"QT_QPA_PLATFORM": "offscreen"} if offscreen else {})
    if program == "app":
        return ["env", "-i", "PATH=/usr/bin:/bin", *(f"{k}={v}" for k, v in extra.items()), *argv], None
    return argv, dict(os.environ, **extra)


def start_time(program: str, args: argparse.Namespace, window: bool) -> float:
    home = tempfile.mkdtemp(prefix="sounddesk-bench-home-")
    try:
        argv, env = command(program, args.app, window, args.offscreen, home)
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if done.returncode != 0 or (window and READY not in done.stdout):
        raise SystemExit(f"{program} {'window' if window else '--help'} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def du_mb(folder: Path) -> float:
    return sum(p.lstat().st_size for p in folder.rglob("*")) / 1e6


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.app / "sounddesk").is_file():
        raise SystemExit(f"{args.app / 'sounddesk'} is not there: python scripts/build_app.py")
    print(f"app folder {args.app}: {du_mb(args.app):.0f} MB unpacked")
    print(f"{'start':<10} {'program':<16} median s  (runs)")
    for window in (False, True):
        times: dict[str, list[float]] = {"app": [], "python": []}
        for program in times:
            start_time(program, args, window)  # discarded: fills the disk cache
        for _ in range(args.runs):
            for program in times:  # alternating, so a neighbour's burst hits both alike
                times[program].append(start_time(program, args, window))
        for program, values in times.items():
            name = "built app" if program == "app" else "python main.py"
            label = "window" if window else "--help"
            print(f"{label:<10} {name:<16} {statistics.median(values):7.2f}  {', '.join(f'{v:.2f}' for v in values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

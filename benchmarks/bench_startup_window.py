"""How soon the window lets a sound designer hear something: from launch to ready-to-generate with the last model
loaded, and from pressing Generate to the first preview chunk.

Each run is a fresh process started as `main.py` starts the window (`desktop.app`: QApplication, MainWindow with
the warm start), with settings in a temporary folder that name a musicgen-small-size random release
(benchmarks/random_release.py) as the model chosen at the last close. The parent times the process from its
launch: the window shown, the model loaded ("ready to generate"), then Generate pressed (preview on, as by
default) to the first preview chunk and to the take being recorded. The first run may build the load caches
(cold); later runs read them (warm). Offscreen unless QT_QPA_PLATFORM says otherwise.

    python benchmarks/bench_startup_window.py [--model DIR] [--runs 2] [--seconds 3] [--threads 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
MARK = "@@bench "


def child(model: str, settings_dir: str, seconds: float) -> int:
    """The window, as the app opens it; prints a MARK line (JSON) at each moment the parent times."""
    sys.path.insert(0, str(ROOT))

    def say(event: str) -> None:
        print(MARK + json.dumps({"event": event, "t": time.monotonic()}), flush=True)

    from PySide6.QtCore import QSettings, QTimer

    from desktop.app import create_application

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app = create_application()
    remember_model(QSettings(), model, Path(settings_dir) / "library")
    from desktop.main_window import MainWindow

    window = MainWindow(warm_start=True)
    controller = window.controller
    window.show()
    app.processEvents()
    say("shown")
    if not controller.loading(model):
        print("the window did not load the last model at start", file=sys.stderr)
        return 2
    seen: set[str] = set()

    def once(event: str) -> bool:
        first = event not in seen
        seen.add(event)
        if first:
            say(event)
        return first

    def loaded(_info) -> None:  # the first model_loaded is the warm start's; press Generate then
        if once("ready"):
            window.generate_panel.prompt.set_prompt("tense string ostinato, 90 bpm")
            window.generate_panel.params.duration.setValue(seconds)
            say("generate")
            window.generate()

    controller.model_loaded.connect(loaded)
    controller.preview_chunk.connect(lambda *_args: once("first_chunk"))
    controller.takes_added.connect(lambda _records: (once("take"), window.close(), app.quit()))
    controller.error.connect(lambda message: (print(message, file=sys.stderr), app.exit(1)))
    QTimer.singleShot(1_500_000, lambda: app.exit(3))
    return int(app.exec())


def remember_model(settings, model: str, library: Path) -> None:
    """Settings as a user leaves them: this model chosen (a local folder), the library, the preview on."""
    settings.setValue("generate/model/folders", json.dumps([model]))
    settings.setValue("generate/model/model", model)
    settings.setValue("preferences/library_dir", str(library))
    settings.sync()


def run_once(model: Path, seconds: float, threads: int) -> dict[str, float]:
    """Seconds from launch to each moment of one window process."""
    with tempfile.TemporaryDirectory(prefix="sounddesk-bench-window-") as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        if FIXTURES.is_dir():
            env.setdefault("HF_HUB_CACHE", str(FIXTURES / "hf-cache"))
            env.setdefault("HF_HUB_OFFLINE", "1")
        command = [sys.executable, __file__, "--child", str(model), "--settings", tmp, "--seconds", str(seconds)]
        launched = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    moments = {}
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            event = json.loads(line[len(MARK) :])
            moments.setdefault(event["event"], event["t"] - launched)
    if done.returncode != 0 or "take" not in moments:
        raise SystemExit(f"the window run failed ({done.returncode}): {done.stderr[-2000:]}")
    return moments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a musicgen-small-size release folder (random_release.py)")
    parser.add_argument("--runs", type=int, default=2, help="window launches (the first may build the caches)")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of the take generated")
    parser.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS for the window (0: default)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.settings, args.seconds)
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import machine

    model = args.model
    if model is None:
        from benchmarks.random_release import write_release

        model = write_release("musicgen-small", Path(tempfile.mkdtemp(prefix="musicgen-small-")))
    print(machine())
    print(f"window, model {model.name} ({model}), a {args.seconds:g} s take with the preview on")
    for run in range(args.runs):
        m = run_once(model.resolve(), args.seconds, args.threads)
        label = "cold" if run == 0 else "warm"
        print(
            f"  run {run + 1} ({label}): shown {m['shown']:.1f} s, ready to generate {m['ready']:.1f} s after "
            f"launch; Generate -> first preview chunk {m['first_chunk'] - m['generate']:.2f} s, "
            f"-> take recorded {m['take'] - m['generate']:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long the window's event loop stalls while a take is generated: the longest gap of a 10 ms QTimer
heartbeat on the GUI thread, once cold (the engine built and the model loaded) and once warm (the model cached).

Generation runs in the window's worker thread; a gap far above 10 ms is a frozen window (no redraw, no Stop).
The window is the real MainWindow, offscreen unless QT_QPA_PLATFORM says otherwise, with its settings and library
in a temporary folder.

    python benchmarks/bench_stall.py [--model DIR] [--seconds 3]   (default model: the musicgen fixture)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"


def heartbeat_gaps(app, window, timeout_s: float = 900.0) -> tuple[int, int, float]:
    """Generate once while a 10 ms heartbeat ticks: (longest gap ms, beats, seconds)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    clock, gaps, last = QElapsedTimer(), [], [0]

    def beat() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer(interval=10)
    heartbeat.timeout.connect(beat)
    loop = QEventLoop()
    failed: list[str] = []
    window.controller.takes_added.connect(loop.quit)
    window.controller.error.connect(lambda message: (failed.append(message), loop.quit()))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    clock.start()
    heartbeat.start()
    started = time.perf_counter()
    window.generate()
    loop.exec()
    heartbeat.stop()
    window.controller.takes_added.disconnect(loop.quit)
    if failed:
        raise SystemExit(f"generation failed: {failed[0]}")
    while window.controller.busy:
        app.processEvents()
    return max(gaps), len(gaps), time.perf_counter() - started


def open_window(model: Path, seconds: float, folder: Path):
    from PySide6.QtCore import QSettings

    from desktop.app import create_application

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    app = create_application()
    settings = QSettings()
    settings.setValue("preferences/library_dir", str(folder / "library"))
    from desktop.main_window import MainWindow

    window = MainWindow(settings)
    panel = window.generate_panel
    panel.models.add_folder(model)
    panel.prompt.set_prompt("rain on a tin roof")
    panel.params.duration.setValue(seconds)
    panel.params.variations.setValue(1)
    window.show()
    return app, window


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=FIXTURES / "musicgen", help="a release folder")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each take")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if FIXTURES.is_dir():
        os.environ.setdefault("HF_HUB_CACHE", str(FIXTURES / "hf-cache"))
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import machine

    print(machine())
    with tempfile.TemporaryDirectory(prefix="sounddesk-bench-stall-") as tmp:
        app, window = open_window(args.model.resolve(), args.seconds, Path(tmp))
        for label in ("cold (engine + model load)", "warm (cached model)"):
            longest, beats, took = heartbeat_gaps(app, window)
            print(
                f"event-loop stall, {args.seconds:g} s take on {args.model.name}, {label}: longest 10 ms-heartbeat "
                f"gap {longest} ms over {beats} beats in {took:.2f} s"
            )
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

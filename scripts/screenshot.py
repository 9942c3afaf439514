"""Screenshot of the real window: start Xvfb, open SoundDesk, generate a take on a fixture model, explain it,
lay the takes on the scene, grab the screen.

    python scripts/screenshot.py [--model ../shared/fixtures/musicgen] [--out screenshots/window.png]

Settings and the take library go to a temporary folder (the user's own are never touched); the hub runs
offline against ../shared/fixtures/hf-cache. Without Xvfb on PATH it falls back to Qt's offscreen platform
and a widget grab (`--offscreen` forces that).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=FIXTURES / "musicgen", help="a release-format model folder")
    parser.add_argument("--prompt", default="rain on a tin roof, distant thunder")
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--variations", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots" / "window.png")
    parser.add_argument("--size", default="1400x900", help="window (and virtual screen) size")
    parser.add_argument("--offscreen", action="store_true", help="no Xvfb: Qt offscreen platform, widget grab")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the generation")
    parser.add_argument("--explain-epochs", type=int, default=30, help="AudioGenX epochs (0: no explanation)")
    return parser.parse_args(argv)


def start_xvfb(size: str) -> tuple[subprocess.Popen, str] | None:
    """Start Xvfb on the first free display :90..:99; None if Xvfb is not installed."""
    if shutil.which("Xvfb") is None:
        return None
    for number in range(90, 100):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        display = f":{number}"
        process = subprocess.Popen(
            ["Xvfb", display, "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return process, display
            if process.poll() is not None:
                break
            time.sleep(0.1)
        process.terminate()
    return None


def set_environment(display: str | None) -> None:
    """Before Qt or huggingface_hub are imported: the platform, and an offline hub on the fixture cache."""
    if display is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    else:
        os.environ["DISPLAY"] = display
        os.environ["QT_QPA_PLATFORM"] = "xcb"
    if (FIXTURES / "hf-cache").is_dir():
        os.environ["HF_HUB_CACHE"] = str(FIXTURES / "hf-cache")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def wait_idle(window, timeout: float) -> list[str]:
    """Run the event loop until the job queue is idle; the error messages of the jobs that ran."""
    from PySide6.QtCore import QEventLoop, QTimer

    errors: list[str] = []
    window.controller.error.connect(errors.append)
    loop = QEventLoop()
    window.controller.queue.idle.connect(loop.quit)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    window.controller.error.disconnect(errors.append)
    window.controller.queue.idle.disconnect(loop.quit)
    return errors if not window.controller.busy else [*errors, "timed out"]


def explain_and_layer(window, args: argparse.Namespace) -> list[str]:
    """Explain the selected take (the explain panel shades its words) and lay every take on the scene."""
    takes, rows = window.takes_panel, window.scene.view.rows
    for row in range(takes.model.rowCount()):
        takes.list.select_take(takes.model.record(row).id)
        window.add_to_scene()
    if len(rows) > 1:
        rows[1].lane.set_offset(args.duration / 2)
        rows[1].lane.offset_changed.emit(args.duration / 2)
    takes.list.select_take(takes.model.record(0).id)
    if args.explain_epochs <= 0:
        return []
    from core.explain.explainer import ExplainSettings

    window.explain.settings = ExplainSettings(epochs=args.explain_epochs)
    window.explain.explain()
    errors = wait_idle(window, args.timeout)
    takes.detail.waveform.set_selection(0.25 * args.duration, 0.6 * args.duration)  # re-scores that window
    return errors


def capture(args: argparse.Namespace, real_screen: bool) -> int:
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer

    from desktop.app import create_application

    app = create_application()
    work = Path(tempfile.mkdtemp(prefix="sounddesk-shot-"))
    QCoreApplication.setOrganizationName("SoundDeskScreenshot")  # with setPath: never the user's settings
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    from desktop.main_window import MainWindow

    settings = QSettings()
    settings.setValue("preferences/library_dir", str(work / "library"))
    window = MainWindow(settings)
    width, height = (int(v) for v in args.size.split("x"))
    window.setGeometry(0, 0, width, height)
    window.show()
    panel = window.generate_panel
    panel.models.add_folder(args.model)
    panel.prompt.set_prompt(args.prompt)
    panel.params.duration.setValue(args.duration)
    panel.params.variations.setValue(args.variations)
    errors: list[str] = []
    window.controller.error.connect(errors.append)
    loop = QEventLoop()
    window.controller.queue.idle.connect(loop.quit)
    QTimer.singleShot(int(args.timeout * 1000), loop.quit)
    started = time.perf_counter()
    window.generate()
    loop.exec()
    if errors or window.controller.busy:
        print(f"generation did not finish: {errors or 'timed out'}", file=sys.stderr)
        window.close()
        return 1
    errors = explain_and_layer(window, args)
    if errors:
        print(f"explanation did not finish: {errors}", file=sys.stderr)
        window.close()
        return 1
    records = window.takes_panel.model.records()
    window.takes_panel.detail.spectrogram.setChecked(False)
    for _ in range(20):  # let layouts and pyqtgraph settle
        app.processEvents()
        time.sleep(0.02)
    if real_screen:
        image = app.primaryScreen().grabWindow(0, 0, 0, width, height)
    else:
        image = window.grab()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(args.out))
    print(
        f"{args.out}: {image.width()}x{image.height()} ({'Xvfb screen' if real_screen else 'offscreen widget grab'}), "
        f"{len(records)} take(s) in {time.perf_counter() - started:.1f} s; settings and library in {work}"
    )
    window.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.model / "state_dict.bin").is_file():
        print(f"{args.model} is not a model folder (state_dict.bin missing)", file=sys.stderr)
        return 2
    server = None if args.offscreen else start_xvfb(args.size)
    set_environment(server[1] if server else None)
    try:
        return capture(args, real_screen=server is not None)
    finally:
        if server is not None:
            server[0].terminate()
            server[0].wait(10)


if __name__ == "__main__":
    sys.exit(main())

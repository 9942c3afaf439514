"""Screenshots of the real window on a virtual screen: the main window (fixture takes, one selected, the
spectrogram on), the take being heard while it generates, compact mode, compact mode after generating from a
model folder, the window just after a cancelled generation, search by sound over takes made unranked (indexed
first), and a renamed take's export; at 1280x800 and 1920x1080.

    python scripts/screenshot.py [--model ../shared/fixtures/musicgen] [--out screenshots] [--sizes 1280x800,1920x1080]

Writes screenshots/{main,preview,compact,compact-folder,cancelled,search,export}-WxH.png. Settings and the take
library go to a temporary folder (the user's own are never touched); the hub runs offline against
../shared/fixtures/hf-cache. Each size gets its own Xvfb screen; without Xvfb on PATH it falls back to Qt's
offscreen platform and widget grabs.
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
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--variations", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--sizes", default="1280x800,1920x1080", help="virtual screen sizes, comma separated")
    parser.add_argument("--offscreen", action="store_true", help="no Xvfb: Qt offscreen platform, widget grabs")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a generation")
    parser.add_argument("--size", help=argparse.SUPPRESS)  # one size: what the parent process asks a child for
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


def environment(display: str | None) -> dict[str, str]:
    """The child's environment: the platform, and an offline hub on the fixture cache."""
    env = dict(os.environ)
    if display is None:
        env["QT_QPA_PLATFORM"] = "offscreen"
    else:
        env["DISPLAY"] = display
        env["QT_QPA_PLATFORM"] = "xcb"
    if (FIXTURES / "hf-cache").is_dir():
        env["HF_HUB_CACHE"] = str(FIXTURES / "hf-cache")
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    return env


def settle(app, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def posterize(image, mask: int = 0xF0):
    """16 levels per colour channel: a noisy spectrogram then compresses to well under 300 KB, text stays sharp."""
    import numpy as np
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine()).copy()
    pixels &= mask
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    return QImage(pixels.data, width, height, stride, QImage.Format.Format_RGB32).copy()


def save(app, widget, path: Path, real_screen: bool) -> None:
    """The widget's frame as the screen shows it (Xvfb), or a widget grab (offscreen)."""
    settle(app)
    if real_screen:
        frame = widget.frameGeometry()
        image = app.primaryScreen().grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    else:
        image = widget.grab()
    path.parent.mkdir(parents=True, exist_ok=True)
    image = posterize(image.toImage() if hasattr(image, "toImage") else image)
    image.save(str(path), "PNG", 0)
    print(f"{path}: {image.width()}x{image.height()}, {path.stat().st_size // 1024} KB")


def capture(args: argparse.Namespace, real_screen: bool) -> int:
    """In the child process: one screen size, five pictures."""
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
    window = MainWindow(settings)  # opens at its first-start size: a fraction of the screen
    window.show()
    panel = window.generate_panel
    panel.models.add_folder(args.model)
    panel.prompt.set_prompt(args.prompt)
    panel.params.duration.setValue(args.duration)
    panel.params.variations.setValue(args.variations)
    size = args.size
    shot = {"done": False}

    def grab_preview() -> None:  # while the first variation is half generated
        live = window.live
        if not shot["done"] and live.wav is not None and live.seconds() >= 0.45 * args.duration:
            shot["done"] = True
            live.toggle_play()  # the playhead follows the generation (silent on a machine without audio)
            save(app, window, args.out / f"preview-{size}.png", real_screen)

    window.live.changed.connect(grab_preview)
    errors: list[str] = []
    window.controller.error.connect(errors.append)
    loop = QEventLoop()
    window.controller.queue.idle.connect(loop.quit)
    QTimer.singleShot(int(args.timeout * 1000), loop.quit)
    window.generate()
    loop.exec()
    if errors or window.controller.busy:
        print(f"generation did not finish: {errors or 'timed out'}", file=sys.stderr)
        window.close()
        return 1
    window.takes_panel.player.stop()
    takes = window.takes_panel
    takes.list.select_take(takes.model.record(1).id)
    takes.detail.spectrogram.setChecked(True)
    save(app, window, args.out / f"main-{size}.png", real_screen)
    window.compact.set_compact(True)
    window.compact.window.prompt.setText("footsteps on gravel, slow")
    save(app, window.compact.window, args.out / f"compact-{size}.png", real_screen)
    status = shoot_compact_folder(app, window, args, real_screen) or shoot_cancelled(app, window, args, real_screen)
    if status == 0 and not library_shots(app, window, args, real_screen):
        status = 1
    window.close()
    return status


def library_shots(app, window, args: argparse.Namespace, real_screen: bool) -> bool:
    """Search by sound over the takes just made without ranking (they are indexed first, in the background),
    then a renamed take exported under its name, with the export dialog open over the window."""
    from PySide6.QtCore import QEventLoop, QTimer

    takes, size = window.takes_panel, args.size
    loop = QEventLoop()
    window.sound_search.ranked.connect(lambda *_: loop.quit())
    QTimer.singleShot(int(args.timeout * 1000), loop.quit)
    takes.search.setText("rain on a roof")
    takes.by_sound.setChecked(True)  # queues the indexing job, then the search
    loop.exec()
    if not takes.model.ranked:
        print("search by sound did not answer", file=sys.stderr)
        return False
    save(app, window, args.out / f"search-{size}.png", real_screen)
    takes.show_all.click()
    takes.list.select_take(takes.model.record(0).id)
    takes.rename_current("Tin roof rain")
    record = takes.current()
    dialog = window.exporter.dialog(record)
    if window.export_record(record, dialog.destination(), dialog.export_settings()) is None:
        return False
    dialog.show()
    frame = window.frameGeometry()
    dialog.move(frame.center() - dialog.rect().center())
    save(app, window if real_screen else dialog, args.out / f"export-{size}.png", real_screen)
    dialog.close()
    return True


def run_until_idle(window, timeout: float, start) -> list[str]:
    """Call `start()` and run the event loop until the queue is idle (or `timeout` s); the errors it showed."""
    from PySide6.QtCore import QEventLoop, QTimer

    errors: list[str] = []
    window.controller.error.connect(errors.append)
    loop = QEventLoop()
    window.controller.queue.idle.connect(loop.quit)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    start()
    loop.exec()
    window.controller.queue.idle.disconnect(loop.quit)
    return errors + (["timed out"] if window.controller.busy else [])


def shoot_compact_folder(app, window, args: argparse.Namespace, real_screen: bool) -> int:
    """Compact mode after generating from it with a local model folder: its picker still names the folder."""
    window.generate_panel.params.variations.setValue(1)
    compact = window.compact.window
    errors = run_until_idle(window, args.timeout, compact.generate_button.click)
    if errors:
        print(f"compact generation did not finish: {errors}", file=sys.stderr)
        return 1
    save(app, compact, args.out / f"compact-folder-{args.size}.png", real_screen)
    window.compact.set_compact(False)
    return 0


def shoot_cancelled(app, window, args: argparse.Namespace, real_screen: bool) -> int:
    """The window just after a generation was cancelled mid-way: the details show the selected take again."""
    panel, live = window.generate_panel, window.live
    panel.prompt.set_prompt("slow evolving drone, cancelled")
    panel.params.duration.setValue(30.0)  # far longer than the wait below
    cancel = lambda: window.controller.cancel() if live.wav is not None and live.seconds() >= 0.5 else None  # noqa: E731
    live.changed.connect(cancel)
    errors = run_until_idle(window, args.timeout, window.generate)
    live.changed.disconnect(cancel)
    if errors:
        print(f"the cancelled generation did not end: {errors}", file=sys.stderr)
        return 1
    save(app, window, args.out / f"cancelled-{args.size}.png", real_screen)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.model / "state_dict.bin").is_file():
        print(f"{args.model} is not a model folder (state_dict.bin missing)", file=sys.stderr)
        return 2
    if args.size:  # the child: the environment is set already
        return capture(args, real_screen=os.environ.get("QT_QPA_PLATFORM") == "xcb")
    status = 0
    for size in args.sizes.split(","):
        server = None if args.offscreen else start_xvfb(size)
        env = environment(server[1] if server else None)
        command = [sys.executable, __file__, "--size", size, "--out", str(args.out), "--model", str(args.model)]
        command += ["--duration", str(args.duration), "--variations", str(args.variations), "--prompt", args.prompt]
        command += ["--timeout", str(args.timeout)]
        try:
            status = subprocess.call(command, env=env) or status
        finally:
            if server is not None:
                server[0].terminate()
                server[0].wait(10)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Build the SoundDesk app from this checkout: a self-contained folder that needs no Python, then its archive.

    pip install -e '.[build]'          # PyInstaller and its community hooks, once
    python scripts/build_app.py        # -> dist/SoundDesk/ and dist/SoundDesk-<version>-<system>-<machine>.<ext>

Linux: dist/SoundDesk/ (`sounddesk`, a `.desktop` entry, the icon, install-desktop-entry.sh) packed as .tar.gz.
macOS: dist/SoundDesk.app packed as .dmg (hdiutil). Windows: dist/SoundDesk/ (`sounddesk.exe`) packed as .zip.
The same spec (packaging/sounddesk.spec) serves all three; each system builds its own app only. The torch in
this environment must be a CPU build: it is what the app ships.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "sounddesk.spec"
ICON_SVG = ROOT / "resources" / "icons" / "sounddesk.svg"
LINUX_EXTRAS = ROOT / "packaging" / "linux"
APP = "SoundDesk"
STRIP = ("torch/lib", "llvmlite/binding")  # Linux: their large libraries carry symbol tables the app never reads
STRIP_OVER_MB = 10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the app and its archive go")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "app", help="PyInstaller's work folder")
    parser.add_argument("--no-archive", action="store_true", help="build the folder only")
    parser.add_argument("--no-strip", action="store_true", help="Linux: keep the libraries' symbol tables")
    return parser.parse_args(argv)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def check_environment() -> None:
    """PyInstaller is installed, and torch is a CPU build (a CUDA build would put GBs of CUDA into the app)."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        fail("PyInstaller is not installed: pip install -e '.[build]'")
    import torch

    if torch.version.cuda is not None or getattr(torch.version, "hip", None) is not None:
        fail(
            f"torch {torch.__version__} is a GPU build; the app ships the CPU build only: "
            "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
        )


def render_icon(dest: Path, size: int = 512) -> Path:
    """The SVG icon as a PNG (PyInstaller turns it into .ico / .icns with Pillow; Linux menus show it too)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QIcon

    _app = QGuiApplication.instance() or QGuiApplication([])
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not QIcon(str(ICON_SVG)).pixmap(size, size).toImage().save(str(dest)):
        fail(f"could not render {ICON_SVG} to {dest}")
    return dest


def run_pyinstaller(args: argparse.Namespace, icon: Path) -> None:
    env = dict(os.environ, SOUNDDESK_APP_ICON=str(icon), SOUNDDESK_APP_VERSION=version())
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN"]
    command += ["--distpath", str(args.dist), "--workpath", str(args.work), str(SPEC)]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def strip_large_libraries(folder: Path) -> None:
    """Linux: drop the symbol tables of torch's and llvmlite's large libraries (about 110 MB), keeping the dynamic
    symbols the loader needs. Only these: they are linked as built (no RPATH rewritten by patchelf, which strip
    can break), and the smoke test runs both (generation, and librosa's numba code in `loop`)."""
    strip = shutil.which("strip")
    if strip is None:
        print("note: no `strip` on PATH; the libraries keep their symbol tables")
        return
    for part in STRIP:
        for lib in sorted((folder / "_internal" / part).glob("*.so*")):
            if lib.stat().st_size > STRIP_OVER_MB * 2**20:
                subprocess.run([strip, "--strip-unneeded", str(lib)], check=True)


def add_linux_extras(folder: Path, icon_png: Path) -> None:
    """The menu entry, its icons and the script that installs the entry for this user."""
    for name in ("sounddesk.desktop", "install-desktop-entry.sh"):
        shutil.copyfile(LINUX_EXTRAS / name, folder / name)
    (folder / "install-desktop-entry.sh").chmod(0o755)
    shutil.copyfile(ICON_SVG, folder / "sounddesk.svg")
    shutil.copyfile(icon_png, folder / "sounddesk.png")


def archive(args: argparse.Namespace, system: str) -> Path:
    """The download: .tar.gz (Linux), .dmg (macOS) or .zip (Windows)."""
    stem = args.dist / f"{APP}-{version()}-{system}-{platform.machine().lower()}"
    if system == "macos":
        dmg = stem.with_suffix(".dmg")
        dmg.unlink(missing_ok=True)
        command = ["hdiutil", "create", "-volname", APP, "-srcfolder", str(args.dist / f"{APP}.app")]
        subprocess.run([*command, "-ov", "-format", "UDZO", str(dmg)], check=True)
        return dmg
    if system == "windows":
        return Path(shutil.make_archive(str(stem), "zip", args.dist, APP))
    path = stem.with_name(stem.name + ".tar.gz")
    with tarfile.open(path, "w:gz", compresslevel=6) as tar:
        tar.add(args.dist / APP, arcname=APP)
    return path


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.lstat().st_size for p in path.rglob("*")) / 1e6


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    check_environment()
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, "linux")
    icon = render_icon(args.work / "sounddesk.png")
    run_pyinstaller(args, icon)
    folder = args.dist / APP
    if system == "linux":
        if not args.no_strip:
            strip_large_libraries(folder)
        add_linux_extras(folder, icon)
    built = time.perf_counter() - started
    app = args.dist / f"{APP}.app" if system == "macos" else folder
    print(f"built {app} in {built:.0f} s: {size_mb(app):.0f} MB unpacked")
    if not args.no_archive:
        packed = archive(args, system)
        print(f"packed {packed}: {size_mb(packed):.0f} MB (total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

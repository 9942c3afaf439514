"""What the built app relies on in the source: resources found frozen or not, the window's smoke-test mode, and a
sentence instead of a traceback where the app leaves a part out (Ray). The built folder itself is checked by
scripts/smoke_app.sh, which CI runs after building it."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from resources import resource_path
from tests.conftest import ROOT


def test_resources_are_found_from_the_checkout():
    for parts in (("icons", "sounddesk.svg"), ("styles", "dark.qss"), ("presets", "short-sfx.json")):
        assert resource_path(*parts).is_file()


def test_resources_are_found_under_the_frozen_apps_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)  # what PyInstaller's bootloader sets
    assert resource_path("styles", "dark.qss") == tmp_path / "resources" / "styles" / "dark.qss"


def test_smoke_test_mode_opens_the_window_and_reports_the_first_run_box(tmp_path):
    empty = tmp_path / "hf"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "XDG_"))}
    picture = tmp_path / "window.png"
    env.update(HOME=str(tmp_path), HF_HUB_CACHE=str(empty), SOUNDDESK_SMOKE_TEST=str(picture))
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "SoundDesk window ready; first-run box shown" in done.stdout
    assert picture.stat().st_size > 0


def test_the_app_names_what_to_do_when_render_cluster_has_no_ray(monkeypatch):
    from core.render.cluster import ClusterError, _ray

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as in the app
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(ClusterError, match="The SoundDesk app does not include Ray"):
        _ray()


def _qt_modules_imported_by(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found.update(name for name in names if name.startswith("PySide6.Qt"))
    return found


def test_the_app_build_keeps_every_qt_module_the_window_imports():
    spec = (ROOT / "packaging" / "sounddesk.spec").read_text(encoding="utf-8")
    unused_block = spec.split("QT_UNUSED = [", 1)[1].split("]", 1)[0]
    excluded = {f"PySide6.{name}" for name in re.findall(r"\bQt\w+", unused_block)}
    imported = _qt_modules_imported_by(ROOT / "desktop")
    assert "PySide6.QtWidgets" in imported  # the scan sees the window's imports, lazy ones inside functions included
    assert not imported & excluded, f"the app build leaves out {sorted(imported & excluded)}, which desktop/ imports"

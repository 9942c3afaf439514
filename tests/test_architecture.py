"""The layering promise: core/ never imports Qt, pyqtgraph, sounddevice or desktop/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = ("PySide6", "pyqtgraph", "sounddevice", "desktop")


def _lint_imports() -> str:
    script = Path(sys.executable).with_name("lint-imports")
    found = str(script) if script.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    return found


def _run_lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1"}
    return subprocess.run(
        [_lint_imports(), "--config", str(cwd / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_linter_contract_is_kept() -> None:
    result = _run_lint(ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "core never imports Qt" in output
    assert "1 kept, 0 broken" in output


def test_import_linter_contract_catches_a_qt_import_in_core(tmp_path: Path) -> None:
    """The same configuration on a tiny tree whose core imports PySide6 must fail: the contract has teeth."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "core" / "player.py").write_text("from PySide6 import QtCore\n")
    (tmp_path / "desktop").mkdir()
    (tmp_path / "desktop" / "__init__.py").write_text("")

    result = _run_lint(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "BROKEN" in output
    assert "core.player -> PySide6" in output


def test_importing_every_core_module_loads_no_gui_or_audio_device_module() -> None:
    code = textwrap.dedent(
        f"""
        import importlib, json, pkgutil, sys
        import core
        names = sorted(m.name for m in pkgutil.walk_packages(core.__path__, "core."))
        for name in names:
            importlib.import_module(name)
        top = {{m.split(".")[0] for m in sys.modules}}
        print(json.dumps({{"modules": names, "loaded": sorted(top & set({list(FORBIDDEN_IN_CORE)!r}))}}))
        """
    )
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"core.models.catalog", "core.params", "core.takes.take", "core.cli.main"} <= set(report["modules"])
    assert report["loaded"] == [], f"importing core loaded {report['loaded']}"

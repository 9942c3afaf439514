"""The layering promise: core/ never imports Qt, pyqtgraph, sounddevice or desktop/; packages are layered, no cycles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

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
    assert "core packages are layered" in output and "desktop packages are layered" in output
    assert "3 kept, 0 broken" in output


def test_import_linter_contract_catches_a_qt_import_in_core(tmp_path: Path) -> None:
    """The same configuration on a tiny tree whose core imports PySide6 must fail: the contract has teeth."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for top in ("core", "desktop"):  # empty stand-ins for every module, so each layer the contracts name exists
        for source in (ROOT / top).rglob("*.py"):
            stand_in = tmp_path / source.relative_to(ROOT)
            stand_in.parent.mkdir(parents=True, exist_ok=True)
            stand_in.write_text("")
    (tmp_path / "core" / "player.py").write_text("from PySide6 import QtCore\n")

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


def _import_cycles(graph, modules: list[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. the import cycles."""
    adjacency = {m: set(graph.find_modules_directly_imported_by(m)) & set(modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in adjacency[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return cycles


def test_no_module_imports_itself_through_others() -> None:
    """No import cycle anywhere in core/ or desktop/, counting imports inside functions too."""
    import grimp

    graph = grimp.build_graph("core", "desktop", cache_dir=None)
    assert _import_cycles(graph, sorted(graph.modules)) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path, monkeypatch) -> None:
    import grimp

    package = tmp_path / "loopy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from loopy import b\n")
    (package / "b.py").write_text("def f():\n    from loopy import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("loopy", cache_dir=None)
    assert _import_cycles(graph, sorted(graph.modules)) == [["loopy.a", "loopy.b"]]


@pytest.mark.parametrize("top", ["core", "desktop"])
def test_top_level_holds_few_modules_beside_feature_packages(top: str) -> None:
    modules = sorted(p.name for p in (ROOT / top).glob("*.py") if p.name != "__init__.py")
    packages = sorted(p.parent.name for p in (ROOT / top).glob("*/__init__.py"))
    assert len(modules) <= 8, modules
    assert len(packages) >= 6, packages
    for name in packages:  # each feature package says what it is for
        doc = (ROOT / top / name / "__init__.py").read_text(encoding="utf-8").strip()
        assert doc.startswith('"""') and len(doc) > 40, name

"""Render test set-up: a small manifest on the tiny fixture MusicGen, and one uninterrupted render to compare with."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cli.main import main
from tests.core.render.render_helpers import write_manifest


@pytest.fixture(scope="session")
def manifest(fixtures_dir, tmp_path_factory) -> Path:
    return write_manifest(tmp_path_factory.mktemp("manifest") / "takes.jsonl", fixtures_dir / "musicgen")


@pytest.fixture(scope="session")
def reference(manifest, tmp_path_factory) -> Path:
    """The manifest rendered once, uninterrupted, in this process."""
    out = tmp_path_factory.mktemp("reference")
    assert main(["render", str(manifest), "--out", str(out)]) == 0
    return out

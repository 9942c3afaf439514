"""Shared test set-up: locate ../shared, point the hub cache at its fixtures, and run offline."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"
AUDIO = SHARED / "audio"
REQUIRE = os.environ.get("SOUNDDESK_REQUIRE_FIXTURES") == "1"

# Tests never reach a hub: every model id resolves through the fixture cache. These must be set before
# huggingface_hub / transformers are imported (they read them at import time).
if FIXTURES.is_dir():
    os.environ["HF_HUB_CACHE"] = str(FIXTURES / "hf-cache")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# int8 weights are cached per checkpoint (core.models.int8_cache): never in the user's real cache during tests
os.environ["SOUNDDESK_CACHE_DIR"] = tempfile.mkdtemp(prefix="sounddesk-test-cache-")


def _need(path: Path) -> Path:
    if path.exists():
        return path
    if REQUIRE:
        pytest.fail(f"{path} is missing but SOUNDDESK_REQUIRE_FIXTURES=1 (CI must have ../shared)")
    pytest.skip(f"{path} is absent: the shared fixtures live beside the project in ../shared")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """`../shared/fixtures`, or a skip (a failure under SOUNDDESK_REQUIRE_FIXTURES=1) when absent."""
    return _need(FIXTURES)


@pytest.fixture(scope="session")
def audio_dir() -> Path:
    """`../shared/audio`: real recordings (mp3 / wav)."""
    return _need(AUDIO)

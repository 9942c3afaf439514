"""CLAP test fixtures: the fixture hub cache's tiny CLAPs, and direct transformers computations of them."""

from __future__ import annotations

import pytest

from tests.core.clap.clap_helpers import GENERAL, MUSIC, Reference


@pytest.fixture(scope="session")
def clap_fixtures(fixtures_dir):
    """The fixture hub cache holds both tiny CLAPs (conftest points HF_HUB_CACHE at it)."""
    for name in (MUSIC, GENERAL):
        folder = fixtures_dir / "hf-cache" / f"models--{name.replace('/', '--')}"
        assert folder.is_dir(), folder
    return fixtures_dir


@pytest.fixture(scope="session")
def reference_general(clap_fixtures) -> Reference:
    return Reference(GENERAL)


@pytest.fixture(scope="session")
def reference_music(clap_fixtures) -> Reference:
    return Reference(MUSIC)

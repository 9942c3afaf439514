"""Model references: local release folders and hub ids resolved through a Hugging Face cache, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from core.cancel import CancelToken
from core.errors import GenerationCancelled, ModelNotFoundError
from core.models.hub import _progress_tqdm, is_downloaded, local_folder, resolve_model_dir
from tests.conftest import ROOT

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _hub_cache_with_musicgen(fixtures_dir: Path, tmp_path: Path) -> Path:
    """An HF_HUB_CACHE holding the fixture cache plus 'facebook/musicgen-small' = the tiny musicgen folder."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    for entry in (fixtures_dir / "hf-cache").iterdir():
        (cache / entry.name).symlink_to(entry)
    repo = cache / "models--facebook--musicgen-small"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    for name in ("state_dict.bin", "compression_state_dict.bin"):
        (snapshot / name).symlink_to(fixtures_dir / "musicgen" / name)
    return cache


def test_hub_id_resolves_from_the_cache_offline(fixtures_dir, tmp_path):
    cache = _hub_cache_with_musicgen(fixtures_dir, tmp_path)
    env = dict(os.environ, HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1")
    script = (
        "from core.models.hub import is_downloaded, resolve_model_dir\n"
        "print(is_downloaded('facebook/musicgen-small'), is_downloaded('facebook/musicgen-large'))\n"
        "print(resolve_model_dir('facebook/musicgen-small'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    flags, folder = done.stdout.strip().splitlines()
    assert flags == "True False"
    assert Path(folder) == cache / "models--facebook--musicgen-small" / "snapshots" / COMMIT


def test_cli_generates_from_a_hub_id(fixtures_dir, tmp_path):
    """The same take whether the model is named by hub id (through the cache) or by its folder."""
    cache = _hub_cache_with_musicgen(fixtures_dir, tmp_path)
    env = dict(os.environ, HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1")
    common = ["dog barking", "--duration", "0.3", "--seed", "9", "--greedy"]
    by_id = subprocess.run(
        [
            sys.executable,
            "main.py",
            "generate",
            *common,
            "--model",
            "facebook/musicgen-small",
            "--out",
            str(tmp_path / "a"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert by_id.returncode == 0, by_id.stderr
    by_folder = subprocess.run(
        [
            sys.executable,
            "main.py",
            "generate",
            *common,
            "--model",
            str(fixtures_dir / "musicgen"),
            "--out",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert by_folder.returncode == 0, by_folder.stderr
    a, _ = sf.read(by_id.stdout.strip())
    b, _ = sf.read(by_folder.stdout.strip())
    assert (a == b).all()


def test_local_folder_rules(fixtures_dir, tmp_path):
    assert local_folder(fixtures_dir / "musicgen") == fixtures_dir / "musicgen"
    assert local_folder("facebook/musicgen-small") is None
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        local_folder("./no/such/model")
    with pytest.raises(ModelNotFoundError, match="state_dict.bin"):
        resolve_model_dir(tmp_path)
    assert is_downloaded(str(fixtures_dir / "musicgen"))
    assert not is_downloaded(str(tmp_path))


def test_missing_model_offline_names_the_cause():
    with pytest.raises(ModelNotFoundError, match="not downloaded yet and offline mode is on"):
        resolve_model_dir("facebook/musicgen-large")


def test_download_progress_reports_bytes_and_honours_cancel():
    seen: list[tuple[int, int]] = []
    token = CancelToken()
    bar = _progress_tqdm(lambda done, total: seen.append((done, total)), token)(total=1000)
    bar.update(400)
    bar.update(600)
    assert seen == [(400, 1000), (1000, 1000)]
    token.cancel()
    with pytest.raises(GenerationCancelled):
        bar.update(1)
    bar.close()

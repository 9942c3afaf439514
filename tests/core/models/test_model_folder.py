"""A self-contained model folder (release files + its own `text_encoder/` and `codec/`) needs no hub cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.cli.main import main
from core.errors import ModelNotFoundError
from core.models.hub import CODEC_DIR, RELEASE_FILES, TEXT_ENCODER_DIR
from core.models.loader import load_t5
from tests.conftest import ROOT

ARGS = ["--duration", "0.5", "--seed", "7", "--precision", "fp32"]


def _copy(src: Path, dest: Path) -> None:
    """Copy a folder's files (the fixtures are read-only: copies get default modes, so tmp_path can clean up)."""
    dest.mkdir(parents=True)
    for entry in src.iterdir():
        shutil.copyfile(entry, dest / entry.name)


def _snapshot(fixtures_dir: Path, repo: str) -> Path:
    return next((fixtures_dir / "hf-cache" / f"models--{repo.replace('/', '--')}" / "snapshots").iterdir())


def self_contained(fixtures_dir: Path, model: str, t5: str, dest: Path, codec: str | None = None) -> Path:
    """The fixture `model` as a folder that carries its T5 (and codec) itself, as the README documents."""
    dest.mkdir()
    for name in RELEASE_FILES:
        shutil.copyfile(fixtures_dir / model / name, dest / name)
    _copy(_snapshot(fixtures_dir, t5), dest / TEXT_ENCODER_DIR)
    if codec is not None:
        _copy(_snapshot(fixtures_dir, codec), dest / CODEC_DIR)
    return dest


def _generate_without_cache(folder: Path, out: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`python main.py generate` with an empty hub cache, offline: only the folder itself can supply T5 / codec."""
    empty = tmp_path / "empty-hf"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(HF_HOME=str(empty), HF_HUB_CACHE=str(empty), HF_HUB_OFFLINE="1")
    command = [sys.executable, "main.py", "generate", "dog barking", "--model", str(folder), *ARGS, "--out", str(out)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _codes(out: Path) -> np.ndarray:
    (sidecar,) = out.glob("*.json")
    return np.load(out / json.loads(sidecar.read_text())["codes"])


@pytest.mark.parametrize(
    ("model", "t5", "codec"),
    [("audiogen", "t5-large", None), ("musicgen-hfcodec", "t5-base", "facebook/encodec_32khz")],
)
def test_self_contained_folder_generates_with_an_empty_cache(fixtures_dir, tmp_path, capsys, model, t5, codec):
    folder = self_contained(fixtures_dir, model, t5, tmp_path / "model", codec)
    done = _generate_without_cache(folder, tmp_path / "app", tmp_path)
    assert done.returncode == 0, done.stderr
    # the same request on the fixture folder, its T5 and codec from the fixture hub cache: the same codes
    assert (
        main(["generate", "dog barking", "--model", str(fixtures_dir / model), *ARGS, "--out", str(tmp_path / "ref")])
        == 0
    )
    capsys.readouterr()
    assert np.array_equal(_codes(tmp_path / "app"), _codes(tmp_path / "ref"))


def test_a_broken_text_encoder_folder_is_named(tmp_path):
    broken = tmp_path / TEXT_ENCODER_DIR
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="folder does not hold a readable Hugging Face T5"):
        load_t5(str(broken))

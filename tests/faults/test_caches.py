"""What is read from a cache is checked: a changed, foreign or damaged entry is rebuilt with one line, never used.

Issue 28 item 3: bytes changed inside a cached int8 tensor, or another model's entry with the same tensor names and
shapes, gave a different take with exit 0; a garbled header or damaged data crashed every int8 load.
"""

from __future__ import annotations

import json
import logging
import shutil

import pytest
import torch

from benchmarks.common import random_lm
from core.engine import Engine
from core.models.int8_cache import CACHE_ENV, FORMAT, cache_dir, content_hash, int8_weights
from core.nn.quantize import quantize_lm


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return cache_dir()


def _model(tmp_path, name: str, seed: int):
    """A small random LM and a stand-in checkpoint file of its own (the cache keys entries by the file's hash)."""
    checkpoint = tmp_path / name / "state_dict.bin"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(f"weights of {name}".encode())
    return random_lm(dim=32, num_heads=2, num_layers=1, card=16, seed=seed), checkpoint


def _entry(checkpoint):
    return cache_dir() / f"{content_hash(checkpoint)}-{FORMAT}.safetensors"


def _read_all(lm, checkpoint) -> dict[str, torch.Tensor]:
    tensors = int8_weights(lm, checkpoint)
    return {name: tensors[name] for name in tensors}  # read as a load reads them: one at a time


def _data_start(entry) -> int:
    return 8 + int.from_bytes(entry.read_bytes()[:8], "little")


def _change_a_byte(entry) -> None:
    data = bytearray(entry.read_bytes())
    data[_data_start(entry) + 40] ^= 0x01  # one bit of a stored scale: a plausible weight, silently different
    entry.write_bytes(bytes(data))


def _nan_data(entry) -> None:
    data = bytearray(entry.read_bytes())
    start = _data_start(entry)
    data[start : start + 64] = b"\xff" * 64  # NaN scales / garbage int8: "probability tensor contains inf/nan"
    entry.write_bytes(bytes(data))


def _garble_header(entry) -> None:
    data = bytearray(entry.read_bytes())
    data[9:40] = b"\xfe" * 31  # not UTF-8: UnicodeDecodeError before
    entry.write_bytes(bytes(data))


def _garble_metadata(entry) -> None:
    text = entry.read_bytes()
    entry.write_bytes(text.replace(b'\\"crc32\\": {', b'\\"crc3X\\": {', 1))


@pytest.mark.parametrize("damage", [_change_a_byte, _nan_data, _garble_header, _garble_metadata])
def test_a_damaged_int8_entry_is_rebuilt_with_one_line(tmp_path, cache, caplog, damage):
    lm, checkpoint = _model(tmp_path, "a", seed=0)
    expected = quantize_lm(lm)
    _read_all(lm, checkpoint)  # writes the entry
    entry = _entry(checkpoint)
    damage(entry)
    with caplog.at_level(logging.WARNING):
        tensors = _read_all(lm, checkpoint)
    assert all(torch.equal(tensors[name], expected[name]) for name in expected)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and entry.name in warnings[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # rebuilt on disk: the next load reads it without a word
        again = _read_all(lm, checkpoint)
    assert not caplog.records
    assert all(torch.equal(again[name], expected[name]) for name in expected)


def test_another_models_entry_with_the_same_names_and_shapes_is_not_used(tmp_path, cache, caplog):
    lm_a, checkpoint_a = _model(tmp_path, "a", seed=0)
    lm_b, checkpoint_b = _model(tmp_path, "b", seed=1)
    _read_all(lm_a, checkpoint_a)
    _read_all(lm_b, checkpoint_b)
    shutil.copyfile(_entry(checkpoint_b), _entry(checkpoint_a))  # same names and shapes, other weights
    with caplog.at_level(logging.WARNING):
        tensors = _read_all(lm_a, checkpoint_a)
    expected = quantize_lm(lm_a)
    assert all(torch.equal(tensors[name], expected[name]) for name in expected)
    assert "another checkpoint" in caplog.text


def test_an_entry_from_another_torch_is_rebuilt(tmp_path, cache, monkeypatch, caplog):
    lm, checkpoint = _model(tmp_path, "a", seed=0)
    with monkeypatch.context() as patch:
        patch.setattr(torch, "__version__", "2.0.0")
        _read_all(lm, checkpoint)
    with caplog.at_level(logging.WARNING):
        _read_all(lm, checkpoint)
    assert "made with torch 2.0.0" in caplog.text


def test_a_damaged_hash_memo_is_not_trusted(tmp_path, cache, caplog):
    """hashes.json maps a checkpoint to its digest: a changed digest there would pick another model's entry."""
    lm_a, checkpoint_a = _model(tmp_path, "a", seed=0)
    lm_b, checkpoint_b = _model(tmp_path, "b", seed=1)
    _read_all(lm_a, checkpoint_a)
    _read_all(lm_b, checkpoint_b)
    memo = cache / "hashes.json"
    text = memo.read_text()
    digest_a, digest_b = content_hash(checkpoint_a), content_hash(checkpoint_b)
    memo.write_text(text.replace(f'"{digest_a}"', f'"{digest_b}"', 1))  # a points at b's entry now
    with caplog.at_level(logging.WARNING):
        tensors = _read_all(lm_a, checkpoint_a)
    expected = quantize_lm(lm_a)
    assert all(torch.equal(tensors[name], expected[name]) for name in expected)
    assert "hashes.json is damaged" in caplog.text


@pytest.mark.parametrize("garbage", ["not json", json.dumps({"data": {"x": True}, "sha256": "0" * 64})])
def test_a_damaged_load_facts_record_is_ignored_and_rewritten(fixtures_dir, cache, caplog, garbage):
    from core.models import disk_cache, load_facts

    folder = fixtures_dir / "musicgen"
    first = Engine(precision="int8").load(folder)
    path = disk_cache.cache_root() / load_facts.FACTS
    path.write_text(garbage)
    with caplog.at_level(logging.WARNING):
        second = Engine(precision="int8").load(folder)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "cache record load_facts.json is damaged: it is made again"
    ]
    assert (first.bundle.lm.decode_step is None) == (second.bundle.lm.decode_step is None)
    assert disk_cache.read_checked_json(path)  # rewritten, whole

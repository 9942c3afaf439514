"""Giving back a memory-mapped weight's pages once its packed or quantized copy exists."""

from __future__ import annotations

import sys

import pytest
import torch

from core.nn.pages import drop_file_pages

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise and /proc are Linux's")


def _rss_file_kb() -> int:
    """Resident pages of file mappings (RssFile in /proc/self/status)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssFile:"))


def test_a_mapped_tensor_gives_its_pages_back_and_keeps_its_values(tmp_path):
    values = torch.randn(4, 1 << 20)  # 16 MiB
    torch.save({"w": values}, tmp_path / "w.bin")
    mapped = torch.load(tmp_path / "w.bin", mmap=True, weights_only=True)["w"]
    assert torch.equal(mapped, values)  # read: its pages are resident now
    before = _rss_file_kb()
    dropped = drop_file_pages(mapped)
    assert dropped >= values.numel() * 4 - 2 * 4096
    assert before - _rss_file_kb() >= dropped // 1024 // 2
    assert torch.equal(mapped, values)  # read again from the file if anything touches it


def test_anonymous_memory_is_never_dropped():
    values = torch.randn(4, 1 << 20)
    copy = values.clone()
    assert drop_file_pages(values) == 0
    assert torch.equal(values, copy)
    assert drop_file_pages(values.T) == 0  # not contiguous: not a weight's own range

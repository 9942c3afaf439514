"""`main.py verify`: the table against fp32 on a fixture, its record per checkpoint, and auto's int4 rule."""

from __future__ import annotations

import pytest

from core.cli.main import main
from core.engine import Engine
from core.models import precision, verification
from core.models.int8_cache import CACHE_ENV
from core.nn import kernels


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))


def test_verify_prints_and_records_each_mode_against_fp32(fixtures_dir, capsys):
    folder = fixtures_dir / "musicgen"
    code = main(["verify", "--model", str(folder), "--modes", "int8", "int4", "--seconds", "0.4", "--prompts", "rain"])
    out = capsys.readouterr().out
    assert code == 0 and "mean KL" in out and "recorded:" in out
    table = verification.recorded(folder / "state_dict.bin")
    expected = {"int8", "int4"} if kernels.available(kernels.INT4_MM) else {"int8"}
    assert set(table) == expected
    for row in table.values():
        assert 0 <= row["kl"] < 0.05 and 0.5 < row["top1"] <= 1 and 0 <= row["greedy"] <= 1
    assert table["int8"]["kl"] > 0  # quantized: not fp32 itself


@pytest.mark.skipif(not kernels.available(kernels.INT4_MM), reason="no 4-bit kernel on this CPU")
@pytest.mark.parametrize("int4_faster", [True, False])
def test_auto_picks_int4_only_for_a_model_verified_for_it_where_it_is_faster(fixtures_dir, monkeypatch, int4_faster):
    # this machine's measured auto: int8 of fp32 / bf16 / int8, and int4 faster than that or not
    monkeypatch.setattr(
        precision, "_measured_cpu_choice", lambda with_int4=False: "int4" if with_int4 and int4_faster else "int8"
    )
    folder = fixtures_dir / "musicgen"
    checkpoint = folder / "state_dict.bin"
    assert Engine(precision="auto").load(folder).precision == "int8"  # never verified
    verification.save(checkpoint, {"int8": {"kl": 1e-3, "top1": 0.9, "greedy": 0.8}, "int4": {"kl": 3e-3}})
    assert Engine(precision="auto").load(folder).precision == "int8"  # int4 more than 2x int8's KL
    verification.save(checkpoint, {"int8": {"kl": 1e-3, "top1": 0.9, "greedy": 0.8}, "int4": {"kl": 1.9e-3}})
    assert Engine(precision="auto").load(folder).precision == ("int4" if int4_faster else "int8")

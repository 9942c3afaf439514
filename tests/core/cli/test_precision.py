"""`--precision` on the generating commands: recorded in the sidecar, replays use the recorded one."""

from __future__ import annotations

import json
from pathlib import Path

from core.cli.main import main
from core.nn import kernels


def _generate(fixtures_dir, out: Path, *extra: str) -> dict:
    args = ["generate", "rain", "--model", str(fixtures_dir / "audiogen"), "--duration", "0.5", "--seed", "1"]
    assert main([*args, "--out", str(out), *extra]) == 0
    return json.loads(next(out.glob("*.json")).read_text())


def test_generate_records_the_resolved_precision(fixtures_dir, tmp_path, capsys):
    assert _generate(fixtures_dir, tmp_path / "int8", "--precision", "int8")["precision"] == "int8"
    assert _generate(fixtures_dir, tmp_path / "auto")["precision"] in ("fp32", "bf16", "int8", "int4")  # not "auto"


def test_generate_in_int4_records_int4_or_the_int8_it_fell_back_to(fixtures_dir, tmp_path, capsys):
    runs = "int4" if kernels.available(kernels.INT4_MM) else "int8"
    assert _generate(fixtures_dir, tmp_path / "int4", "--precision", "int4")["precision"] == runs
    with kernels.forced(kernels.INT4_MM, False):
        assert _generate(fixtures_dir, tmp_path / "hidden", "--precision", "int4")["precision"] == "int8"


def test_unknown_precision_is_one_error_line(fixtures_dir, tmp_path, capsys):
    try:
        main(["generate", "rain", "--model", str(fixtures_dir / "audiogen"), "--precision", "fp16"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "invalid choice: 'fp16'" in capsys.readouterr().err


def test_explain_replays_in_the_recorded_precision(fixtures_dir, tmp_path, capsys):
    meta = _generate(fixtures_dir, tmp_path / "take", "--precision", "int8", "--greedy")
    sidecar = next((tmp_path / "take").glob("*.json"))
    capsys.readouterr()
    assert main(["explain", str(sidecar), "--epochs", "1", "--audio", str(tmp_path / "explained")]) == 0
    factual = json.loads(next((tmp_path / "explained").glob("*_factual.json")).read_text())
    assert meta["precision"] == factual["precision"] == "int8"

"""`evaluate`: one take per prompt, mean CLAP text match, Fréchet distance against a reference folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.cli.main import main
from tests.core.clap.clap_helpers import noise


def test_evaluate_cli_reports_text_match_and_frechet(fixtures_dir, tmp_path, capsys, reference_general):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# sound prompts\ndog barking\n\nsirens of an emergency vehicle\nfootsteps\n")
    reference = tmp_path / "real"
    reference.mkdir()
    for i in range(3):
        sf.write(reference / f"r{i}.wav", noise(0.5, seed=20 + i)[0], 16000)
    out = tmp_path / "eval"
    code = main(
        ["evaluate", str(prompts), "--model", str(fixtures_dir / "audiogen"), "--duration", "0.3",
         "--reference", str(reference), "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "mean CLAP text match" in printed and "Fréchet distance" in printed
    report = json.loads((out / "evaluation.json").read_text())
    assert [r["prompt"] for r in report["results"]] == ["dog barking", "sirens of an emergency vehicle", "footsteps"]
    assert report["reference_clips"] == 3 and np.isfinite(report["frechet_distance"])
    for row in report["results"]:
        audio, rate = sf.read(row["wav"], dtype="float32", always_2d=True)
        assert row["text_match"] == pytest.approx(reference_general.cosine(row["prompt"], audio, rate), abs=1e-5)
        assert json.loads(Path(row["wav"]).with_suffix(".json").read_text())["text_match"] == pytest.approx(
            row["text_match"], abs=1e-5
        )
    mean = np.mean([r["text_match"] for r in report["results"]])
    assert report["mean_text_match"] == pytest.approx(mean, abs=1e-9)


def test_evaluate_empty_prompts_file_is_an_error(fixtures_dir, tmp_path, capsys):
    prompts = tmp_path / "empty.txt"
    prompts.write_text("\n# nothing\n")
    assert main(["evaluate", str(prompts), "--model", str(fixtures_dir / "audiogen")]) == 2
    assert "holds no prompt" in capsys.readouterr().err

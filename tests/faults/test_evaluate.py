"""Fault class: a second `evaluate --out DIR` (say, once per model) never replaces the first run's takes and
evaluation.json unless asked: it is refused before any work, with a sentence naming --overwrite."""

from __future__ import annotations

import json

from core.cli.main import main
from tests.faults.helpers import files_in


def test_a_second_evaluate_into_the_same_folder_keeps_the_first(fixtures_dir, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("dog barking\nfootsteps\n")
    out = tmp_path / "eval"
    command = ["evaluate", str(prompts), "--model", str(fixtures_dir / "audiogen"), "--duration", "0.2"]
    assert main([*command, "--out", str(out)]) == 0
    before = {name: (out / name).read_bytes() for name in files_in(out)}
    assert len(before) == 7  # two takes of three files, and the report
    capsys.readouterr()
    assert main([*command, "--seed", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--overwrite" in err[0] and "evaluation.json" in err[0]
    assert {name: (out / name).read_bytes() for name in files_in(out)} == before  # nothing replaced
    assert main([*command, "--out", str(out), "--overwrite"]) == 0  # asked for: replaced
    assert sorted(files_in(out)) == sorted(before)
    assert (
        json.loads((out / "evaluation.json").read_text())["created"] > json.loads(before["evaluation.json"])["created"]
    )

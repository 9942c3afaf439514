"""`python main.py render`: takes exactly as `generate` writes them, skipped when complete, failures recorded."""

from __future__ import annotations

import json
import shutil

import numpy as np

from core.cli.main import main
from tests.core.render.render_helpers import read_wav, report, take_files, write_manifest


def test_takes_are_the_takes_generate_writes(fixtures_dir, reference, tmp_path, capsys):
    args = ["--model", str(fixtures_dir / "musicgen"), "--duration", "1", "--precision", "fp32", "--out", str(tmp_path)]
    # Render makes each take alone (a resumed render may need any one of them), so it is compared with takes
    # `generate` made alone; batched variations are meant to equal those too (core.engine.generate_variations).
    for seed in ("5", "6"):
        assert main(["generate", "dog barking", *args, "--seed", seed, "--top-k", "10"]) == 0
    assert main(["generate", "footsteps in a corridor", *args, "--seed", "9", "--greedy"]) == 0
    for stem in ("dog_barking_musicgen_s5", "dog_barking_musicgen_s6", "footsteps_in_a_corridor_musicgen_s9"):
        np.testing.assert_array_equal(np.load(reference / f"{stem}.codes.npy"), np.load(tmp_path / f"{stem}.codes.npy"))
        # a 1-worker render runs with generate's own thread count: the samples are the same bit for bit
        np.testing.assert_array_equal(read_wav(reference / f"{stem}.wav"), read_wav(tmp_path / f"{stem}.wav"))
        rendered, generated = (json.loads((d / f"{stem}.json").read_text()) for d in (reference, tmp_path))
        for sidecar in (rendered, generated):
            sidecar.pop("elapsed_s")
        assert rendered.pop("render_key") and rendered == generated
    assert (reference / "rain_s7.json").is_file()  # a row's name replaces the prompt words
    done = report(reference)
    assert done["counts"] == {"total": 4, "done": 4, "skipped": 0, "failed": 0, "invalid_rows": 0, "not_rendered": 0}
    assert [(e["line"], e["seed"]) for e in done["done"]] == [(1, 5), (1, 6), (2, 7), (3, 9)]


def test_a_rerun_skips_every_complete_take(manifest, reference, tmp_path, capsys):
    out = tmp_path / "again"
    shutil.copytree(reference, out)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "render-report.json"}
    assert main(["render", str(manifest), "--out", str(out)]) == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "render-report.json"} == before
    again = report(out)
    assert again["counts"]["skipped"] == 4 and again["counts"]["done"] == 0
    assert {e["reason"] for e in again["skipped"]} == {"already rendered"}
    assert "0 take(s) rendered, 4 skipped, 0 failed" in capsys.readouterr().out


def test_invalid_rows_stop_the_render_unless_skipped(fixtures_dir, tmp_path, capsys):
    rows = [
        {"prompt": "fine", "duration": 1, "seed": 1},
        {"prompt": "too short", "duration": 0},
        {"prompt": "bad k", "top_k": "many"},
    ]
    path = write_manifest(tmp_path / "m.jsonl", fixtures_dir / "musicgen", rows)
    out = tmp_path / "out"
    assert main(["render", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "invalid: m.jsonl line 2: Duration must be a positive number" in err
    assert "invalid: m.jsonl line 3:" in err and "invalid int value: 'many'" in err
    assert err.strip().splitlines()[-1].startswith("error: m.jsonl has 2 invalid row(s)")
    assert not out.exists()
    assert main(["render", str(path), "--out", str(out), "--skip-invalid"]) == 0
    assert take_files(out) == [
        "fine_musicgen_s1.codes.npy",
        "fine_musicgen_s1.json",
        "fine_musicgen_s1.wav",
        "render-report.json",
    ]
    assert [e["line"] for e in report(out)["invalid"]] == [2, 3]


def test_a_failing_row_is_recorded_and_the_others_go_on(fixtures_dir, tmp_path, capsys):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    for name in ("state_dict.bin", "compression_state_dict.bin"):
        (broken / name).write_bytes(b"not a checkpoint")
    (tmp_path / "hum.wav").write_text("not audio either")
    musicgen = str(fixtures_dir / "musicgen")
    rows = [
        {"prompt": "first", "model": str(broken), "duration": 1, "seed": 1},
        {"prompt": "second", "model": musicgen, "duration": 1, "seed": 2, "melody": "hum.wav"},
        {"prompt": "third", "model": musicgen, "duration": 1, "seed": 3},
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    assert main(["render", str(path), "--out", str(out)]) == 1
    assert take_files(out) == [
        "render-report.json",
        "third_musicgen_s3.codes.npy",
        "third_musicgen_s3.json",
        "third_musicgen_s3.wav",
    ]
    failed = {e["line"]: e["reason"] for e in report(out)["failed"]}
    assert sorted(failed) == [1, 2]
    assert "state_dict.bin" in failed[1]
    assert "hum.wav could not be read as audio" in failed[2]
    captured = capsys.readouterr()
    assert "failed: line 1 seed 1:" in captured.err
    assert "1 take(s) rendered, 0 skipped, 2 failed" in captured.out


def test_progress_is_plain_lines_off_a_terminal(fixtures_dir, tmp_path, capsys):
    path = write_manifest(
        tmp_path / "m.jsonl", fixtures_dir / "musicgen", [{"prompt": "x", "duration": 1, "variations": 2}]
    )
    assert main(["render", str(path), "--out", str(tmp_path / "out")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("render:")]
    assert lines[0] == "render: 0/2 takes"
    assert lines[1].startswith("render: 1/2 takes, ") and "takes/min" in lines[1] and lines[1].endswith(" left")
    assert lines[2].startswith("render: 2/2 takes, ")

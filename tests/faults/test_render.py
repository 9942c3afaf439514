"""Fault classes of `render` (issue 28): manifests that used to render silently wrong or hang, an output folder
two renders share or nobody may write, worker counts, and takes that must not depend on how they were rendered.

Each refusal is one `error:` line with exit status 2, before any take is rendered and without touching the folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import core.checks
from core.cli.main import main
from core.render.local import InProcessBackend, ProcessBackend
from core.render.lock import LOCK_NAME, render_lock
from core.render.manifest import read_manifest
from core.render.report import REPORT_NAME
from core.render.runner import render_manifest
from core.render.worker import default_threads
from tests.conftest import ROOT
from tests.core.render.render_helpers import write_manifest
from tests.faults.helpers import files_in

ROWS = [  # 3 takes of 0.5 s
    {"prompt": "dog barking", "duration": 0.5, "seed": 5, "variations": 2},
    {"prompt": "rain on a tin roof", "duration": 0.5, "seed": 7, "name": "rain"},
]


def _render(capsys, *args: str) -> tuple[int, str]:
    code = main(["render", *args])
    return code, capsys.readouterr().err


def _refused(capsys, *args: str) -> str:
    """Exit status 2 and one `error:` line (after an `invalid:` line per bad row); all of it returned."""
    code, err = _render(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and lines[-1].startswith("error: "), err
    assert all(line.startswith("invalid: ") for line in lines[:-1]), err
    return err.strip()


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("m.csv", "prompt,model,seed,seed\nrain,{model},1,2\n", "line 1: the column 'seed' is given twice"),
        ("m.csv", "prompt,model,top-k,top_k\nrain,{model},5,9\n", "line 1: the columns 'top-k' and 'top_k' set"),
        ("m.jsonl", '{{"prompt": "r", "model": "{model}", "seed": 1, "seed": 2}}\n', "line 1: the key 'seed' is given"),
        ("m.jsonl", '{{"prompt": "r", "model": "{model}", "top-k": 5, "top_k": 9}}\n', "keys 'top-k' and 'top_k' set"),
    ],
)
def test_a_column_or_key_given_twice_is_refused_with_its_line(fixtures_dir, tmp_path, capsys, name, text, expected):
    manifest = tmp_path / name
    manifest.write_text(text.format(model=fixtures_dir / "musicgen"))
    line = _refused(capsys, str(manifest), "--out", str(tmp_path / "out"))
    assert expected in line, line
    assert files_in(tmp_path / "out") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"rain on a tin roof,{model},1\nwind,{model},2\n', "line 2: a quoted value starts here and its closing quote"),
        ('"{long}",{model},1\n', "line 2: a value is longer than 131,072 characters"),
    ],
)
def test_a_csv_quote_left_open_or_a_huge_value_names_its_line(fixtures_dir, tmp_path, capsys, value, expected):
    manifest = tmp_path / "m.csv"
    manifest.write_text("prompt,model,seed\n" + value.format(model=fixtures_dir / "musicgen", long="x" * 200_000))
    line = _refused(capsys, str(manifest), "--out", str(tmp_path / "out"))
    assert expected in line and "model is missing" not in line, line


def test_a_row_of_a_billion_variations_is_refused_at_once(fixtures_dir, tmp_path):
    """Checked as `generate` checks it (the room the takes need), before the takes are planned one by one."""
    manifest = tmp_path / "m.jsonl"
    row = {"prompt": "rain", "model": str(fixtures_dir / "musicgen"), "seed": 1, "variations": 1_000_000_000}
    manifest.write_text(json.dumps(row) + "\n")
    command = [sys.executable, "main.py", "render", str(manifest), "--out", str(tmp_path / "out")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "MB free; these takes need about" in done.stderr, done.stderr
    assert files_in(tmp_path / "out") == []


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_zero_and_negative_workers_follow_one_rule(fixtures_dir, tmp_path, capsys, workers):
    manifest = write_manifest(tmp_path / "m.jsonl", fixtures_dir / "musicgen", ROWS[1:])
    line = _refused(capsys, str(manifest), "--out", str(tmp_path / "out"), "--workers", workers)
    assert f"--workers must be at least 1 (1 renders in this process), got {workers}." in line
    assert not (tmp_path / "out").exists()


def test_a_second_render_into_a_busy_folder_says_so_and_touches_nothing(fixtures_dir, tmp_path, capsys):
    manifest = write_manifest(tmp_path / "m.jsonl", fixtures_dir / "musicgen", ROWS[1:])
    out = tmp_path / "out"
    out.mkdir()
    (out / ".rain_s7.wav.1234abcd.part").write_bytes(b"what the running render is writing")
    with render_lock(out):  # the lock a running render holds (another process's looks the same)
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        line = _refused(capsys, str(manifest), "--out", str(out))
        assert f"Another render (process {os.getpid()}) is writing into {out}; nothing was done" in line
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main(["render", str(manifest), "--out", str(out)]) == 0  # once it is done, a render goes ahead
    assert LOCK_NAME not in files_in(out) and "rain_s7.wav" in files_in(out)


def test_a_folder_that_takes_no_files_fails_before_rendering(fixtures_dir, tmp_path, capsys, monkeypatch):
    manifest = write_manifest(tmp_path / "m.jsonl", fixtures_dir / "musicgen", ROWS[1:])
    out = tmp_path / "out"
    out.mkdir()
    real_open = os.open

    def read_only(path, flags, *args):  # a read-only folder, also for root (which chmod does not stop)
        if Path(path).parent == out and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(core.checks.os, "open", read_only)
    code, err = _render(capsys, str(manifest), "--out", str(out))
    assert code == 2 and "Permission denied" in err and "render: " not in err, err  # no take was rendered
    assert files_in(out) == []


def _identical(folder: Path, reference: Path) -> None:
    """The same takes: codes, sidecars (but for the time taken) and every sample's bits."""
    names = sorted(set(files_in(reference)) - {REPORT_NAME})
    assert sorted(set(files_in(folder)) - {REPORT_NAME}) == names and len(names) == 9
    for name in names:
        ours, theirs = folder / name, reference / name
        if name.endswith(".wav"):  # the bytes differ only in the PEAK chunk's time stamp
            a, b = (sf.read(p, dtype="float32")[0] for p in (ours, theirs))
            assert np.array_equal(a.view(np.uint32), b.view(np.uint32)), f"{name}: samples differ"
        elif name.endswith(".json"):
            a, b = (json.loads(p.read_text()) for p in (ours, theirs))
            a.pop("elapsed_s"), b.pop("elapsed_s")
            assert a == b
        else:
            assert ours.read_bytes() == theirs.read_bytes(), name


def test_takes_are_identical_with_one_thread_count_whatever_the_workers_and_after_a_resume(fixtures_dir, tmp_path):
    manifest = read_manifest(write_manifest(tmp_path / "m.jsonl", fixtures_dir / "musicgen", ROWS))
    alone = tmp_path / "alone"
    # the thread count 2 workers get by default, given to this process by hand
    assert len(render_manifest(manifest, alone, InProcessBackend(threads=default_threads(2))).done) == 3
    pooled = tmp_path / "pooled"
    assert len(render_manifest(manifest, pooled, ProcessBackend(2)).done) == 3
    _identical(pooled, alone)
    for path in pooled.glob("rain_s7.*"):  # as a killed render leaves it: one take to do, one worker started for it
        path.unlink()
    assert len(render_manifest(manifest, pooled, ProcessBackend(2)).done) == 1
    _identical(pooled, alone)

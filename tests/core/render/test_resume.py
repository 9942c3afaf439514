"""Resuming: a render killed at any moment, run again, ends with exactly the files of an uninterrupted render."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.cli.main import main
from tests.conftest import ROOT
from tests.core.render.render_helpers import assert_same_takes, report, take_files


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigkill_mid_render_then_rerun_equals_an_uninterrupted_render(manifest, reference, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "main.py", "render", str(manifest), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    for line in proc.stderr:
        workers = workers or _children(proc.pid)
        if line.startswith("render: 1/4"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers and not any(_running(pid) for pid in workers)  # the workers left with their driver
    finished = [p for p in out.glob("*.json") if p.name != "render-report.json"]
    assert 1 <= len(finished) < 4
    assert main(["render", str(manifest), "--out", str(out)]) == 0
    assert_same_takes(out, reference)
    counts = report(out)["counts"]
    assert counts["skipped"] == len(finished) and counts["done"] == 4 - len(finished)


def test_leftovers_of_a_kill_during_a_commit_are_cleaned_and_rendered_again(manifest, reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    # killed while committing: WAV and codes already linked, the sidecar still a temporary file
    (out / "dog_barking_musicgen_s6.json").rename(out / ".dog_barking_musicgen_s6.json.0badc0de.part")
    # killed while writing the temporary files: nothing committed
    for suffix in (".wav", ".codes.npy", ".json"):
        (out / f"rain_s7{suffix}").unlink()
    (out / ".rain_s7.wav.1234abcd.part").write_bytes(b"RIFF half a file")
    # killed after the sidecar was committed, before its temporary file was removed
    (out / ".footsteps_in_a_corridor_musicgen_s9.json.00ff00ff.part").write_bytes(b"{}")
    assert main(["render", str(manifest), "--out", str(out)]) == 0
    assert_same_takes(out, reference)
    assert [e["name"] for e in report(out)["done"]] == ["dog_barking_musicgen_s6", "rain_s7"]


def test_files_that_are_not_ours_are_never_replaced(manifest, reference, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "rain_s7.wav"
    mine.write_bytes(b"a recording of my own")  # no sidecar, no temporary file: someone else's
    assert main(["render", str(manifest), "--out", str(out)]) == 0
    assert mine.read_bytes() == b"a recording of my own"
    assert {"rain_s7-2.wav", "rain_s7-2.codes.npy", "rain_s7-2.json"} <= set(take_files(out))
    assert main(["render", str(manifest), "--out", str(out)]) == 0  # and a rerun finds the take under its name
    assert report(out)["counts"]["skipped"] == 4

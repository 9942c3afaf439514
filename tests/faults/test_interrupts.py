"""Fault class 1: stops. SIGINT and SIGTERM during a run keep every finished take (three whole files each) and
end with one line and exit 130 / 143; a stop while modules import is one line too; a process killed while
writing leaves a `.part` file that the next write into that folder removes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from core.takes import interrupts
from core.takes.atomic import sweep_stale_parts, write_files
from tests.conftest import ROOT
from tests.faults.helpers import files_in


def _generate(model: Path, out: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, str(ROOT / "main.py"), "generate", "rain", "--model", str(model), "--out", str(out)]
    return subprocess.Popen([*args, *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_during_a_batch_keeps_the_finished_takes(fixtures_dir, tmp_path, signum, code):
    proc = _generate(fixtures_dir / "audiogen", tmp_path, "--duration", "0.4", "--variations", "200", "--seed", "5")
    first = proc.stdout.readline().strip()  # the first take is on disk as soon as its path is printed
    assert first.endswith(".wav"), proc.stderr.read()
    proc.send_signal(signum)
    rest = proc.stdout.read()  # through the same buffer readline used: a batch prints several paths at once
    err = proc.stderr.read()
    proc.wait(timeout=120)
    printed = [first, *rest.split()]
    assert proc.returncode == code
    assert err.strip().splitlines() == [f"cancelled: {len(printed)} finished take(s) kept, the unfinished one dropped."]
    stems = sorted(Path(p).name[: -len(".wav")] for p in printed)
    expected = sorted(f"{s}{suffix}" for s in stems for suffix in (".wav", ".codes.npy", ".json"))
    assert files_in(tmp_path) == expected  # every printed take whole, nothing else (no .part, no half take)
    assert 1 <= len(stems) < 200


def _wait_until_caught(pid: int, signum: int, timeout: float = 30.0) -> None:
    """Wait until process `pid` catches `signum` (Linux: the SigCgt mask of /proc/PID/status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
        if caught >> (signum - 1) & 1:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never installed a handler for signal {signum}")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_while_modules_import_is_one_line(fixtures_dir, tmp_path, signum, code):
    proc = _generate(fixtures_dir / "audiogen", tmp_path)
    # main.py's stop handling is in place (its SIGTERM handler, installed just before the CLI's imports begin;
    # Python's own SIGINT handler exists from the start), while torch and the models import for seconds
    _wait_until_caught(proc.pid, signal.SIGTERM)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code
    assert err.strip().splitlines() == ["cancelled"] and out == ""
    assert files_in(tmp_path) == []


KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from core.takes.atomic import _write_temp
    _write_temp(Path(sys.argv[1]) / "take.wav", b"x" * 100000)
    os.kill(os.getpid(), signal.SIGKILL)  # killed between writing and committing
    """
)


def test_a_part_file_left_by_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER.format(root=str(ROOT)), str(tmp_path)], check=False)
    assert proc.returncode == -signal.SIGKILL
    (left,) = [name for name in files_in(tmp_path) if name.endswith(".part")]
    old = tmp_path / ".p45_audiogen_s1.wav.0a1b2c3d.part"  # an older version's name, without a process id
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".other.wav.{sleeper.pid}.00ff00ff.part"  # a live writer's: never touched
        live.write_bytes(b"x")
        write_files([(tmp_path / "next.wav", b"data")])
        assert files_in(tmp_path) == sorted([live.name, "next.wav"])
        assert sweep_stale_parts(tmp_path) == []
    finally:
        sleeper.kill()
        sleeper.wait()
    assert left not in files_in(tmp_path)


def test_a_signal_during_a_commit_waits_for_the_commit(tmp_path):
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    interrupts.install()
    try:
        with pytest.raises(interrupts.Interrupted) as caught:
            with interrupts.shielded():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                write_files([(tmp_path / "a.bin", np.arange(10).tobytes())])  # still runs: the stop is held
        assert caught.value.exit_code == 143 and (tmp_path / "a.bin").read_bytes() == np.arange(10).tobytes()
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def test_long_work_states_its_estimate_before_starting(fixtures_dir, tmp_path):
    proc = _generate(fixtures_dir / "musicgen", tmp_path, "--duration", "600")  # 30 000 frames, 33 windows
    note = proc.stderr.readline().strip()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert note.startswith("note: 1 take(s): about 30") and "decoding steps, roughly" in note, note
    assert "MB of working memory" in note and "MB on disk" in note
    assert proc.returncode == 130 and err.strip().splitlines() == [
        "cancelled: 0 finished take(s) kept, the unfinished one dropped."
    ]
    assert files_in(tmp_path) == []

"""Local worker processes: a worker that dies mid-take fails only that take; a replacement renders the rest."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from core.render.local import ProcessBackend
from core.render.manifest import read_manifest
from core.render.runner import render_manifest
from tests.core.render.render_helpers import assert_same_takes


def _worker_pids() -> list[int]:
    """This process's multiprocessing workers (not its resource tracker)."""
    children: list[str] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():  # every thread's children: a render may run in one
        try:
            children += (task / "children").read_text().split()
        except OSError:
            continue
    pids = []
    for child in children:
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                pids.append(int(child))
        except OSError:  # gone meanwhile
            continue
    return pids


def test_a_killed_worker_fails_its_take_and_the_others_are_rendered(manifest, reference, tmp_path):
    out = tmp_path / "out"
    killed: list[int] = []

    def kill_a_worker(state) -> None:
        if state.done == 1 and not killed:
            pid = _worker_pids()[0]
            os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
            killed.append(pid)

    result = render_manifest(read_manifest(manifest), out, ProcessBackend(2), kill_a_worker)
    assert killed
    assert len(result.done) + len(result.failed) == 4 and len(result.done) >= 3
    assert all("worker process rendering it stopped (exit code -9" in e["reason"] for e in result.failed), result.failed
    for entry in result.failed:  # the failed take left nothing behind; a rerun renders it
        assert not list(out.glob(f"{entry['name']}.*")) and not list(out.glob(f".{entry['name']}.*"))
    result = render_manifest(read_manifest(manifest), out, ProcessBackend(2))
    assert len(result.skipped) == 4 - len(result.done)
    assert_same_takes(out, reference)
    assert not _worker_pids()


def test_a_worker_killed_at_any_moment_never_stalls_the_render(manifest, tmp_path):
    """Killed while it starts up or waits for its job (a shared queue's lock would stay taken forever then): the
    render still ends, every take either rendered or failed with its worker's exit code."""
    out = tmp_path / "out"
    results: list = []
    render = threading.Thread(
        target=lambda: results.append(render_manifest(read_manifest(manifest), out, ProcessBackend(2))), daemon=True
    )
    render.start()
    deadline = time.monotonic() + 60
    while not _worker_pids() and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(_worker_pids()[0], signal.SIGKILL)  # as early as it can be seen: still importing, or just handed a job
    render.join(timeout=300)
    assert not render.is_alive(), "the render stalled after a worker was killed"
    (result,) = results
    assert len(result.done) + len(result.failed) == 4 and len(result.done) >= 3
    assert all("worker process rendering it stopped (exit code -9" in e["reason"] for e in result.failed)
    assert not _worker_pids()

"""Worker and job queue: signals reach the GUI thread, cancel stops at the next step, one job at a time."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from core.cancel import CancelToken, check_cancel
from core.errors import CheckpointError
from desktop.jobs.queue import Job, JobQueue

pytestmark = pytest.mark.usefixtures("no_dangling_threads")


def stepping_task(steps: int, delay: float = 0.005, result: object = "done"):
    """A task shaped like core's loops: report after each step, check the token once per step."""
    seen: dict = {}

    def task(report, cancel: CancelToken):
        seen["thread"] = threading.current_thread()
        for step in range(1, steps + 1):
            check_cancel(cancel)
            time.sleep(delay)
            report("generate", step, steps)
            seen["last_step"] = step
        return result

    return task, seen


def test_finished_carries_result_and_progress_reaches_total(qtbot):
    queue = JobQueue()
    task, seen = stepping_task(20)
    steps = []
    queue.progress.connect(lambda job, stage, step, total: steps.append((stage, step, total)))
    with qtbot.waitSignal(queue.idle, timeout=5000):
        with qtbot.waitSignal(queue.finished, timeout=5000) as blocker:
            job = queue.submit(Job("twenty steps", task))
    assert blocker.args == [job, "done"]
    assert seen["thread"] is not threading.main_thread()
    assert steps[0] == ("generate", 1, 20) and steps[-1] == ("generate", 20, 20)
    assert not queue.busy


def test_cancel_stops_within_one_step(qtbot):
    queue = JobQueue()
    task, seen = stepping_task(1000, delay=0.01)
    job = Job("long", task)
    queue.progress.connect(lambda j, stage, step, total: queue.cancel_current() if step >= 3 else None)
    finished = []
    queue.finished.connect(lambda *a: finished.append(a))
    with qtbot.waitSignal(queue.idle, timeout=5000):
        with qtbot.waitSignal(queue.cancelled, timeout=5000) as blocker:
            queue.submit(job)
    assert blocker.args == [job]
    assert finished == []
    # The token is checked before every step, and the GUI thread saw step 3 while step <= 5 was running.
    assert 3 <= seen["last_step"] <= 6


def test_failure_becomes_one_message(qtbot):
    queue = JobQueue()

    def broken(report, cancel):
        raise CheckpointError("The folder /x holds no state_dict.bin.")

    def buggy(report, cancel):
        return 1 / 0

    messages = []
    queue.failed.connect(lambda job, message: messages.append((job.title, message)))
    with qtbot.waitSignal(queue.idle, timeout=5000):
        queue.submit(Job("broken", broken))
        queue.submit(Job("buggy", buggy))
    assert messages[0] == ("broken", "The folder /x holds no state_dict.bin.")
    assert messages[1][0] == "buggy" and messages[1][1].startswith("Unexpected error (ZeroDivisionError")


def test_jobs_run_one_at_a_time_in_order(qtbot):
    queue = JobQueue()
    running = []
    overlap = []
    lock = threading.Lock()

    def make(name):
        def task(report, cancel):
            with lock:
                if running:
                    overlap.append(name)
                running.append(name)
            time.sleep(0.02)
            with lock:
                running.remove(name)
            return name

        return task

    results = []
    queue.finished.connect(lambda job, result: results.append(result))
    with qtbot.waitSignal(queue.idle, timeout=5000):
        queue.submit(Job("a", make("a")))
        queue.submit(Job("b", make("b")))
        dropped = queue.submit(Job("c", make("c")))
        assert [j.title for j in queue.pending] == ["b", "c"] and queue.current.title == "a"
        assert queue.remove(dropped)
    assert results == ["a", "b"] and overlap == []


def test_shutdown_cancels_and_waits(qtbot, no_dangling_threads):
    queue = JobQueue()
    task, seen = stepping_task(10_000, delay=0.01)
    with qtbot.waitSignal(queue.progress, timeout=5000):
        queue.submit(Job("endless", task))
        queue.submit(Job("never started", stepping_task(1)[0]))
    assert queue.shutdown(5000)
    assert all(not t.isRunning() for t in no_dangling_threads if isinstance(t, QThread))
    assert len(no_dangling_threads) == 1
    assert seen["last_step"] < 10_000

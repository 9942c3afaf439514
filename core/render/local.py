"""Local backends: render in this process, or in N worker processes, each handed one job at a time.

Each worker process (multiprocessing "spawn": no inherited torch state) keeps its own Engine, so it loads
each model once. Every take of a render runs with the same torch thread count (`threads`, by default this
process's threads shared among the workers; see worker.default_threads), so a take does not depend on which
worker made it or on how many takes were left when a render was resumed.
Workers ignore Ctrl+C (the driver stops them) and exit when the driver dies (even by SIGKILL). Each has its
own pipe to the driver: the driver sends it a job and gets its outcome back, then sends the next. So the driver
always knows which take a worker holds, and a worker killed at any moment (the out-of-memory killer) breaks
only its own pipe: never a lock that the others share, as a shared queue's would. Its take fails with the
reason and a replacement takes its place.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import threading
from collections import deque

from core.cancel import CancelToken, check_cancel
from core.errors import GenerationCancelled
from core.render.backend import Deliver
from core.render.plan import TakeJob
from core.render.worker import TakeFailure, TakeRenderer, TakeResult, default_threads, take_threads, threads_label

POLL_S = 0.2
TakeOutcome = TakeResult | TakeFailure
MAX_RESTARTS = 4  # replacement workers per render, so a take that kills its worker cannot loop forever
STOP_WAIT_S = 10.0


class InProcessBackend:
    """One worker: this process, with the caller's Engine if given (the window keeps its loaded models)."""

    def __init__(self, device: str = "cpu", engine=None, threads: int | None = None) -> None:
        self.device, self.threads = device, threads or default_threads(1)
        self.name = f"this process, {threads_label(self.threads)}"
        self.renderer = TakeRenderer(device, engine, name="main")

    def run(self, jobs: list[TakeJob], deliver: Deliver, cancel: CancelToken | None) -> None:
        with take_threads(self.threads):
            for job in jobs:
                check_cancel(cancel)
                deliver(self.renderer.render(job, cancel=cancel))


class _EventToken(CancelToken):
    """A CancelToken over a multiprocessing Event, so the driver cancels every worker at once."""

    def __init__(self, event) -> None:
        self._event = event


class ProcessBackend:
    """`workers` spawned processes, each handed one job at a time; outcomes come back to the driver's thread."""

    def __init__(self, workers: int, device: str = "cpu", threads: int | None = None) -> None:
        self.workers, self.device, self.threads = workers, device, threads or default_threads(workers)
        self.name = f"{workers} local worker processes, {threads_label(self.threads)}"

    def run(self, jobs: list[TakeJob], deliver: Deliver, cancel: CancelToken | None) -> None:
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        count = min(self.workers, len(jobs))
        pool = _Pool(ctx, deque(jobs), (stop, self.device, self.threads))
        try:
            for index in range(count):
                pool.start(index)
            while pool.busy():
                check_cancel(cancel)
                for outcome in pool.poll(POLL_S):
                    deliver(outcome)
        finally:
            stop.set()
            pool.stop()


class _Pool:
    """The worker processes by index, their pipes, the job each holds, and replacement of those that die."""

    def __init__(self, ctx, pending: deque[TakeJob], args: tuple) -> None:
        self.ctx, self.pending, self.args = ctx, pending, args
        self.procs: dict[int, mp.process.BaseProcess] = {}
        self.conns: dict[int, multiprocessing.connection.Connection] = {}
        self.in_flight: dict[int, TakeJob] = {}
        self.restarts = 0

    def start(self, index: int) -> None:
        """Start worker `index` and hand it the next job (a worker with nothing to do is not started)."""
        if not self.pending:
            return
        driver_end, worker_end = self.ctx.Pipe()
        proc = self.ctx.Process(
            target=worker_main, args=(index, worker_end, *self.args), name=f"sounddesk-render-{index}", daemon=True
        )
        proc.start()
        worker_end.close()
        self.procs[index], self.conns[index] = proc, driver_end
        self._hand_next(index)

    def busy(self) -> bool:
        """Takes still held by a worker, or waiting (one handed to a worker that had just died goes back there)."""
        return bool(self.in_flight or self.pending)

    def poll(self, timeout: float) -> list[TakeOutcome]:
        """Outcomes that arrived within `timeout`, and failures of workers that died; idle workers get new jobs."""
        outcomes: list[TakeOutcome] = []
        ready = multiprocessing.connection.wait(list(self.conns.values()), timeout)
        for index, conn in list(self.conns.items()):
            if conn not in ready:
                continue
            try:
                outcome = conn.recv()
            except (EOFError, OSError):  # it died: its sentinel says so below
                continue
            self.in_flight.pop(index, None)
            outcomes.append(outcome)
            self._hand_next(index)
        return outcomes + self._reap()

    def _hand_next(self, index: int) -> None:
        job = self.pending.popleft() if self.pending else None
        try:
            self.conns[index].send(job)  # None: no more jobs, the worker exits
        except (BrokenPipeError, OSError):  # it died already: the job goes back for the replacement
            if job is not None:
                self.pending.appendleft(job)
            return
        if job is not None:
            self.in_flight[index] = job

    def _reap(self) -> list[TakeOutcome]:
        """Workers that died: the take each held fails with the reason, and a replacement takes the next one."""
        failures: list[TakeOutcome] = []
        for index, proc in list(self.procs.items()):
            if proc.is_alive():
                continue
            job = self.in_flight.pop(index, None)
            if job is not None and proc.exitcode != 0:
                failures.append(TakeFailure(job.id, self._stopped(proc.exitcode)))
            elif job is not None:  # it exited cleanly holding a job (a cancel): nothing to report
                self.pending.appendleft(job)
            self.conns.pop(index).close()
            del self.procs[index]
            if self.restarts < MAX_RESTARTS and self.pending:
                self.restarts += 1
                self.start(index)
        if not self.procs and self.pending:  # every replacement died too
            while self.pending:
                failures.append(
                    TakeFailure(self.pending.popleft().id, "No render worker process was left to render it.")
                )
        return failures

    @staticmethod
    def _stopped(code: int | None) -> str:
        return f"The worker process rendering it stopped (exit code {code}; out of memory?)."

    def stop(self) -> None:
        for conn in self.conns.values():
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for proc in self.procs.values():
            proc.join(STOP_WAIT_S)
        for proc in self.procs.values():
            if proc.is_alive():  # stuck in a step that ignores the cancel flag (a checkpoint read)
                proc.terminate()
                proc.join()
        for conn in self.conns.values():
            conn.close()


def worker_main(index: int, conn, stop, device: str, threads: int) -> None:
    """A worker process: render the jobs the driver hands it until it sends None or cancels; one Engine."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    with take_threads(threads):
        _serve(index, conn, stop, device)


def _serve(index: int, conn, stop, device: str) -> None:
    renderer = TakeRenderer(device, name=f"worker {index}")
    cancel = _EventToken(stop)
    while not stop.is_set():
        try:
            job = conn.recv()
        except EOFError:  # the driver is gone
            break
        if job is None:
            break
        try:
            outcome = renderer.render(job, cancel=cancel)
        except GenerationCancelled:
            break
        conn.send(outcome)


def _exit_with_parent() -> None:
    """End this worker as soon as the driver is gone (killed included): nothing would collect its takes."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()

"""Local backends: render in this process, or in N worker processes that take jobs from one shared queue.

Each worker process (multiprocessing "spawn": no inherited torch state) keeps its own Engine, so it loads
each model once, and runs torch with `cpus // N` threads so that N workers never oversubscribe the cores.
Workers ignore Ctrl+C (the driver stops them), exit when the driver dies (even by SIGKILL), and report
"start" / "outcome" / "exit" messages; a worker that dies mid-take fails that take and is replaced.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import queue
import signal
import threading

from core.cancel import CancelToken, check_cancel
from core.errors import GenerationCancelled
from core.render.backend import Deliver
from core.render.plan import TakeJob
from core.render.worker import TakeFailure, TakeRenderer, share_cpus

POLL_S = 0.2
MAX_RESTARTS = 4  # replacement workers per render, so a take that kills its worker cannot loop forever
STOP_WAIT_S = 10.0


class InProcessBackend:
    """One worker: this process, with the caller's Engine if given (the window keeps its loaded models)."""

    name = "this process"

    def __init__(self, device: str = "cpu", engine=None) -> None:
        self.device = device
        self.renderer = TakeRenderer(device, engine, name="main")

    def run(self, jobs: list[TakeJob], deliver: Deliver, cancel: CancelToken | None) -> None:
        for job in jobs:
            check_cancel(cancel)
            deliver(self.renderer.render(job, cancel=cancel))


class _EventToken(CancelToken):
    """A CancelToken over a multiprocessing Event, so the driver cancels every worker at once."""

    def __init__(self, event) -> None:
        self._event = event


class ProcessBackend:
    """`workers` spawned processes sharing one job queue; outcomes come back to the driver's thread."""

    def __init__(self, workers: int, device: str = "cpu") -> None:
        self.workers, self.device = workers, device
        self.name = f"{workers} local worker processes"

    def run(self, jobs: list[TakeJob], deliver: Deliver, cancel: CancelToken | None) -> None:
        ctx = mp.get_context("spawn")
        tasks, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
        count = min(self.workers, len(jobs))
        for job in jobs:
            tasks.put(job)
        for _ in range(count):
            tasks.put(None)  # one "no more jobs" per worker; a replacement inherits the one its predecessor left
        pool = _Pool(ctx, (tasks, results, stop, self.device, share_cpus(count)))
        try:
            for index in range(count):
                pool.start(index)
            self._collect(pool, {job.id for job in jobs}, results, deliver, cancel)
        finally:
            stop.set()
            pool.stop()

    @staticmethod
    def _collect(pool: _Pool, remaining: set[int], results, deliver: Deliver, cancel: CancelToken | None) -> None:
        while remaining:
            check_cancel(cancel)
            try:
                kind, index, payload = results.get(timeout=POLL_S)
            except queue.Empty:
                for job_id, reason in pool.reap():
                    remaining.discard(job_id)
                    deliver(TakeFailure(job_id, reason))
                if remaining and not pool.alive():  # every worker is gone: these takes were never reported
                    for job_id in sorted(remaining):
                        deliver(TakeFailure(job_id, pool.why_lost()))
                    return
                continue
            if kind == "start":
                pool.in_flight[index] = payload
            elif kind == "outcome":
                pool.in_flight.pop(index, None)
                remaining.discard(payload.job_id)
                deliver(payload)
            elif kind == "exit":
                pool.exited.add(index)


class _Pool:
    """The worker processes by index, what each is rendering, and replacement of those that die."""

    def __init__(self, ctx, args: tuple) -> None:
        self.ctx, self.args = ctx, args
        self.procs: dict[int, mp.process.BaseProcess] = {}
        self.in_flight: dict[int, int] = {}
        self.exited: set[int] = set()
        self.restarts = 0
        self.last_exit_code: int | None = None  # of the last worker that died without saying goodbye

    def start(self, index: int) -> None:
        proc = self.ctx.Process(target=worker_main, args=(index, *self.args), name=f"sounddesk-render-{index}")
        proc.daemon = True
        proc.start()
        self.procs[index] = proc

    def alive(self) -> bool:
        return any(proc.is_alive() for proc in self.procs.values())

    def reap(self) -> list[tuple[int, str]]:
        """Workers that died without saying goodbye: their take fails, a replacement takes their place."""
        failures = []
        for index, proc in list(self.procs.items()):
            if proc.is_alive() or index in self.exited:
                continue
            job_id = self.in_flight.pop(index, None)
            self.last_exit_code = proc.exitcode
            if job_id is not None:
                failures.append((job_id, self._stopped(proc.exitcode)))
            del self.procs[index]
            if self.restarts < MAX_RESTARTS:
                self.restarts += 1
                self.start(index)
        return failures

    def why_lost(self) -> str:
        """Why a take no worker reported is failed: a worker that died between taking it and saying so (it took
        the take from the queue, then was killed before its "start" message), or no worker left at all."""
        if self.last_exit_code is None:
            return "No render worker process was left to render it."
        return self._stopped(self.last_exit_code) + " It stopped before it said which take it was rendering."

    @staticmethod
    def _stopped(code: int | None) -> str:
        return f"The worker process rendering it stopped (exit code {code}; out of memory?)."

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.join(STOP_WAIT_S)
        for proc in self.procs.values():
            if proc.is_alive():  # stuck in a step that ignores the cancel flag (a checkpoint read)
                proc.terminate()
                proc.join()


def worker_main(index: int, tasks, results, stop, device: str, threads: int) -> None:
    """A worker process: take jobs until the "no more" marker or a cancel; one Engine for all of them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    import torch

    torch.set_num_threads(threads)
    renderer = TakeRenderer(device, name=f"worker {index}")
    cancel = _EventToken(stop)
    while not stop.is_set():
        job = tasks.get()
        if job is None:
            break
        results.put(("start", index, job.id))
        try:
            outcome = renderer.render(job, cancel=cancel)
        except GenerationCancelled:
            break
        results.put(("outcome", index, outcome))
    results.put(("exit", index, None))


def _exit_with_parent() -> None:
    """End this worker as soon as the driver is gone (killed included): nothing would collect its takes."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()

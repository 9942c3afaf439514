"""Ray backend: one actor per model per node keeps its model loaded; takes come back to the driver as bytes.

`--cluster ray` joins the Ray cluster this machine belongs to (started with `ray start`) or starts a local
one; `ray://HOST:PORT` connects through Ray Client; `auto` needs a running cluster. An actor on a node gets
that node's CPUs divided among the models rendered there, and as many torch threads. The driver keeps up to
`IN_FLIGHT` takes queued per actor; when an actor or its node is lost, its takes go back to the front of the
queue for the other actors of that model, and a replacement actor is started (on the same node if it is
still there). A take that loses its actor `MAX_ATTEMPTS` times fails with a reason; nothing is written by
the actors, so the output folder need only exist where the driver runs.
"""

from __future__ import annotations

import logging
import math
import socket
import sys
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field

from core.cancel import CancelToken, check_cancel
from core.errors import InvalidParameterError, SoundDeskError
from core.render.backend import Deliver
from core.render.plan import TakeJob
from core.render.worker import TakeFailure, TakeRenderer

IN_FLIGHT = 2
MAX_ATTEMPTS = 3
MAX_REPLACEMENTS = 8
POLL_S = 0.5
ACTOR_PREFIX = "sounddesk-render"


class ClusterError(SoundDeskError):
    """Ray is missing, or the cluster cannot be reached."""


def _ray():
    try:
        import ray
    except ImportError as exc:
        if getattr(sys, "frozen", False):  # the built app leaves Ray out (packaging/sounddesk.spec)
            raise ClusterError(
                "The SoundDesk app does not include Ray: render on a cluster from a Python install of SoundDesk "
                "with its cluster extra (pip install -e '.[cluster]'), or drop --cluster to render on this computer."
            ) from exc
        raise ClusterError("Rendering on Ray needs Ray: pip install -e '.[cluster]' (the cluster extra).") from exc
    return ray


def connect(cluster: str) -> bool:
    """Join or start Ray for `cluster`; True when this call started (so must stop) it."""
    ray = _ray()
    if ray.is_initialized():
        return False
    if cluster == "ray":
        address = None  # RAY_ADDRESS, else the cluster `ray start` made on this machine, else a new local one
    elif cluster == "auto" or cluster.startswith("ray://"):
        address = cluster
    else:
        raise InvalidParameterError(f"--cluster takes ray, ray://HOST:PORT or auto, got {cluster!r}.")
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        raise ClusterError(f"Cannot reach the Ray cluster at {cluster}: {exc}") from exc
    return True


class RenderActor:
    """A Ray actor: one model family member's Engine on one node, rendering one take at a time."""

    def __init__(self, device: str, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.renderer = TakeRenderer(device, name=f"actor on {socket.gethostname()}")

    def render(self, job: TakeJob):
        return self.renderer.render(job)


@dataclass(eq=False)
class _Slot:
    model: str
    node: str
    handle: object
    share: float
    threads: int
    running: int = 0
    lost: bool = False


@dataclass
class _State:
    queues: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    attempts: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    pending: dict = field(default_factory=dict)  # ObjectRef -> (slot, job)
    slots: list[_Slot] = field(default_factory=list)
    replacements: int = 0


class RayBackend:
    def __init__(self, cluster: str = "ray", device: str = "cpu") -> None:
        self.cluster, self.device = cluster, device
        self.name = f"Ray ({cluster})"
        self.run_id = uuid.uuid4().hex[:8]

    def run(self, jobs: list[TakeJob], deliver: Deliver, cancel: CancelToken | None) -> None:
        ray = _ray()
        started = connect(self.cluster)
        self._actor_class = ray.remote(RenderActor)
        state = _State()
        try:
            for job in jobs:
                state.queues[job.model].append(job)
            self._start_actors(ray, state, list(state.queues))
            self._loop(ray, state, deliver, cancel)
        finally:
            for slot in state.slots:
                ray.kill(slot.handle, no_restart=True)
            if started:
                ray.shutdown()

    def _start_actors(self, ray, state: _State, models: list[str]) -> None:
        nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
        if not nodes:
            raise ClusterError("The Ray cluster has no live node with CPUs to render on.")
        for node in nodes:
            cpus = float(node["Resources"]["CPU"])
            share = cpus / len(models)
            for model in models:
                self._spawn(state, model, node["NodeID"], share, max(1, math.floor(share)), soft=False)

    def _spawn(self, state: _State, model: str, node: str, share: float, threads: int, soft: bool) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        actor = self._actor_class.options(
            name=f"{ACTOR_PREFIX}-{self.run_id}-{len(state.slots)}",
            num_cpus=share,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=soft),
        )
        state.slots.append(_Slot(model, node, actor.remote(self.device, threads), share, threads))

    def _loop(self, ray, state: _State, deliver: Deliver, cancel: CancelToken | None) -> None:
        while state.pending or any(state.queues.values()):
            check_cancel(cancel)
            self._dispatch(state)
            if not state.pending:
                continue
            ready, _ = ray.wait(list(state.pending), num_returns=1, timeout=POLL_S)
            for ref in ready:
                slot, job = state.pending.pop(ref)
                slot.running -= 1
                self._collect(ray, state, slot, job, ref, deliver)

    def _dispatch(self, state: _State) -> None:
        for slot in state.slots:
            queue = state.queues[slot.model]
            while not slot.lost and queue and slot.running < IN_FLIGHT:
                job = queue.popleft()
                state.pending[slot.handle.render.remote(job)] = (slot, job)
                slot.running += 1
        for model, queue in state.queues.items():  # a model whose every actor is gone and cannot be replaced
            if queue and not any(s.model == model and not s.lost for s in state.slots):
                raise ClusterError(f"Every Ray actor for {model} was lost and no replacement could be started.")

    def _collect(self, ray, state: _State, slot: _Slot, job: TakeJob, ref, deliver: Deliver) -> None:
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # raised inside render(): a bug, not a lost actor
            deliver(TakeFailure(job.id, f"Unexpected error on the cluster: {exc.cause!r}."))
            return
        except ray.exceptions.RayError as exc:  # the actor, its worker process or its node is gone
            self._lost(ray, state, slot, job, exc, deliver)
            return
        deliver(outcome)

    def _lost(self, ray, state: _State, slot: _Slot, job: TakeJob, exc: Exception, deliver: Deliver) -> None:
        state.attempts[job.id] += 1
        if state.attempts[job.id] >= MAX_ATTEMPTS:
            deliver(TakeFailure(job.id, f"Its Ray actor was lost {MAX_ATTEMPTS} times; the last time: {_why(exc)}"))
        else:
            state.queues[job.model].appendleft(job)
        if not slot.lost:
            slot.lost = True
            if state.replacements < MAX_REPLACEMENTS:
                state.replacements += 1
                self._spawn(state, slot.model, slot.node, slot.share, slot.threads, soft=True)


def _why(exc: Exception) -> str:
    """The last line of a Ray error (where the cause is: "ModuleNotFoundError: ...", "The node ... died")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"

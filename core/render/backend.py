"""What a render backend is: something that renders take jobs and hands each outcome back to the driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from core.cancel import CancelToken
from core.render.plan import TakeJob
from core.render.worker import Outcome

Deliver = Callable[[Outcome], None]
"""`deliver(outcome)`: called on the driver's thread once per job (a TakeResult or a TakeFailure)."""


class Backend(Protocol):
    """Renders jobs somewhere (this process, worker processes, a Ray cluster) and delivers every outcome."""

    name: str

    def run(self, jobs: list[TakeJob], deliver: Deliver, cancel: CancelToken | None) -> None: ...

"""A cancel token checked once per decoding step, and the progress callback type."""

from __future__ import annotations

import threading
from collections.abc import Callable

from core.errors import GenerationCancelled

Progress = Callable[[int, int], None]
"""`progress(step, total)`: called after each unit of slow work."""


class CancelToken:
    """Thread-safe flag: `cancel()` from any thread, `check()` in the loop raises GenerationCancelled."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise GenerationCancelled("generation was cancelled")


def check_cancel(token: CancelToken | None) -> None:
    """Raise GenerationCancelled if `token` is set; a None token never cancels."""
    if token is not None:
        token.check()


def report(progress: Progress | None, step: int, total: int) -> None:
    """Call `progress(step, total)` if a callback was given."""
    if progress is not None:
        progress(step, total)

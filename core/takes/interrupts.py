"""SIGINT and SIGTERM as a clean stop: one exception type, an exit code per signal, and shielded writes.

`install()` makes both signals raise `Interrupted` in the main thread, where a caller's `except` turns it into
one line and exit 130 (SIGINT) or 143 (SIGTERM). Code that must not be cut in half (committing a take's three
files, a history row) runs inside `shielded()`: a signal arriving there is held back and raised when the block
ends, so a stop never leaves half a group behind.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_state = threading.local()
_pending: list[int] = []


class Interrupted(KeyboardInterrupt):
    """The user (SIGINT) or the system (SIGTERM) asked the process to stop."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        """128 + the signal number: 130 for SIGINT, 143 for SIGTERM (the shell's convention)."""
        return 128 + self.signum


def exit_code(exc: BaseException) -> int:
    """The exit status for a stop: the signal's for `Interrupted`, else 130 (a plain KeyboardInterrupt)."""
    return exc.exit_code if isinstance(exc, Interrupted) else 130


def _handler(signum: int, _frame: object) -> None:
    if getattr(_state, "depth", 0) > 0:
        _pending.append(signum)
        return
    raise Interrupted(signum)


def install() -> None:
    """Route SIGINT and SIGTERM to `Interrupted` (only possible from the main thread; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)


@contextmanager
def shielded() -> Iterator[None]:
    """Hold SIGINT / SIGTERM back while the block runs; raise `Interrupted` after it if one arrived."""
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1
    if _state.depth == 0 and _pending and threading.current_thread() is threading.main_thread():
        signum = _pending[0]
        _pending.clear()
        raise Interrupted(signum)

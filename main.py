"""Entry point: `python main.py` opens the window; `python main.py COMMAND ...` runs headless."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] == "gui":
        from desktop.app import run

        return run(args[1:])
    signal.signal(signal.SIGTERM, _stop)  # until core.takes.interrupts takes over: a stop while modules import
    try:
        from core.cli.main import main as cli_main

        return cli_main(args)
    except KeyboardInterrupt as exc:  # SIGINT / SIGTERM before the CLI's own handlers were installed
        print("cancelled", file=sys.stderr)
        signum = exc.args[0] if exc.args and isinstance(exc.args[0], int) else signal.SIGINT
        return 128 + int(signum)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # the built app: a render worker process is this executable, started again
    sys.exit(main())

"""The headless command line: one argparse parser whose subcommands live in their own modules."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from core.errors import GenerationCancelled, SoundDeskError
from core.takes import interrupts

# Each module defines `register(subparsers)`, adding its parser with `set_defaults(run=callable)`;
# `run(args) -> int` returns the exit code.
COMMAND_MODULES = (
    "core.cli.generate",
    "core.cli.export",
    "core.cli.separate",
    "core.cli.explain",
    "core.cli.loop",
    "core.cli.rank",
    "core.cli.search",
    "core.cli.evaluate",
    "core.cli.render",
    "core.cli.verify",
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def progress_printer(verbose: bool):
    """A `progress(step, total)` that shows `step/total` on stderr when `verbose`, else None."""
    if not verbose:
        return None

    def show(step: int, total: int) -> None:
        print(f"\r{step}/{total}", end="" if step < total else "\n", file=sys.stderr, flush=True)

    return show


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sounddesk", description="SoundDesk: text-to-sound and text-to-music, offline.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    interrupts.install()  # SIGINT / SIGTERM: a clean stop with one line and exit 130 / 143
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
        return int(args.run(args) or 0)
    except SoundDeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (GenerationCancelled, KeyboardInterrupt) as exc:
        print("cancelled", file=sys.stderr)
        return interrupts.exit_code(exc)

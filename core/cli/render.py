"""`render`: a manifest of prompts -> takes in a folder, resumable, on local worker processes or a Ray cluster."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from core.errors import InvalidParameterError
from core.render.report import RenderProgress

BAR_WIDTH = 24


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render",
        help="render every take of a manifest (CSV or JSONL) into a folder; a rerun finishes an interrupted render",
        description="Render a manifest: one row per prompt with prompt, model and any generate option "
        "(duration, variations, seed, top-k, cfg, ...) plus an optional name. Takes already complete in the "
        "folder are skipped; DIR/render-report.json lists what was done, skipped and failed.",
    )
    p.add_argument("manifest", metavar="MANIFEST", help="a .csv or .jsonl file, one row per prompt")
    p.add_argument("--out", required=True, metavar="DIR", help="folder the takes and render-report.json go to")
    p.add_argument(
        "--workers", type=int, help="local worker processes, at least 1 (default 1: this process, no worker process)"
    )
    p.add_argument(
        "--threads",
        type=int,
        help="torch threads per take (default: this machine's threads divided by --workers); takes made with the "
        "same count are identical bit for bit, so give the same value to resume or repeat a render elsewhere",
    )
    p.add_argument(
        "--cluster",
        metavar="ray|ray://HOST:PORT|auto",
        help="render on Ray: 'ray' joins this machine's cluster or starts a local one, 'ray://HOST:PORT' connects "
        "to a remote head, 'auto' to the running cluster (needs the cluster extra: pip install -e '.[cluster]')",
    )
    p.add_argument("--skip-invalid", action="store_true", help="render the valid rows when some are invalid")
    p.add_argument("--device", default="cpu", help="torch device of the workers, e.g. cpu or cuda")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.render.manifest import read_manifest
    from core.render.runner import invalid_rows_error, make_backend, render_manifest

    if args.cluster and (args.workers is not None or args.threads is not None):
        raise InvalidParameterError(
            "--workers and --threads are for local rendering; on a Ray cluster each node runs one worker per model."
        )
    manifest = read_manifest(args.manifest)
    for error in manifest.errors:
        print(f"{'skipped' if args.skip_invalid else 'invalid'}: {manifest.path.name} {error}", file=sys.stderr)
    if manifest.errors and not args.skip_invalid:
        raise invalid_rows_error(manifest)
    backend = make_backend(1 if args.workers is None else args.workers, args.cluster, args.device, threads=args.threads)
    printer = ProgressPrinter(sys.stderr)
    try:
        report = render_manifest(manifest, args.out, backend, printer, skip_invalid=True)
    finally:
        printer.close()
    for entry in report.failed:
        print(f"failed: line {entry['line']} seed {entry['seed']}: {entry['reason']}", file=sys.stderr)
    print(report.summary())
    return 1 if report.failed else 0


class ProgressPrinter:
    """A bar redrawn in place on a terminal; on a pipe or log file, one plain line per finished take."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last: tuple[int, int] | None = None

    def __call__(self, state: RenderProgress) -> None:
        mark = (state.finished, state.total)
        if mark == self._last:
            return
        self._last = mark
        if self.tty:
            print(f"\r\x1b[K{describe(state, bar=True)}", end="", file=self.stream, flush=True)
        else:
            print(describe(state), file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty and self._last is not None:
            print(file=self.stream, flush=True)


def describe(state: RenderProgress, bar: bool = False) -> str:
    """`12/40 takes (3 skipped, 1 failed), 2.4 takes/min, 11 min 40 s left`, after a bar on a terminal."""
    text = f"{state.finished}/{state.total} takes"
    extras = [f"{n} {what}" for n, what in ((state.skipped, "skipped"), (state.failed, "failed")) if n]
    if extras:
        text += f" ({', '.join(extras)})"
    rate, eta = state.rate_per_min, state.eta_s
    if rate is not None and eta is not None:
        text += f", {rate:.1f} takes/min, {_duration(eta)} left"
    if bar:
        filled = round(BAR_WIDTH * state.finished / state.total) if state.total else BAR_WIDTH
        text = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {text}"
    return f"render: {text}"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"

"""`search`: rank a library's takes by sound, for a text query or like a given take; prints `score<TAB>path`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.main import progress_printer
from core.cli.rank import add_clap_argument, sidecar_of
from core.errors import InvalidParameterError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="find takes in a library by what they sound like (CLAP)")
    p.add_argument("query", nargs="?", default="", help="what the sound should be like, in words")
    p.add_argument("--library", help="library folder (default: the app's library folder)")
    p.add_argument("--like", metavar="TAKE.json", help="rank by similarity to this take's sound instead")
    p.add_argument("--top", type=int, default=10, help="how many takes to print (default 10)")
    add_clap_argument(p, "default: general, the library index's CLAP")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.query.strip() and not args.like:
        raise InvalidParameterError('Give a query ("metallic impacts") or --like TAKE.json.')
    if args.top < 1:
        raise InvalidParameterError(f"--top must be at least 1, got {args.top}.")
    like = sidecar_of(args.like) if args.like else None  # a wrong file is named before minutes of indexing
    from core.clap import search
    from core.clap.loading import SEARCH_CLAP, resolve_clap_name
    from core.engine import Engine
    from core.takes.library import DB_NAME, Library, default_library_dir
    from core.takes.naming import TakeFiles

    folder = Path(args.library) if args.library else default_library_dir()
    if not (folder / DB_NAME).is_file():
        raise InvalidParameterError(f"There is no SoundDesk take library in {folder} (pass --library FOLDER).")
    scorer = Engine(device=args.device).clap(resolve_clap_name(args.clap) if args.clap else SEARCH_CLAP)
    skipped, gone = [], []
    with Library(folder) as library:
        added = search.index_library(library, scorer, progress_printer(args.verbose), skipped=skipped)
        if like is not None:
            sidecar = like
            record = library.by_sidecar(sidecar)
            if record is not None:
                hits = search.like_take(library, scorer, record, args.top, gone)
            else:
                vector = scorer.embed_file(TakeFiles.of_sidecar(sidecar).wav)
                hits = search.search_like(library, scorer, vector, args.top, gone=gone)
        else:
            hits = search.search_text(library, scorer, args.query, args.top, gone)
        problems = library.embeddings.problems
    _notes(added, skipped, gone, problems)
    for hit in hits:
        print(f"{hit.score:.4f}\t{hit.record.sidecar_path}", flush=True)
    return 0


def _notes(added: int, skipped: list[str], gone: list[str], problems: list[str]) -> None:
    """What the search could not use, on stderr (the results stay on stdout)."""
    for problem in problems:
        print(f"note: {problem}", file=sys.stderr)
    if added:
        print(f"note: indexed {added} take(s) that had no embedding yet", file=sys.stderr)
    if skipped:
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        print(
            f"note: {len(skipped)} take(s) could not be indexed and are left out: {skipped[0]}{more}", file=sys.stderr
        )
    if gone:
        more = f" (and {len(gone) - 1} more)" if len(gone) > 1 else ""
        print(f"note: {len(gone)} take(s) whose WAV file is gone were left out: {gone[0]}{more}", file=sys.stderr)

"""`rank`: score existing takes by CLAP text match, write each score into its JSON, print `score<TAB>path`."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.main import progress_printer
from core.errors import InvalidParameterError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rank", help="score takes by how well they match their prompt (CLAP), best first")
    p.add_argument("takes", nargs="+", metavar="TAKE.json", help="take sidecars (the WAV lies beside each)")
    add_clap_argument(p, "default: music CLAP for music models, general CLAP for sound models")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.set_defaults(run=run)


def add_clap_argument(p: argparse.ArgumentParser, default_help: str) -> None:
    p.add_argument("--clap", help=f"CLAP checkpoint: music, general, a hub id or a folder ({default_help})")


def sidecar_of(path: str) -> Path:
    """A take named by its JSON, or by its WAV (the JSON beside it)."""
    path = Path(path)
    if path.suffix.lower() not in (".json", ".wav"):
        raise InvalidParameterError(f"{path} is not a take: pass a take's .json file (or the .wav beside it).")
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        raise InvalidParameterError(f"There is no take {sidecar} (pass the take's .json file).")
    return sidecar


def run(args: argparse.Namespace) -> int:
    from core.clap.loading import resolve_clap_name
    from core.clap.ranking import rank_take_files
    from core.engine import Engine

    sidecars = [sidecar_of(path) for path in args.takes]
    engine = Engine(device=args.device)
    clap = resolve_clap_name(args.clap) if args.clap else None
    ranked = rank_take_files(sidecars, engine.clap, clap, progress_printer(args.verbose))
    for item in ranked:
        record_in_library(item.path, item.score)
        print(f"{item.score:.4f}\t{item.path}", flush=True)
    return 0


def record_in_library(sidecar: Path, score: float) -> None:
    """If the take belongs to a library folder, store the score in its history row too."""
    from core.clap.ranking import TEXT_MATCH
    from core.takes.library import DB_NAME, Library

    if not (sidecar.parent / DB_NAME).is_file():
        return
    with Library(sidecar.parent) as library:
        record = library.by_sidecar(sidecar)
        if record is not None:
            library.set_extra(record.id, TEXT_MATCH, round(score, 6))

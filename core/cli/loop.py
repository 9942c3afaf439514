"""`loop`: a take -> a loop take (bar-exact music at a tempo, or a seamless ambience), its WAV path printed.

    sounddesk loop takes/groove.json --bpm 120 --bars 4 --out loops
    sounddesk loop takes/rain.json --seamless --crossfade-ms 200 --out loops

Without --bpm/--bars or --seamless, a take generated with `generate --bpm --bars` is looped at its own
tempo; without --bars, the loop is the largest power of two of bars below the take's own (8 -> 4). When
--out is a take library (it holds the library's history database), the loop also gets its own row there, so
the window lists it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli.main import progress_printer
from core.errors import InvalidParameterError
from core.loops.meter import Meter
from core.loops.spec import DEFAULT_CROSSFADE_MS
from core.takes.atomic import ensure_folder
from core.takes.naming import TAKE_SUFFIXES, loop_stem, unique_stem

if TYPE_CHECKING:  # the loop machinery (numpy, scipy, the library) is imported when the command runs
    from core.loops import takes as loop_takes
    from core.takes.take import Take


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("loop", help="make a tempo-exact or seamless loop take from a take")
    parser.add_argument("take", metavar="TAKE.json", help="a take sidecar written by `generate`")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--bpm", type=float, help="music loop at this tempo (quarter notes per minute)")
    kind.add_argument("--seamless", action="store_true", help="ambience loop: the seam goes where it matches best")
    parser.add_argument(
        "--bars", type=int, help="music loop length in bars (default: a power of two below the take's own bars)"
    )
    parser.add_argument("--meter", help="time signature of the bars (default: the take's, else 4/4)")
    parser.add_argument(
        "--crossfade-ms",
        type=float,
        default=DEFAULT_CROSSFADE_MS,
        help="equal-power seam blend (default 30 ms)",
    )
    parser.add_argument("--out", type=Path, default=Path("."), help="output folder, or a take library folder")
    parser.set_defaults(run=run)


def spec_from_args(args: argparse.Namespace, source: Take) -> loop_takes.LoopSpec:
    """The loop the command line asks for, filling tempo, bars and meter from the take when not given."""
    from core.loops import takes as loop_takes

    meter = Meter.parse(args.meter or source.extra.get("meter") or "4/4")
    if args.seamless:
        if args.bars is not None:
            raise InvalidParameterError("--bars is for music loops (--bpm); a seamless loop finds its own length.")
        return loop_takes.LoopSpec("seamless", crossfade_ms=args.crossfade_ms)
    bpm = args.bpm if args.bpm is not None else source.extra.get("bpm")
    bars = args.bars
    if bars is None and source.extra.get("bars"):
        bars = loop_takes.default_loop_bars(int(source.extra["bars"]))
    if bpm is None or bars is None:
        raise InvalidParameterError(
            "Say which loop to make: --bpm BPM --bars N for music, or --seamless for an ambience "
            "(a take generated with --bpm and --bars is looped at its own tempo)."
        )
    return loop_takes.LoopSpec("music", float(bpm), int(bars), meter, args.crossfade_ms)


def run(args: argparse.Namespace) -> int:
    from core.loops import takes as loop_takes
    from core.takes.library import DB_NAME, Library
    from core.takes.take import load_take

    sidecar = Path(args.take)
    source = load_take(sidecar)
    spec = spec_from_args(args, source)
    loop = loop_takes.make_loop_take(source, spec, str(sidecar.resolve()), progress_printer(args.verbose))
    out: Path = args.out
    if (out / DB_NAME).is_file():
        with Library(out) as library:
            print(loop_takes.add_loop_to_library(library, loop).wav_path, flush=True)
        return 0
    ensure_folder(out)
    music = spec.kind == "music"
    stem = unique_stem(out, loop_stem(sidecar.stem, *((spec.bpm, spec.bars) if music else ())), TAKE_SUFFIXES)
    print(loop_takes.save_loop_take(loop, out, stem).wav, flush=True)
    return 0

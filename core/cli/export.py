"""The `export` and `stems` subcommands: takes, or a scene's layers plus mix, as files for a DAW.

    sounddesk export takes/dog.json --format flac24 --rate 48000 --loudness -16 --out exports
    sounddesk stems scene.json --format wav24 --out stems

Each written audio path is printed on its own line (its sidecar is the same path + ".json"); notes such as
clipping go to stderr. Splitting a take into demucs stems is the `separate` command (core.cli.separate).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InvalidParameterError
from core.export.settings import FORMATS, SAMPLE_RATES, ExportSettings
from core.takes.naming import DEFAULT_PATTERN, PATTERN_FIELDS, UcsFields

if TYPE_CHECKING:  # the writer's numpy / scipy / loudness code is imported when a command runs
    from core.export.writer import ExportResult

AS_GENERATED = ("asis", "source", "native")


def _rate(text: str) -> int | None:
    if text.lower() in AS_GENERATED:
        return None
    try:
        rate = int(float(text))
    except ValueError:
        rate = -1
    if rate not in SAMPLE_RATES:
        choices = ", ".join(str(r) for r in SAMPLE_RATES)
        raise argparse.ArgumentTypeError(f"use {choices} or 'asis' (as generated), not {text!r}")
    return rate


def add_output_options(parser: argparse.ArgumentParser, audiocraft: bool) -> None:
    parser.add_argument("--out", type=Path, default=Path("."), help="output folder (created if missing)")
    default = ExportSettings()
    parser.add_argument(
        "--format", choices=list(FORMATS), default=default.format, help=f"file format (default {default.format})"
    )
    rates = ", ".join(f"{rate}{' (default)' if rate == default.sample_rate else ''}" for rate in SAMPLE_RATES)
    parser.add_argument("--rate", type=_rate, default=default.sample_rate, help=f"{rates} or 'asis' (as generated)")
    parser.add_argument("--channels", type=int, choices=(1, 2), help="1: average to mono, 2: mono to stereo")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--peak", type=float, metavar="DBFS", help="normalise the sample peak to DBFS")
    level.add_argument("--loudness", type=float, metavar="LUFS", help="normalise integrated loudness to LUFS")
    if audiocraft:
        level.add_argument(
            "--audiocraft-loudness",
            type=float,
            nargs="?",
            const=-14.0,
            metavar="LUFS",
            help="audiocraft's audio_write loudness strategy with tanh compressor (default -14 LUFS)",
        )
    parser.add_argument("--fade-in", type=float, default=0.0, metavar="S", help="fade-in seconds")
    parser.add_argument("--fade-out", type=float, default=0.0, metavar="S", help="fade-out seconds")
    parser.add_argument(
        "--trim", type=float, nargs="?", const=-60.0, metavar="DBFS", help="cut leading/trailing silence"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing files (default: add -2, -3 ... to the name)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    fields = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
    export = subparsers.add_parser("export", help="write takes as WAV / FLAC / OGG for a DAW")
    export.add_argument("takes", nargs="+", metavar="TAKE.json", help="take sidecars written by `generate`")
    add_output_options(export, audiocraft=True)
    export.add_argument("--name", default=DEFAULT_PATTERN, metavar="PATTERN", help=f"file name from {fields}")
    export.add_argument("--ucs", metavar="CATID", help="name files CatID_FXName_CreatorID_SourceID (UCS)")
    export.add_argument("--ucs-fx", default="", metavar="NAME", help="UCS FXName (default: from the prompt)")
    export.add_argument("--ucs-creator", default="SD", metavar="ID", help="UCS CreatorID (default SD)")
    export.add_argument("--ucs-source", default="SoundDesk", metavar="ID", help="UCS SourceID")
    export.set_defaults(run=run_export)

    stems = subparsers.add_parser("stems", help="write a scene's layers as equal-length stems plus the mix")
    stems.add_argument("scene", metavar="SCENE.json", help="scene file: takes with offset, gain, mute, solo")
    add_output_options(stems, audiocraft=False)
    stems.set_defaults(run=run_stems)


def settings_from_args(args: argparse.Namespace) -> ExportSettings:
    """The ExportSettings an `export` / `stems` command line asks for."""
    level, target = "none", None
    for mode, value in (("peak", args.peak), ("loudness", args.loudness),
                        ("audiocraft", getattr(args, "audiocraft_loudness", None))):  # fmt: skip
        if value is not None:
            level, target = mode, value
    ucs = None
    if getattr(args, "ucs", None):
        ucs = UcsFields(args.ucs, args.ucs_fx, args.ucs_creator, args.ucs_source)
    return ExportSettings(
        format=args.format,
        sample_rate=args.rate,
        channels=args.channels,
        level=level,
        target=target,
        fade_in=args.fade_in,
        fade_out=args.fade_out,
        trim_silence=args.trim,
        naming=getattr(args, "name", DEFAULT_PATTERN),
        ucs=ucs,
        if_exists="overwrite" if args.overwrite else "suffix",
    )


def print_results(results: list[ExportResult], notes: list[str]) -> None:
    for result in results:
        print(result.path, flush=True)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)


def run_export(args: argparse.Namespace) -> int:
    from core.export.writer import export_takes

    settings = settings_from_args(args)
    results = export_takes(args.takes, args.out, settings)
    print_results(results, [f"{r.path.name}: {note}" for r in results for note in r.notes])
    return 0


def run_stems(args: argparse.Namespace) -> int:
    from core.export.scene import export_stems, load_scene

    settings = settings_from_args(args)
    scene = load_scene(args.scene)
    if not scene.layers:
        raise InvalidParameterError(f"The scene {args.scene} has no layers.")
    result = export_stems(scene, args.out, settings)
    print_results([*result.stems, result.mix], list(result.notes))
    return 0

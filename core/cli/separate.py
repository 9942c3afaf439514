"""`separate`: a music take -> drums, bass, other and vocals files (demucs htdemucs), one path per line."""

from __future__ import annotations

import argparse

from core.cli.export import add_output_options, print_results, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("separate", help="split a take into drums, bass, other and vocals")
    parser.add_argument("take", metavar="TAKE.json", help="a take sidecar written by `generate`")
    add_output_options(parser, audiocraft=False)
    parser.add_argument("--name", default="{prompt}_{model}_{seed}", help="file name pattern of each stem")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.export.batch import all_or_none
    from core.export.writer import export_take
    from core.separation.takes import separate_take
    from core.takes.take import load_take

    settings = settings_from_args(args)
    take = load_take(args.take)
    stems = separate_take(take)
    results = all_or_none(
        stems,
        lambda i, stem: export_take(stem, args.out, settings, index=i + 1, source=args.take),
        keep_written=settings.if_exists == "overwrite",
    )
    print_results(results, [f"{r.path.name}: {note}" for r in results for note in r.notes])
    return 0

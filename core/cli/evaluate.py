"""`evaluate`: one take per prompt of a file; mean CLAP text match and, with real audio, the Fréchet distance."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.main import progress_printer
from core.cli.rank import add_clap_argument
from core.errors import InvalidParameterError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="measure a model on a prompt list (CLAP text match, Fréchet distance)")
    p.add_argument("prompts", metavar="PROMPTS.txt", help="one prompt per line")
    p.add_argument("--model", required=True, help="catalog/hub id or local model folder")
    p.add_argument("--reference", metavar="DIR", help="folder of real audio to compare with (Fréchet distance)")
    p.add_argument("--out", metavar="DIR", help="folder for the takes and evaluation.json")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier evaluation's files in --out")
    p.add_argument("--duration", type=float, help="seconds per take (default: the model's default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first prompt; the next get seed+1, ...")
    add_clap_argument(p, "default: by the model's task")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.duration is not None and not args.duration > 0:
        raise InvalidParameterError(f"Duration must be a positive number of seconds, got {args.duration}.")
    from core.clap.evaluate import REPORT_NAME, evaluate, format_table, read_prompts, refuse_earlier_run
    from core.clap.loading import resolve_clap_name
    from core.engine import Engine

    prompts = read_prompts(args.prompts)
    if args.out and not args.overwrite:  # before loading the model: a refusal costs nothing
        refuse_earlier_run(Path(args.out), prompts, args.seed)
    engine = Engine(device=args.device)
    model = engine.load(args.model)
    params = model.default_params
    if args.duration is not None:
        params = params.replace(duration=args.duration)
    result = evaluate(
        engine,
        args.model,
        prompts,
        params,
        seed=args.seed,
        reference_dir=args.reference,
        out_dir=args.out,
        clap=resolve_clap_name(args.clap) if args.clap else None,
        progress=progress_printer(args.verbose),
        overwrite=args.overwrite,
    )
    print(format_table(result))
    if args.out:
        print(f"report: {args.out}/{REPORT_NAME}")
    return 0

"""`explain`: which words of a take's prompt made its sound (AudioGenX), one `word<TAB>score` line per word."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli import precision_option
from core.cli.main import progress_printer
from core.engine import Engine
from core.explain.explainer import ExplainSettings, explain_take
from core.precision import recorded_precision
from core.takes.take import load_take, save_take


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="score each word of a take's prompt by how much it shaped the sound")
    p.add_argument("take", metavar="TAKE.json", help="the take's sidecar (its model is the one recorded there)")
    p.add_argument(
        "--window",
        nargs=2,
        type=float,
        metavar=("START", "END"),
        help="score only the sound between START and END seconds (default: the whole take)",
    )
    defaults = ExplainSettings()
    p.add_argument(
        "--epochs",
        type=int,
        default=defaults.epochs,
        help=f"optimisation steps of the explainer (default {defaults.epochs})",
    )
    p.add_argument("--seed", type=int, default=defaults.seed, help=f"random seed (default {defaults.seed})")
    p.add_argument(
        "--audio",
        metavar="FOLDER",
        help="also write the take regenerated with the important words only (factual) and without "
        "them (counterfactual) to FOLDER",
    )
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    precision_option.add_argument(p, replay=True)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    take = load_take(args.take)
    precision = args.precision or recorded_precision(take.extra)
    model = Engine(device=args.device, precision=precision).load(take.model)
    settings = ExplainSettings(epochs=args.epochs, seed=args.seed)
    window = tuple(args.window) if args.window else None
    explanation = explain_take(model, take, settings, window, progress_printer(args.verbose))
    for word, score in explanation.words:
        print(f"{word}\t{score:.4f}")
    if args.verbose:
        print(
            f"similarity to the take: factual {explanation.factual_similarity:.4f}, counterfactual "
            f"{explanation.counterfactual_similarity:.4f}",
            file=sys.stderr,
        )
    if args.audio:
        _write_audio(model, take, explanation, Path(args.audio), Path(args.take).stem)
    return 0


def _write_audio(model, take, explanation, folder: Path, stem: str) -> None:
    from core.explain.regenerate import regenerate_take

    for label, counterfactual in (("factual", False), ("counterfactual", True)):
        version = regenerate_take(model, take, explanation, counterfactual)
        print(save_take(version, folder, f"{stem}_{label}").wav, file=sys.stderr)

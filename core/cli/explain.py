"""`explain`: which words of a take's prompt made its sound (AudioGenX), one `word<TAB>score` line per word."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.main import progress_printer
from core.explain.settings import ExplainSettings
from core.models import precision_option
from core.models.precision import recorded_precision


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
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace earlier --audio files of this take (default: new files get -2, -3 ... names)",
    )
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    precision_option.add_argument(p, replay=True)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.checks import check_output
    from core.engine import Engine
    from core.explain.explainer import explain_take
    from core.takes.take import load_take

    settings = ExplainSettings(epochs=args.epochs, seed=args.seed)  # bad settings (--epochs 0) fail before loading
    take = load_take(args.take)
    folder = check_output(Path(args.audio), 0) if args.audio else None
    precision = args.precision or recorded_precision(take.extra)
    model = Engine(device=args.device, precision=precision).load(take.model)
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
    if folder is not None:
        _write_audio(model, take, explanation, folder, Path(args.take).stem, args.overwrite)
    return 0


def _write_audio(model, take, explanation, folder: Path, stem: str, overwrite: bool) -> None:
    """The factual and counterfactual takes; never over earlier files unless `overwrite` (then `-2` names)."""
    from core.explain.regenerate import regenerate_take
    from core.takes.claim import save_new_take
    from core.takes.take import save_take

    for label, counterfactual in (("factual", False), ("counterfactual", True)):
        version = regenerate_take(model, take, explanation, counterfactual)
        name = f"{stem}_{label}"
        files = save_take(version, folder, name) if overwrite else save_new_take(version, folder, name)
        print(files.wav, file=sys.stderr)

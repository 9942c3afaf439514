"""The MAGNeT options of the `generate` command: decoding steps, annealed guidance, span arrangement."""

from __future__ import annotations

import argparse

from core.params import SPAN_ARRANGEMENTS


def decoding_steps(text: str) -> tuple[int, ...]:
    """'20,10,10,10' -> (20, 10, 10, 10); one positive count per codebook."""
    try:
        steps = tuple(int(part) for part in text.split(","))
    except ValueError:
        steps = ()
    if not steps or any(s < 1 for s in steps):
        raise argparse.ArgumentTypeError(f"expected positive step counts like 20,10,10,10, got {text!r}")
    return steps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the MAGNeT flags to the `generate` parser (autoregressive models ignore them)."""
    group = parser.add_argument_group("MAGNeT (masked decoding)")
    group.add_argument(
        "--decoding-steps",
        type=decoding_steps,
        metavar="N,N,...",
        help="decoding steps per codebook, e.g. 20,10,10,10 (one count per codebook)",
    )
    group.add_argument("--max-cfg", type=float, help="guidance coefficient at the first step of each codebook")
    group.add_argument("--min-cfg", type=float, help="guidance coefficient the last step anneals to")
    group.add_argument(
        "--span-arrangement",
        choices=SPAN_ARRANGEMENTS,
        help="re-mask non-overlapping spans (audiocraft's default) or spans starting at any frame",
    )


OPTION_OF_FIELD = {  # GenerationParams field -> argparse destination
    "decoding_steps": "decoding_steps",
    "max_cfg_coef": "max_cfg",
    "min_cfg_coef": "min_cfg",
    "span_arrangement": "span_arrangement",
}


def params_from_args(args: argparse.Namespace) -> dict:
    """The GenerationParams fields given on the command line."""
    given = {field: getattr(args, option) for field, option in OPTION_OF_FIELD.items()}
    return {field: value for field, value in given.items() if value is not None}

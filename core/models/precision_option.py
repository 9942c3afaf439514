"""The `--precision` option of every command that generates (generate; explain's replays)."""

from __future__ import annotations

import argparse

from core.models.precision import DESCRIPTIONS, PRECISIONS


def add_argument(parser: argparse.ArgumentParser, replay: bool = False) -> None:
    """`--precision auto|fp32|bf16|int8|int4`; for a replay the default is the precision the take records."""
    modes = "; ".join(f"{name}: {text}" for name, text in DESCRIPTIONS.items())
    default = "the take's recorded precision" if replay else "auto"
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None if replay else "auto",
        help=f"numeric precision of the model (default: {default}). {modes}",
    )

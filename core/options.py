"""The generate options, one table: per option its GenerationParams field, flag, manifest key, families and limits.

Every reader takes its facts from `OPTIONS`: the `generate` command and a render manifest build their parsers
from it (`add_arguments`), the checks refuse an option the model's family does not use (`flag_of`, `UNUSED_BY`),
a take records only the fields its family uses, and the window's parameter panel enables the controls of the
loaded model's family (`fields_used`) within the ranges given here (`Option.low`, `Option.high`).

Adding a generate option: one `Option` row here (and its field in `core.params.GenerationParams` if it is one);
the CLI, manifests, checks, take record and panel follow. A row with `argument=False` is added to a parser by its
own module (`--precision`: core.models.precision_option, whose choices live with the precisions).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.params import SPAN_ARRANGEMENTS

FAMILIES = ("musicgen", "audiogen", "magnet")
AUTOREGRESSIVE = ("musicgen", "audiogen")
MASKED = ("magnet",)
MAGNET_GROUP = "MAGNeT (masked decoding)"


def decoding_steps(text: str) -> tuple[int, ...]:
    """'20,10,10,10' -> (20, 10, 10, 10); one positive count per codebook."""
    try:
        steps = tuple(int(part) for part in text.split(","))
    except ValueError:
        steps = ()
    if not steps or any(s < 1 for s in steps):
        raise argparse.ArgumentTypeError(f"expected positive step counts like 20,10,10,10, got {text!r}")
    return steps


@dataclass(frozen=True)
class Option:
    """One `generate` option. `dest` is its argparse destination and manifest key (a row may also spell it as
    the flag, with or without dashes); `field` the GenerationParams field it sets (None: a request option such
    as the seed); `low`/`high` the range a control offers (duration's `high` is the model's longest take)."""

    dest: str
    flag: str
    help: str
    field: str | None = None
    families: tuple[str, ...] = FAMILIES
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    default: Any = None
    switch: bool = False  # a flag without a value (store_true)
    value: Any = None  # the field's value when a switch is on (--greedy: use_sampling=False)
    manifest: bool = True  # a render manifest row may set it
    argument: bool = True  # False: added to a parser by its own module
    group: str | None = None  # argparse group title
    low: float | None = None
    high: float | None = None

    def add_to(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        if self.switch:
            parser.add_argument(self.flag, dest=self.dest, action="store_true", help=self.help)
            return
        extra = {"choices": self.choices} if self.choices else {}
        extra.update({"metavar": self.metavar} if self.metavar else {})
        parser.add_argument(self.flag, dest=self.dest, type=self.type, default=self.default, help=self.help, **extra)


_MAGNET = {"families": MASKED, "group": MAGNET_GROUP}
OPTIONS: tuple[Option, ...] = (
    Option("duration", "--duration", "seconds per take (default: the model's default)", "duration", type=float,
           low=0.1),
    Option("seed", "--seed", "random seed (default: random; recorded in the sidecar)", type=int),
    Option("variations", "--variations", "takes per prompt, seeds S, S+1, ...", type=int, default=1),
    Option("greedy", "--greedy", "argmax decoding instead of sampling", "use_sampling", switch=True, value=False),
    Option("top_k", "--top-k", "sample from the k most likely tokens", "top_k", type=int, low=0, high=2048),
    Option("top_p", "--top-p", "nucleus sampling mass (takes precedence over top-k)", "top_p", type=float, low=0.0,
           high=1.0),
    Option("temperature", "--temperature", "sampling temperature", "temperature", type=float, low=0.0, high=10.0),
    Option("cfg", "--cfg", "classifier-free guidance coefficient", "cfg_coef", AUTOREGRESSIVE, type=float, low=0.0,
           high=20.0),
    Option("extend_stride", "--extend-stride", "seconds each window advances beyond the model length",
           "extend_stride", AUTOREGRESSIVE, type=float, low=1.0, high=60.0),
    Option("continuation", "--continue", "audio to continue", metavar="AUDIO_FILE"),
    Option("melody", "--melody", "melody to follow (melody models)", metavar="AUDIO_FILE"),
    Option("no_melody_separation", "--no-melody-separation",
           "use the melody file as is (skip removing drums and bass)", switch=True),
    Option("precision", "--precision", "numeric precision of the model", argument=False),
    Option("decoding_steps", "--decoding-steps", "decoding steps per codebook, e.g. 20,10,10,10 (one count per "
           "codebook)", "decoding_steps", type=decoding_steps, metavar="N,N,...", low=1, high=200, **_MAGNET),
    Option("max_cfg", "--max-cfg", "guidance coefficient at the first step of each codebook", "max_cfg_coef",
           type=float, low=0.0, high=30.0, **_MAGNET),
    Option("min_cfg", "--min-cfg", "guidance coefficient the last step anneals to", "min_cfg_coef", type=float,
           low=0.0, high=30.0, **_MAGNET),
    Option("span_arrangement", "--span-arrangement",
           "re-mask non-overlapping spans (audiocraft's default) or spans starting at any frame", "span_arrangement",
           choices=SPAN_ARRANGEMENTS, **_MAGNET),
)  # fmt: skip
BY_FIELD = {option.field: option for option in OPTIONS if option.field}
MANIFEST_KEYS = frozenset(option.dest for option in OPTIONS if option.manifest)
UNUSED_BY = {family: tuple(f for f, o in BY_FIELD.items() if family not in o.families) for family in FAMILIES}
"""Family -> the GenerationParams fields it ignores (a take of that family does not record them)."""


def add_arguments(parser: argparse.ArgumentParser, manifest_only: bool = False) -> None:
    """Add the table's options to `parser` (those a manifest row may set, with `manifest_only`), each in its group."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for option in OPTIONS:
        if not option.argument or (manifest_only and not option.manifest):
            continue
        if option.group is not None and option.group not in groups:
            groups[option.group] = parser.add_argument_group(option.group)
        option.add_to(groups[option.group] if option.group else parser)


def param_changes(args: argparse.Namespace | Mapping[str, Any]) -> dict[str, Any]:
    """The GenerationParams fields the parsed options set (the rest keep the model's defaults)."""
    values = vars(args) if isinstance(args, argparse.Namespace) else args
    changes = {}
    for option in BY_FIELD.values():
        value = values.get(option.dest)
        if value is not None and value is not False:
            changes[option.field] = option.value if option.switch else value
    return changes


def given_fields(args: argparse.Namespace | Mapping[str, Any]) -> set[str]:
    """The fields set that only some families use (refused for the others before any work: core.checks)."""
    return {name for name in param_changes(args) if BY_FIELD[name].families != FAMILIES}


def flag_of(field: str) -> str:
    """How the command line spells the option that sets `field` (`cfg_coef` -> `--cfg`)."""
    option = BY_FIELD.get(field)
    return option.flag if option else field


def fields_used(family: str | None) -> set[str]:
    """The GenerationParams fields a family uses; None (no model yet): those of the common case, MusicGen."""
    unused = UNUSED_BY.get(family or "musicgen", ())
    return {name for name in BY_FIELD if name not in unused}


def limits(field: str) -> tuple[Any, Any]:
    """(low, high) a control offers for `field`; duration's high is the model's longest take (capabilities)."""
    option = BY_FIELD[field]
    return option.low, option.high


def unused(family: str, fields: Iterable[str]) -> list[str]:
    """Those of `fields` the family does not use, in table order."""
    chosen = set(fields)
    return [name for name in UNUSED_BY.get(family, ()) if name in chosen]

"""A render manifest (CSV or JSONL, one row per prompt) read and checked with the `generate` command's options.

A row holds `prompt`, `model` and optionally `name` plus any `generate` option, spelt as on the command line
with or without the dashes (`top-k`, `top_k`, `duration`, `seed`, `variations`, `greedy`, `cfg`, `melody`,
`continue`, `decoding-steps`, ...: the rows of core.options marked `manifest`). Each row is turned into
arguments and parsed by a parser built from the same table as `generate`'s, then its parameters are checked by
GenerationParams, so a manifest accepts exactly what `generate` accepts. Every bad row is reported with its line
number; nothing is rendered yet.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import options
from core.errors import InvalidParameterError, SoundDeskError
from core.models import precision_option
from core.models.hub import RELEASE_FILES, local_folder
from core.params import GenerationParams
from core.takes.audio_io import SUPPORTED_EXTENSIONS

OWN_KEYS = ("prompt", "model", "name")
TRUE, FALSE = {"true", "yes", "1", "on", "x"}, {"false", "no", "0", "off", ""}


class ManifestError(InvalidParameterError):
    """The manifest file cannot be read at all (missing, not text, no rows, a broken CSV line or header)."""


class _BrokenLine(Exception):
    """A line that makes the rest of the file unreadable (a CSV quote never closed, a repeated column)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


@dataclass(frozen=True, eq=False)
class RowSpec:
    """One valid manifest row: what to render, with `changes` the GenerationParams fields the row sets."""

    line: int
    prompt: str
    model: str
    seed: int
    variations: int = 1
    name: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    melody: str | None = None
    continuation: str | None = None
    separate_melody: bool = True
    given: frozenset[str] = frozenset()  # fields set by options only some model families use (core.checks)
    precision: str = "auto"  # the model's numeric precision, as `generate --precision`

    def identity(self) -> dict[str, Any]:
        """What makes this row's takes what they are, apart from the seed (JSON-ready, canonical)."""
        full = GenerationParams().replace(**self.changes).to_dict()
        return {
            "model": self.model,
            "prompt": self.prompt,
            "params": {name: full[name] for name in sorted(self.changes)},
            "melody": _digest(self.melody),
            "separate_melody": self.separate_melody if self.melody else None,
            "continuation": _digest(self.continuation),
            **({"precision": self.precision} if self.precision != "auto" else {}),
        }


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Manifest:
    path: Path
    rows: list[RowSpec]
    errors: list[RowError]

    @property
    def take_count(self) -> int:
        return sum(row.variations for row in self.rows)

    def summary(self) -> str:
        """'12 rows (96 takes) are valid; 2 rows are not.' in words."""
        text = f"{len(self.rows)} valid row(s), {self.take_count} take(s)"
        return text + (f"; {len(self.errors)} invalid row(s)." if self.errors else ".")


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InvalidParameterError(message)


def row_parser() -> argparse.ArgumentParser:
    """The `generate` options a row may set (core.options), parsed as `generate` parses them, raising
    InvalidParameterError instead of exiting."""
    parser = _RaisingParser(prog="manifest")
    options.add_arguments(parser, manifest_only=True)
    precision_option.add_argument(parser)
    return parser


def _option_table(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Manifest key -> the generate option it sets: every long option name and destination, with underscores."""
    table: dict[str, argparse.Action] = {}
    for action in parser._actions:
        if action.dest not in options.MANIFEST_KEYS:  # --help
            continue
        for name in [action.dest, *(opt.lstrip("-") for opt in action.option_strings if opt.startswith("--"))]:
            table[_normal(name)] = action
    return table


def _normal(key: str) -> str:
    return str(key).strip().lower().replace("-", "_")


def read_manifest(path: str | Path) -> Manifest:
    """Read and check every row of a CSV or JSONL manifest (ManifestError if the file itself is unusable)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ManifestError(f"The manifest {path} does not exist.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"Cannot read the manifest {path}: {exc}.") from exc
    try:
        raw = list(_jsonl_rows(text) if _is_jsonl(path, text) else _csv_rows(text))
    except _BrokenLine as exc:
        raise ManifestError(f"The manifest {path} cannot be read: line {exc.line}: {exc.reason}.") from exc
    if not raw:
        raise ManifestError(f"The manifest {path} holds no rows.")
    parser = row_parser()
    table = _option_table(parser)
    rows, errors = [], []
    for line, data in raw:
        try:
            if isinstance(data, str):
                raise InvalidParameterError(data)
            rows.append(_row(line, data, parser, table, path.parent))
        except SoundDeskError as exc:
            errors.append(RowError(line, str(exc)))
    return Manifest(path, rows, errors)


def _is_jsonl(path: Path, text: str) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return True
    if path.suffix.lower() in (".csv", ".tsv"):
        return False
    return text.lstrip().startswith("{")


def _jsonl_rows(text: str):
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        except _RepeatedKey as exc:
            yield number, str(exc)
            continue
        yield number, data if isinstance(data, dict) else 'a row must be a JSON object {"prompt": ..., ...}'


class _RepeatedKey(ValueError):
    """A JSON object names one key twice (json keeps the last value silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for json.loads: refuse a key given twice, also spelt differently (`top-k`, `top_k`)."""
    twice = _repeated([key for key, _ in pairs])
    if twice is not None:
        raise _RepeatedKey(_twice("key", *twice))
    return dict(pairs)


def _repeated(names: list[str]) -> tuple[str, str] | None:
    """The first two spellings of one column / key (`seed` and `seed`, `top-k` and `top_k`), or None."""
    seen: dict[str, str] = {}
    for name in names:
        key = _normal(name)
        if key in seen:
            return seen[key], name
        if key:
            seen[key] = name
    return None


def _twice(what: str, first: str, second: str) -> str:
    if first == second:
        return f"the {what} '{first}' is given twice; keep one"
    return f"the {what}s '{first}' and '{second}' set the same option; keep one"


def _csv_rows(text: str):
    dialect = csv.excel_tab if text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",") else csv.excel
    header: list[str] | None = None
    for line, values in _csv_records(text, dialect):
        if not any(v.strip() for v in values):
            continue
        if header is None:
            twice = _repeated(values)
            if twice is not None:
                raise _BrokenLine(line, _twice("column", *twice))
            header = [_normal(v) for v in values]
            continue
        if len(values) > len(header):
            yield line, f"{len(values)} values but the header names {len(header)} columns"
            continue
        yield line, {key: value for key, value in zip(header, values, strict=False) if key}


def _csv_records(text: str, dialect: type[csv.Dialect]):
    """(first line, values) of each CSV record; a quote never closed or an over-long value is a _BrokenLine.

    Read strictly first: only a strict reader tells a quote left open at the end of the file (a lenient one
    swallows the rest of the file into one value). Other strict complaints (`"rain" , m`) are read leniently,
    as before."""
    for strict in (True, False):
        reader = csv.reader(io.StringIO(text), dialect, strict=strict)
        records, start = [], 1
        try:
            for values in reader:
                records.append((start, values))
                start = reader.line_num + 1
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                limit = csv.field_size_limit()
                why = f"a value is longer than {limit:,} characters, more than any prompt (or a quote is not closed)"
                raise _BrokenLine(start, why) from exc
            if "unexpected end of data" in str(exc):
                raise _BrokenLine(start, 'a quoted value starts here and its closing quote (") never comes') from exc
            if not strict:
                raise _BrokenLine(start, str(exc)) from exc
            continue
        return records
    raise AssertionError("the lenient reader returns or raises")


def _row(line: int, data: dict, parser: argparse.ArgumentParser, table: dict, base: Path) -> RowSpec:
    data = {_normal(k): v for k, v in data.items() if v is not None and (not isinstance(v, str) or v.strip())}
    unknown = sorted(k for k in data if k not in table and k not in OWN_KEYS)
    if unknown:
        known = ", ".join([*OWN_KEYS, *sorted({_normal(a.option_strings[-1].lstrip("-")) for a in table.values()})])
        raise InvalidParameterError(f"unknown column(s) {', '.join(unknown)} (known: {known})")
    prompt, model = _text(data, "prompt"), _text(data, "model")
    model = _model_ref(model, base)
    argv = []
    for key, value in data.items():
        if key not in OWN_KEYS:
            argv += _argv(table[key], key, value)
    args = parser.parse_args(argv)
    return _spec(line, args, prompt, model, data, base)


def _spec(line: int, args: argparse.Namespace, prompt: str, model: str, data: dict, base: Path) -> RowSpec:
    from core.checks import check_seed

    if args.variations < 1:
        raise InvalidParameterError(f"variations must be at least 1, got {args.variations}")
    changes = options.param_changes(args)
    GenerationParams().replace(**changes)  # raises the same sentence `generate` would
    name = str(data["name"]).strip() if "name" in data else None
    spec = RowSpec(
        line,
        prompt,
        model,
        0,
        args.variations,
        name,
        changes,
        _audio(args.melody, base),
        _audio(args.continuation, base),
        not args.no_melody_separation,
        frozenset(options.given_fields(args)),
        getattr(args, "precision", None) or "auto",
    )
    seed = args.seed if args.seed is not None else derived_seed(spec)
    check_seed(seed, args.variations)
    return RowSpec(**{**spec.__dict__, "seed": seed})


def derived_seed(row: RowSpec) -> int:
    """A row without a seed gets one from its identity, so a rerun makes the same takes (and skips them)."""
    digest = hashlib.sha256(json.dumps(row.identity(), sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterError(f"{key} is missing" if value is None else f"{key} must be text, got {value!r}")
    return value.strip()


def _argv(action: argparse.Action, key: str, value: Any) -> list[str]:
    option = next(opt for opt in action.option_strings if opt.startswith("--"))
    if action.nargs == 0:  # a flag such as --greedy
        word = str(value).strip().lower()
        if isinstance(value, bool) or word in TRUE | FALSE:
            return [option] if value is True or word in TRUE else []
        raise InvalidParameterError(f"{key} must be true or false, got {value!r}")
    if isinstance(value, bool) or isinstance(value, dict):
        raise InvalidParameterError(f"{key} cannot be {json.dumps(value)}")
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    return [option, str(value).strip()]


def _model_ref(model: str, base: Path) -> str:
    """A folder relative to the manifest's folder becomes absolute; hub ids stay; a bad folder is an error."""
    beside = base / model
    if not Path(model).is_absolute() and beside.is_dir():
        model = str(beside.resolve())
    folder = local_folder(model)
    if folder is not None:
        missing = [name for name in RELEASE_FILES if not (folder / name).is_file()]
        if missing:
            raise InvalidParameterError(f"'{model}' is not an audiocraft model folder: {', '.join(missing)} missing")
    return model


def _audio(path: str | None, base: Path) -> str | None:
    if path is None:
        return None
    full = (base / Path(path).expanduser()).resolve()
    if not full.is_file():
        raise InvalidParameterError(f"the audio file {full} does not exist")
    if full.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise InvalidParameterError(f"{full.name} is not a supported audio file ({', '.join(SUPPORTED_EXTENSIONS)})")
    return str(full)


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _digest(path: str | None) -> str | None:
    """The content hash of an audio input (so a replaced file makes new takes); None for none."""
    if path is None:
        return None
    stat = Path(path).stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return _DIGESTS[key]

"""One schema per kind of file SoundDesk reads (take sidecar, scene, preset), checked before any field is used.

A hand-edited or damaged file fails with a sentence naming the file, the field and what was expected
("Cannot read the take rain.json: the field 'seed' must be a whole number from 0 to 2^63-1, found 'abc'."),
never with a KeyError or a traceback.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ExportError, InvalidParameterError
from core.params import GenerationParams

MAX_SEED = 2**63 - 1
"""Seeds are stored as SQLite INTEGERs and fed to torch's generator: signed 64-bit."""


class FileFormatError(ExportError):
    """A file SoundDesk reads is not valid JSON or does not follow its schema."""


@dataclass(frozen=True)
class Field:
    name: str
    expect: str  # what a user should find there, in words
    valid: Callable[[Any], bool]
    required: bool = True


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _whole(low: int, high: int | None = None) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        return ok and (high is None or value <= high)

    return check


def _number(low: float | None = None) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        return ok and (low is None or value >= low)

    return check


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _object(value: Any) -> bool:
    return isinstance(value, dict)


def _list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


SEED = Field("seed", "a whole number from 0 to 2^63-1", _whole(0, MAX_SEED))
TAKE = (
    Field("prompt", "a text", _text),
    Field("model", "a text (the model that made the take)", _text),
    SEED,
    Field("parameters", "an object of generation parameters", _object, required=False),
    Field("sample_rate", "a whole number of samples per second", _whole(1), required=False),
    Field("channels", "a whole number of channels", _whole(1), required=False),
    Field("duration", "a number of seconds", _number(0.0), required=False),
    Field("codes", "the file name of the take's codes", _text, required=False),
    Field("bpm", "a tempo in beats per minute (a number)", _number(0.0), required=False),
    Field("bars", "a whole number of bars", _whole(1), required=False),
    Field("meter", "a time signature such as 4/4", _text, required=False),
    Field("loop", "an object describing the loop", _object, required=False),
)
SCENE = (
    Field("name", "a text", _text, required=False),
    Field("layers", "a list of layer objects", _list_of_objects),
)
LAYER = (
    Field("take", "the path of a take's JSON file", _text),
    Field("offset", "seconds of 0 or more", _number(0.0), required=False),
    Field("gain_db", "a number of decibels", _number(), required=False),
    Field("mute", "true or false", _flag, required=False),
    Field("solo", "true or false", _flag, required=False),
    Field("name", "a text", _text, required=False),
)
PRESET = (
    Field("name", "a text", _text),
    Field("parameters", "an object of generation parameters", _object),
)


def read_json(path: Path, what: str) -> Any:
    """The parsed JSON of `path`, or FileFormatError "Cannot read the WHAT PATH: ..."."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"Cannot read the {what} {path}: {_why_unreadable(exc)}.") from exc


def _why_unreadable(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "the file does not exist"
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(exc, json.JSONDecodeError):
        return f"it is not valid JSON ({exc})"
    return str(getattr(exc, "strerror", None) or exc)


def check(data: Any, fields: tuple[Field, ...], path: str | os.PathLike, what: str, where: str = "") -> dict:
    """`data` if it is an object whose fields match `fields`; else FileFormatError naming file and field."""
    prefix = f"Cannot read the {what} {path}: "
    if not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "null"
        raise FileFormatError(f"{prefix}{where or 'the file'} must be a JSON object, found {found}.")
    for field in fields:
        label = f"'{where}{field.name}'"
        if field.name not in data:
            if field.required:
                raise FileFormatError(f"{prefix}the field {label} is missing; expected {field.expect}.")
            continue
        value = data[field.name]
        if not field.valid(value):
            raise FileFormatError(f"{prefix}the field {label} must be {field.expect}, found {_show(value)}.")
    return data


def params_field(
    data: dict, path: str | os.PathLike, what: str, name: str = "parameters", base: GenerationParams | None = None
) -> GenerationParams:
    """The GenerationParams in `data[name]` (missing fields from `base`), or a sentence naming the field."""
    values = (base or GenerationParams()).to_dict()
    values.update(data.get(name) or {})
    try:
        return GenerationParams.from_dict(values)
    except (InvalidParameterError, TypeError) as exc:
        raise FileFormatError(f"Cannot read the {what} {path}: the field '{name}' is invalid: {exc}") from exc


def check_layer_list(data: dict, path: str | os.PathLike) -> list[dict]:
    """The scene's layer objects, each checked against LAYER."""
    return [check(item, LAYER, path, "scene", where=f"layers[{i}].") for i, item in enumerate(data["layers"])]


def load_preset(path: str | os.PathLike) -> tuple[str, dict]:
    """A preset file's name and parameter values (checked: every value must make valid parameters)."""
    data = check(read_json(Path(path), "preset"), PRESET, path, "preset")
    params_field(data, path, "preset")
    return data["name"], data["parameters"]


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

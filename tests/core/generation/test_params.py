"""GenerationParams: bad values raise InvalidParameterError with a readable sentence; dicts round-trip."""

from __future__ import annotations

import json
import math

import pytest

from core.errors import InvalidParameterError, SoundDeskError
from core.params import GenerationParams

# (keyword arguments, words the message must contain: the parameter's name and the bad value)
INVALID = [
    (dict(duration=0), ["Duration", "0"]),
    (dict(duration=-2.5), ["Duration", "-2.5"]),
    (dict(duration=math.nan), ["Duration", "nan"]),
    (dict(duration=math.inf), ["Duration", "inf"]),
    (dict(top_k=-1), ["top-k", "-1"]),
    (dict(top_p=1.5), ["top-p", "1.5"]),
    (dict(top_p=-0.1), ["top-p", "-0.1"]),
    (dict(top_p=math.nan), ["top-p", "nan"]),
    (dict(temperature=-0.5), ["Temperature", "-0.5"]),
    (dict(temperature=math.nan), ["Temperature", "nan"]),
    (dict(cfg_coef=math.inf), ["CFG", "inf"]),
    (dict(extend_stride=0), ["stride", "0"]),
    (dict(extend_stride=-3), ["stride", "-3"]),
    (dict(decoding_steps=()), ["Decoding steps", "()"]),
    (dict(decoding_steps=(20, 0, 10, 10)), ["Decoding steps", "0"]),
    (dict(span_arrangement="overlap"), ["Span arrangement", "'overlap'", "nonoverlap", "stride1"]),
]


@pytest.mark.parametrize(("changes", "words"), INVALID, ids=[repr(c) for c, _ in INVALID])
def test_out_of_range_values_raise_a_readable_invalid_parameter_error(changes: dict, words: list[str]) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        GenerationParams(**changes)
    message = str(caught.value)
    assert isinstance(caught.value, SoundDeskError)
    for word in words:
        assert word in message
    assert message.endswith(".") and "\n" not in message


@pytest.mark.parametrize(("changes", "words"), INVALID[:4], ids=[repr(c) for c, _ in INVALID[:4]])
def test_replace_validates_like_the_constructor(changes: dict, words: list[str]) -> None:
    with pytest.raises(InvalidParameterError):
        GenerationParams().replace(**changes)


def test_edge_values_are_accepted() -> None:
    params = GenerationParams(
        duration=0.02, top_k=0, top_p=1.0, temperature=0.0, cfg_coef=0.0, decoding_steps=[1, 1, 1, 1]
    )
    assert params.decoding_steps == (1, 1, 1, 1)
    assert params.replace(top_p=0.0).top_p == 0.0


def test_params_are_frozen() -> None:
    params = GenerationParams()
    with pytest.raises(AttributeError):
        params.top_k = 5  # type: ignore[misc]


def test_defaults() -> None:
    params = GenerationParams()
    assert (params.use_sampling, params.top_k, params.top_p, params.temperature, params.cfg_coef) == (
        True,
        250,
        0.0,
        1.0,
        3.0,
    )
    assert params.decoding_steps == (20, 10, 10, 10)
    assert (params.max_cfg_coef, params.min_cfg_coef, params.span_arrangement) == (10.0, 1.0, "nonoverlap")


def test_to_dict_is_plain_json() -> None:
    params = GenerationParams(duration=4.5, use_sampling=False, top_k=40, decoding_steps=(8, 4, 4, 2))
    data = params.to_dict()
    assert data == {
        "duration": 4.5,
        "use_sampling": False,
        "top_k": 40,
        "top_p": 0.0,
        "temperature": 1.0,
        "cfg_coef": 3.0,
        "extend_stride": 18.0,
        "decoding_steps": [8, 4, 4, 2],
        "max_cfg_coef": 10.0,
        "min_cfg_coef": 1.0,
        "span_arrangement": "nonoverlap",
    }
    assert json.loads(json.dumps(data)) == data


def test_dict_round_trip_through_json() -> None:
    params = GenerationParams(
        duration=12.0,
        use_sampling=True,
        top_k=0,
        top_p=0.9,
        temperature=3.0,
        cfg_coef=5.5,
        extend_stride=9.0,
        decoding_steps=(30, 12, 8, 4),
        max_cfg_coef=8.0,
        min_cfg_coef=2.0,
        span_arrangement="stride1",
    )
    restored = GenerationParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert restored == params
    assert isinstance(restored.decoding_steps, tuple)


def test_from_dict_ignores_unknown_keys_and_fills_missing_ones_with_defaults() -> None:
    restored = GenerationParams.from_dict({"top_k": 50, "added_in_a_later_version": True})
    assert restored == GenerationParams(top_k=50)


def test_from_dict_validates() -> None:
    with pytest.raises(InvalidParameterError, match="top-p"):
        GenerationParams.from_dict({"top_p": 2})


# Gaps found while writing these tests (core/params.py, reported): values of the wrong type, e.g. from a
# hand-edited sidecar, escape as TypeError/ValueError, and NaN slips through where only a sign is checked.
WRONG_TYPE_OR_NAN = [
    dict(top_k="many"),
    dict(duration="5"),
    dict(temperature=None),
    dict(decoding_steps=("a",)),
    dict(decoding_steps=5),
    dict(top_k=2.5),
    dict(extend_stride=math.nan),
    dict(max_cfg_coef=math.nan),
    dict(min_cfg_coef=math.nan),
]


@pytest.mark.parametrize("data", WRONG_TYPE_OR_NAN, ids=[repr(d) for d in WRONG_TYPE_OR_NAN])
def test_from_dict_rejects_wrong_types_and_nan_with_invalid_parameter_error(data: dict) -> None:
    with pytest.raises(InvalidParameterError):
        GenerationParams.from_dict(data)


def test_the_options_table_sets_every_field_once_and_both_parsers_read_it() -> None:
    """core.options is the one table: each GenerationParams field has one option, `generate` and a manifest row
    accept the same spellings, and the families' unused fields follow from it."""
    import argparse
    import dataclasses

    from core import options
    from core.cli.main import build_parser
    from core.render.manifest import row_parser

    fields = [f.name for f in dataclasses.fields(GenerationParams)]
    assert sorted(options.BY_FIELD) == sorted(fields)
    generate = build_parser()._subparsers._group_actions[0].choices["generate"]
    flags = {opt for action in generate._actions for opt in action.option_strings}
    row_flags = {opt for action in row_parser()._actions for opt in action.option_strings} - {"-h", "--help"}
    assert row_flags == {o.flag for o in options.OPTIONS if o.manifest} and row_flags <= flags
    args = argparse.Namespace(cfg=2.0, greedy=True, decoding_steps=(5, 5), top_k=None)
    assert options.param_changes(args) == {"cfg_coef": 2.0, "use_sampling": False, "decoding_steps": (5, 5)}
    assert options.given_fields(args) == {"cfg_coef", "decoding_steps"}
    assert set(options.UNUSED_BY["magnet"]) == {"cfg_coef", "extend_stride"}
    assert options.flag_of("max_cfg_coef") == "--max-cfg" and "span_arrangement" not in options.fields_used(None)

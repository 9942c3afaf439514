"""Precision modes end to end: the resolved mode recorded, batched variations equal takes made alone."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

from core.cancel import CancelToken
from core.engine import Engine, GenerationRequest, generate_variations
from core.errors import GenerationCancelled, InsufficientMemoryError, InvalidParameterError
from core.models.int8_cache import CACHE_ENV
from core.models.memory import check_fits
from core.nn import kernels
from core.params import GenerationParams
from core.takes.audio_io import load_audio

SAMPLED = GenerationParams(duration=0.5, top_k=10)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))


@pytest.mark.parametrize(
    "precision, plain",
    [("fp32", False), ("fp32", True), ("int8", False), ("int4", False)],
    ids=["fp32", "fp32-plain", "int8", "int4"],
)
def test_batched_variations_equal_each_take_made_alone(fixtures_dir, precision, plain):
    """Through the packed float32 kernel (rows independent: one call for the batch), the plain one (MKL, called
    per take), int8 and int4."""
    if precision == "int4" and not kernels.available(kernels.INT4_MM):
        pytest.skip("no 4-bit kernel on this CPU")
    with kernels.forced(kernels.ONEDNN_F32, False) if plain else nullcontext():
        _check_batched_variations(Engine(precision=precision).load(fixtures_dir / "musicgen"), precision)


def _check_batched_variations(model, precision: str) -> None:
    request = GenerationRequest("dog barking", SAMPLED, seed=40)
    delivered = []
    takes = generate_variations(model, request, 3, on_take=delivered.append, batch=2)  # batches [40, 41], [42]
    assert [t.seed for t in takes] == [40, 41, 42] and delivered == takes
    assert [t.extra["batch_size"] for t in takes] == [2, 2, 1]
    for take in takes:
        alone = model.generate(GenerationRequest("dog barking", SAMPLED, seed=take.seed))
        np.testing.assert_array_equal(take.codes, alone.codes)
        assert take.extra["precision"] == alone.extra["precision"] == precision
    assert not np.array_equal(takes[0].codes, takes[1].codes)


def test_batched_continuation_equals_each_take_made_alone(fixtures_dir, audio_dir):
    model = Engine().load(fixtures_dir / "musicgen")
    clip = load_audio(audio_dir / "bach.mp3", max_seconds=0.3)
    request = GenerationRequest("piano", GenerationParams(duration=0.8, top_k=10), seed=3, continuation=clip)
    takes = generate_variations(model, request, 2)
    for take in takes:
        alone = model.generate(GenerationRequest("piano", request.params, seed=take.seed, continuation=clip))
        np.testing.assert_array_equal(take.codes, alone.codes)


def test_a_cancelled_run_keeps_the_finished_batches(fixtures_dir):
    model = Engine().load(fixtures_dir / "audiogen")
    token, delivered = CancelToken(), []

    def keep(take):
        delivered.append(take)
        token.cancel()  # the user cancels while the second batch runs

    with pytest.raises(GenerationCancelled):
        generate_variations(model, GenerationRequest("rain", SAMPLED, seed=1), 4, cancel=token, on_take=keep, batch=2)
    assert [t.seed for t in delivered] == [1, 2]


def test_auto_resolves_to_a_concrete_mode_that_takes_record(fixtures_dir):
    engine = Engine(precision="auto")
    model = engine.load(fixtures_dir / "audiogen")
    assert model.precision in ("fp32", "bf16", "int8")
    take = model.generate(GenerationRequest("rain", SAMPLED, seed=1))
    assert take.extra["precision"] == model.precision
    assert engine.load(fixtures_dir / "audiogen", precision="fp32").precision == "fp32"
    assert engine.loaded() == [str(fixtures_dir / "audiogen")]  # one precision of a model at a time


def test_unknown_precision_is_a_sentence():
    with pytest.raises(InvalidParameterError, match="Precision must be one of auto, fp32, bf16, int8"):
        Engine(precision="fp16")


def test_a_model_that_cannot_fit_is_refused_before_loading(fixtures_dir):
    folder = fixtures_dir / "musicgen"
    with pytest.raises(InsufficientMemoryError, match=r"needs about .* GB of memory in fp32 but only"):
        check_fits("facebook/musicgen-large", folder, "fp32", available=1000)
    check_fits("facebook/musicgen-large", folder, "fp32", available=1 << 40)


def test_auto_is_measured_once_per_machine_and_remembered(tmp_path, monkeypatch):
    """Every process resolves auto alike: the measured choice is kept in the cache folder and read back."""
    from core.models.disk_cache import read_checked_json, write_checked_json
    from core.models.precision import resolve_precision

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "fresh"))
    first = resolve_precision("auto")
    stored_path = tmp_path / "fresh" / "auto.json"
    stored = read_checked_json(stored_path)
    assert list(stored.values()) == [first]
    other = next(p for p in ("fp32", "bf16", "int8") if p != first)
    write_checked_json(stored_path, {key: other for key in stored})
    assert resolve_precision("auto") == other
    stored_path.write_text(stored_path.read_text().replace(other, first))  # changed by hand: not trusted
    assert resolve_precision("auto") == first and read_checked_json(stored_path) == stored


@pytest.mark.parametrize("name", ["magnet", "audio-magnet"])
def test_masked_models_run_in_int8_reproducibly(fixtures_dir, name):
    """MAGNeT's full-sequence passes in int8: the same take twice (its output heads run through their int8 form;
    the released float weights are shape-only then, and reading them gave different takes run to run)."""
    engine = Engine(precision="int8")
    model = engine.load(fixtures_dir / name)
    assert model.precision == "int8"
    assert engine.load(fixtures_dir / name) is model  # asked again: not reloaded
    params = model.default_params.replace(duration=1.0)
    takes = [model.generate(GenerationRequest("dog barking", params, seed=4)) for _ in range(2)]
    assert takes[0].extra["precision"] == "int8"
    np.testing.assert_array_equal(takes[0].codes, takes[1].codes)


def test_one_take_is_a_batch_of_one_through_the_one_entry(fixtures_dir):
    """core.generation.generate.generate_takes serves a take alone, a run of one and a batch: the same codes,
    `elapsed_s` stamped once per take, `batch_size` only on takes decoded together."""
    from core.generation.generate import generate_takes

    model = Engine().load(fixtures_dir / "musicgen")
    request = GenerationRequest("dog barking", SAMPLED, seed=5)
    alone, [entry], [run] = (
        model.generate(request),
        generate_takes(model, request),
        generate_variations(model, request, 1),
    )
    for take in (alone, entry, run):
        np.testing.assert_array_equal(take.codes, alone.codes)
        assert take.extra["elapsed_s"] > 0 and "batch_size" not in take.extra
    frames: list[int] = []
    [batched, _] = generate_takes(model, request, [5, 6], on_frames=lambda i, codes: frames.append(i), first=2)
    np.testing.assert_array_equal(batched.codes, alone.codes)
    assert set(frames) == {2, 3}


def test_int4_without_its_kernel_loads_int8_and_takes_say_so(fixtures_dir):
    with kernels.forced(kernels.INT4_MM, False):
        model = Engine(precision="int4").load(fixtures_dir / "musicgen")
        take = model.generate(GenerationRequest("rain", SAMPLED, seed=1))
    assert model.precision == take.extra["precision"] == "int8"
    assert model.record.kernel != kernels.INT4_MM

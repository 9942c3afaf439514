"""Melody takes end to end (chroma conditioning, demucs stems, seeds) and audio dropped in by users."""

from __future__ import annotations

import numpy as np
import pytest

from core.engine import Engine, GenerationRequest
from core.errors import InvalidParameterError
from core.params import GenerationParams
from core.takes.audio_io import AudioClip, load_audio

PROMPTS = ["dog barking", "sirens of an emergency vehicle", "footsteps in a corridor"]
GREEDY = GenerationParams(duration=1.0, use_sampling=False, cfg_coef=3.0)


@pytest.fixture(scope="module")
def engine():
    return Engine()


def _npz(fixtures_dir, folder, name):
    return np.load(fixtures_dir / folder / name, allow_pickle=False)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_melody_take_without_separation_matches_audiocraft(engine, fixtures_dir, index):
    single = _npz(fixtures_dir, "musicgen-melody", "reference_single.npz")
    melodies = _npz(fixtures_dir, "musicgen-melody", "reference_outputs.npz")["melody.wav"]
    model = engine.load(fixtures_dir / "musicgen-melody")
    assert model.capabilities.melody
    text_only = model.generate(GenerationRequest(PROMPTS[index], GREEDY, 0))
    np.testing.assert_array_equal(text_only.codes, single[f"gen1.{index}.tokens"][0])
    clip = AudioClip(melodies[index], 32000)
    take = model.generate(GenerationRequest(PROMPTS[index], GREEDY, 0, melody=clip, separate_melody=False))
    np.testing.assert_array_equal(take.codes, single[f"melody.gen1.{index}.tokens"][0])
    np.testing.assert_allclose(take.wav, single[f"melody.gen1.{index}.wav"][0], atol=1e-4)


@pytest.mark.parametrize("index", [0, 2])
def test_melody_take_with_demucs_stems_matches_audiocraft(engine, fixtures_dir, index):
    """The demucs shift comes from the take's seed: seed 100 draws 4773, the offset audiocraft recorded."""
    single = _npz(fixtures_dir, "musicgen-melody-demucs", "reference_single.npz")
    melodies = _npz(fixtures_dir, "musicgen-melody", "reference_outputs.npz")["melody.wav"]
    assert int(single[f"melody.gen1.{index}.shift_offset"][0]) == 4773
    model = engine.load(fixtures_dir / "musicgen-melody-demucs")
    take = model.generate(GenerationRequest(PROMPTS[index], GREEDY, 100, melody=AudioClip(melodies[index], 32000)))
    np.testing.assert_array_equal(take.codes, single[f"melody.gen1.{index}.tokens"][0])
    np.testing.assert_allclose(take.wav, single[f"melody.gen1.{index}.wav"][0], atol=1e-4)


def test_injected_shift_offset_matches_the_bach_recording(engine, fixtures_dir):
    refs = _npz(fixtures_dir, "musicgen-melody-demucs", "reference_outputs.npz")
    model = engine.load(fixtures_dir / "musicgen-melody-demucs")
    clip = AudioClip(refs["bach.input_wav"][0], 32000)
    offset = int(refs["bach.shift_offset"][0])
    take = model.generate(GenerationRequest("classical piano piece", GREEDY, 0, melody=clip, shift_offset=offset))
    np.testing.assert_array_equal(take.codes, refs["bach.gen.tokens"][0])


def test_melody_from_a_real_mp3_is_reproducible(engine, fixtures_dir, audio_dir):
    model = engine.load(fixtures_dir / "musicgen-melody")
    clip = load_audio(audio_dir / "bach.mp3", max_seconds=model.max_duration)
    params = GenerationParams(duration=0.5, top_k=10)
    a = model.generate(GenerationRequest("piano", params, 3, melody=clip, separate_melody=False))
    b = model.generate(GenerationRequest("piano", params, 3, melody=clip, separate_melody=False))
    plain = model.generate(GenerationRequest("piano", params, 3))
    np.testing.assert_array_equal(a.codes, b.codes)
    assert not np.array_equal(a.codes, plain.codes)
    assert a.extra["melody"] == str(audio_dir / "bach.mp3")


def test_melody_on_a_text_only_model_is_a_clear_error(engine, fixtures_dir, audio_dir):
    model = engine.load(fixtures_dir / "musicgen")
    clip = load_audio(audio_dir / "bach.mp3", max_seconds=2)
    with pytest.raises(InvalidParameterError, match="does not take a melody"):
        model.generate(GenerationRequest("piano", GREEDY, 0, melody=clip))


def test_stereo_model_continues_a_mono_44k_recording(engine, fixtures_dir, audio_dir):
    """Dropped audio of any rate/channel count is converted as audiocraft's convert_audio does."""
    model = engine.load(fixtures_dir / "musicgen-stereo")
    clip = load_audio(audio_dir / "CJ_Beatbox_Loop_05_90.wav", max_seconds=0.5)
    take = model.generate(GenerationRequest("beatbox", GREEDY.replace(duration=1.0), 0, continuation=clip))
    assert take.wav.shape == (2, 32000) and take.codes.shape == (8, 50)
    prompt_codes = model.codec.encode(_model_audio(clip, model))
    np.testing.assert_array_equal(take.codes[:, :25], prompt_codes[0].numpy())


def _model_audio(clip, model):
    from core.generation.generate import to_model_audio

    return to_model_audio(clip, model.sample_rate, model.channels)


def test_continuation_longer_than_the_take_is_refused(engine, fixtures_dir, audio_dir):
    model = engine.load(fixtures_dir / "audiogen")
    clip = load_audio(audio_dir / "sirens_and_a_humming_engine_approach_and_pass.mp3")
    with pytest.raises(InvalidParameterError, match="longer duration"):
        model.generate(GenerationRequest("sirens", GREEDY.replace(duration=0.5), 0, continuation=clip))

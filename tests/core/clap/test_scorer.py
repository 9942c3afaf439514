"""CLAP text match: equal to a direct ClapModel computation, long takes as the mean over windows, edge cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import soxr

from core.clap.loading import clap_for_model, load_clap
from core.clap.ranking import score_take_file
from core.clap.scorer import ClapScorer
from core.engine import Engine
from core.errors import ModelNotFoundError
from core.takes.take import save_take
from tests.core.clap.clap_helpers import GENERAL, MUSIC, make_take, noise


def test_score_equals_direct_clapmodel_computation(tmp_path, reference_general):
    rng = np.random.default_rng(3)
    t = np.arange(16000 * 2) / 16000
    wav = (0.4 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size))[None].astype(np.float32)
    files = save_take(make_take(wav, prompt="sirens of an emergency vehicle"), tmp_path, "siren")
    engine = Engine()
    score = score_take_file(files.sidecar, engine.clap)
    audio, rate = sf.read(files.wav, dtype="float32", always_2d=True)
    expected = reference_general.cosine("sirens of an emergency vehicle", audio, rate)
    assert score == pytest.approx(expected, abs=1e-5)
    assert json.loads(files.sidecar.read_text())["text_match"] == pytest.approx(expected, abs=1e-5)


def test_stereo_music_take_uses_music_clap_on_the_mono_mix(tmp_path, reference_music):
    wav = noise(1.0, rate=32000, seed=5, channels=2)
    take = make_take(wav, rate=32000, prompt="calm piano", model="facebook/musicgen-stereo-small")
    files = save_take(take, tmp_path, "piano")
    score = score_take_file(files.sidecar, Engine().clap)
    audio, rate = sf.read(files.wav, dtype="float32", always_2d=True)
    assert score == pytest.approx(reference_music.cosine("calm piano", audio, rate), abs=1e-5)


def test_long_take_scores_as_mean_over_windows(reference_general):
    rate, seconds = 16000, 25.0
    wav = noise(seconds, rate, seed=9)
    scorer = Engine().clap(GENERAL)
    score = scorer.text_match("footsteps in a corridor", wav, rate)
    mono48 = soxr.resample(wav[0], rate, 48000, quality="VHQ").astype(np.float32)
    window = 480000  # 10 s at 48 kHz; three windows starting at 0, 7.5 and 15 s cover 25 s
    starts = [0, (mono48.size - window) // 2, mono48.size - window]
    text = reference_general.text("footsteps in a corridor")
    cosines = [float(text @ reference_general.audio(mono48[s : s + window])) for s in starts]
    assert len(scorer.windows(wav, rate)) == 3
    assert score == pytest.approx(np.mean(cosines), abs=1e-5)


@pytest.mark.parametrize("wav", [np.zeros((1, 16000 * 2), np.float32), noise(0.1, seed=1)], ids=["silent", "0.1s"])
def test_silent_and_very_short_takes_score(tmp_path, wav, reference_general):
    files = save_take(make_take(wav), tmp_path, "edge")
    score = score_take_file(files.sidecar, Engine().clap)
    assert np.isfinite(score) and -1.0 <= score <= 1.0
    audio, rate = sf.read(files.wav, dtype="float32", always_2d=True)
    assert score == pytest.approx(reference_general.cosine("dog barking", audio, rate), abs=1e-5)


def test_engine_loads_clap_once_and_unload_frees_it(clap_fixtures):
    engine = Engine()
    first = engine.clap(MUSIC)
    assert engine.clap(MUSIC) is first
    assert isinstance(first, ClapScorer) and first.sample_rate == 48000
    engine.unload()
    assert engine.clap(MUSIC) is not first


def test_missing_clap_offline_is_a_sentence(clap_fixtures):
    with pytest.raises(ModelNotFoundError, match="not in the local Hugging Face cache"):
        load_clap("laion/clap-that-is-not-downloaded")


def test_music_models_use_the_music_clap():
    assert clap_for_model("facebook/musicgen-small", 32000) == MUSIC
    assert clap_for_model("facebook/magnet-small-10secs", 32000) == MUSIC
    assert clap_for_model("facebook/audiogen-medium", 16000) == GENERAL
    assert clap_for_model("facebook/audio-magnet-small", 16000) == GENERAL
    assert clap_for_model("/my/models/local-sfx", 16000) == GENERAL
    # a local folder: the task its takes record decides, whatever their rate (a 32 kHz sound model)
    assert clap_for_model("/my/models/sfx-32k", 32000, "sound") == GENERAL
    assert clap_for_model("/my/models/music-16k", 16000, "music") == MUSIC


@pytest.mark.parametrize(("name", "expected"), [("musicgen", MUSIC), ("audio-magnet", GENERAL)])
def test_a_take_records_the_task_that_picks_its_clap(fixtures_dir, name, expected):
    """A local folder is not in the catalog: the take's recorded task (from the checkpoint) picks the CLAP."""
    from core.engine import Engine, GenerationRequest

    model = Engine(precision="fp32").load(fixtures_dir / name)
    take = model.generate(GenerationRequest("rain on a roof", model.default_params.replace(duration=1.0), 1))
    assert take.extra["task"] == model.capabilities.task
    assert clap_for_model(str(fixtures_dir / name), take.sample_rate, take.extra["task"]) == expected

"""The model catalog lists every released audiocraft model with the facts and defaults Meta published."""

from __future__ import annotations

import pytest

from core.models.catalog import CATALOG

M = 10**6

# id: (family, task, size, sample rate, channels, LM parameters, seconds per window, melody)
# Sample rates and windows from audiocraft's configs and get_pretrained (MusicGen 30 s; AudioGen and
# audio-MAGNeT 10 s at 16 kHz; MAGNeT its segment_duration); parameter counts from the model cards.
RELEASED = {
    "facebook/musicgen-small": ("musicgen", "music", "small", 32000, 1, 300 * M, 30.0, False),
    "facebook/musicgen-medium": ("musicgen", "music", "medium", 32000, 1, 1500 * M, 30.0, False),
    "facebook/musicgen-large": ("musicgen", "music", "large", 32000, 1, 3300 * M, 30.0, False),
    "facebook/musicgen-melody": ("musicgen", "music", "medium", 32000, 1, 1500 * M, 30.0, True),
    "facebook/musicgen-stereo-small": ("musicgen", "music", "small", 32000, 2, 300 * M, 30.0, False),
    "facebook/musicgen-stereo-medium": ("musicgen", "music", "medium", 32000, 2, 1500 * M, 30.0, False),
    "facebook/musicgen-stereo-large": ("musicgen", "music", "large", 32000, 2, 3300 * M, 30.0, False),
    "facebook/musicgen-stereo-melody": ("musicgen", "music", "medium", 32000, 2, 1500 * M, 30.0, True),
    "facebook/audiogen-medium": ("audiogen", "sound", "medium", 16000, 1, 1500 * M, 10.0, False),
    "facebook/magnet-small-10secs": ("magnet", "music", "small", 32000, 1, 300 * M, 10.0, False),
    "facebook/magnet-medium-10secs": ("magnet", "music", "medium", 32000, 1, 1500 * M, 10.0, False),
    "facebook/magnet-small-30secs": ("magnet", "music", "small", 32000, 1, 300 * M, 30.0, False),
    "facebook/magnet-medium-30secs": ("magnet", "music", "medium", 32000, 1, 1500 * M, 30.0, False),
    "facebook/audio-magnet-small": ("magnet", "sound", "small", 16000, 1, 300 * M, 10.0, False),
    "facebook/audio-magnet-medium": ("magnet", "sound", "medium", 16000, 1, 1500 * M, 10.0, False),
}

# The keyword defaults of audiocraft 1.3's set_generation_params (models/musicgen.py, audiogen.py, magnet.py),
# except the duration: MusicGen.__init__ / AudioGen.__init__ set 15 s / 5 s when a model is loaded.
MUSICGEN_DEFAULTS = dict(
    use_sampling=True, top_k=250, top_p=0.0, temperature=1.0, duration=15.0, cfg_coef=3.0, extend_stride=18.0
)
AUDIOGEN_DEFAULTS = dict(
    use_sampling=True, top_k=250, top_p=0.0, temperature=1.0, duration=5.0, cfg_coef=3.0, extend_stride=2.0
)
MAGNET_DEFAULTS = dict(
    use_sampling=True,
    top_k=0,
    top_p=0.9,
    temperature=3.0,
    max_cfg_coef=10.0,
    min_cfg_coef=1.0,
    decoding_steps=(20, 10, 10, 10),
    span_arrangement="nonoverlap",
)


def test_catalog_holds_exactly_the_released_models() -> None:
    assert set(CATALOG) == set(RELEASED)


@pytest.mark.parametrize("model_id", sorted(RELEASED))
def test_released_model_facts(model_id: str) -> None:
    family, task, size, rate, channels, params, window, melody = RELEASED[model_id]
    spec = CATALOG[model_id]
    assert spec.id == model_id
    assert (spec.family, spec.task, spec.size) == (family, task, size)
    assert (spec.sample_rate, spec.channels) == (rate, channels)
    assert spec.parameters == params
    assert spec.max_duration == window
    assert spec.melody is melody
    assert spec.licence == "CC-BY-NC-4.0"
    assert spec.autoregressive is (family != "magnet")


@pytest.mark.parametrize("model_id", sorted(RELEASED))
def test_defaults_match_audiocraft_set_generation_params(model_id: str) -> None:
    spec = CATALOG[model_id]
    expected = {"musicgen": MUSICGEN_DEFAULTS, "audiogen": AUDIOGEN_DEFAULTS, "magnet": MAGNET_DEFAULTS}
    wanted = dict(expected[spec.family])
    if spec.family == "magnet":
        # MAGNeT generates exactly its training segment: 10 s or 30 s.
        wanted["duration"] = RELEASED[model_id][6]
    actual = {name: getattr(spec.defaults, name) for name in wanted}
    assert actual == wanted


def test_extend_stride_fits_inside_one_window() -> None:
    """audiocraft asserts extend_stride < max_duration; a default that breaks it could never generate."""
    for spec in CATALOG.values():
        if spec.autoregressive:
            assert 0 < spec.defaults.extend_stride < spec.max_duration, spec.id


def test_labels_name_task_size_and_rate() -> None:
    assert CATALOG["facebook/musicgen-small"].label == "musicgen-small (music, 300M, 32 kHz)"
    assert CATALOG["facebook/audiogen-medium"].label == "audiogen-medium (sound, 1.5B, 16 kHz)"
    assert CATALOG["facebook/musicgen-large"].label == "musicgen-large (music, 3.3B, 32 kHz)"

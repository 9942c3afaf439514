"""The capabilities record: read from each fixture checkpoint's xp.cfg, the same shape as the catalog's promise."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from core.errors import CheckpointError
from core.models.capabilities import Capabilities
from core.models.catalog import CATALOG
from core.models.checkpoint import load_weights_file, parse_xp_cfg

# folder -> (family, task, sample rate, channels, melody), as the fixtures README says each was exported
EXPECTED = {
    "musicgen": ("musicgen", "music", 32000, 1, False),
    "musicgen-stereo": ("musicgen", "music", 32000, 2, False),
    "musicgen-melody": ("musicgen", "music", 32000, 1, True),
    "audiogen": ("audiogen", "sound", 16000, 1, False),
    "magnet": ("magnet", "music", 32000, 1, False),
    "audio-magnet": ("magnet", "sound", 16000, 1, False),
}


def _capabilities(folder) -> Capabilities:
    path = folder / "state_dict.bin"
    cfg = parse_xp_cfg(load_weights_file(path), path)
    melody = "self_wav" in (cfg.get("conditioners") or {})
    return Capabilities.from_config(cfg, melody, path.name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_checkpoint_says_what_it_can_do(fixtures_dir, name):
    can = _capabilities(fixtures_dir / name)
    family, task, rate, channels, melody = EXPECTED[name]
    assert (can.family, can.task, can.sample_rate, can.channels, can.melody) == (family, task, rate, channels, melody)
    masked = family == "magnet"
    assert can.masked is masked and can.autoregressive is not masked and can.continuation is not masked
    assert can.explainable is (not masked and not melody)
    assert (can.why_not_explainable() is None) is can.explainable
    assert can.separable is (task == "music")
    assert can.longest_take >= can.max_duration
    if masked:
        assert can.defaults.duration == can.max_duration and can.longest_take == can.max_duration
    else:
        assert can.defaults.duration <= can.max_duration


def test_the_reasons_a_user_reads(fixtures_dir):
    assert "MAGNeT takes cannot be explained" in _capabilities(fixtures_dir / "magnet").why_not_explainable()
    assert "Melody takes" in _capabilities(fixtures_dir / "musicgen-melody").why_not_explainable()
    assert "Sound-effect takes" in _capabilities(fixtures_dir / "audiogen").why_not_separable()


def test_catalog_entries_promise_the_same_record_shape():
    for spec in CATALOG.values():
        can = Capabilities.from_spec(spec)
        assert (can.family, can.task, can.sample_rate, can.channels) == (
            spec.family,
            spec.task,
            spec.sample_rate,
            spec.channels,
        )
        assert can.title in ("MusicGen", "AudioGen", "MAGNeT")
        assert can.masked is (spec.family == "magnet")


def test_an_unknown_solver_is_a_sentence_not_a_guess():
    cfg = OmegaConf.create({"solver": "vocoder", "lm_model": "transformer_lm", "sample_rate": 24000})
    with pytest.raises(CheckpointError, match="solver 'vocoder' is not a model family"):
        Capabilities.from_config(cfg, False, "state_dict.bin")
    cfg = OmegaConf.create({"solver": "musicgen", "lm_model": "transformer_lm_magnet", "sample_rate": 32000})
    with pytest.raises(CheckpointError, match="a musicgen checkpoint with a transformer_lm_magnet LM"):
        Capabilities.from_config(cfg, False, "state_dict.bin")

"""Level meters: BS.1770 against its defining sine; audiocraft's audio_write against the recorded fixture."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from core.errors import InvalidParameterError
from core.export.loudness import (
    audiocraft_lkfs,
    audiocraft_normalize,
    integrated_lufs,
    loudness_gain,
    peak_dbfs,
    peak_gain,
)


def _sine(freq: float, amplitude: float, rate: int, seconds: float = 3.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.tile(amplitude * np.sin(2 * np.pi * freq * t), (channels, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def musicgen_refs(fixtures_dir):
    folder = fixtures_dir / "musicgen"
    arrays = np.load(folder / "reference_outputs.npz", allow_pickle=False)
    summary = json.loads((folder / "reference_outputs.json").read_text())["summary"]["loudness"]
    return arrays, summary


@pytest.mark.parametrize("case", [0, 1])
def test_audiocraft_strategy_matches_audio_write_fixture(musicgen_refs, case: int) -> None:
    arrays, _ = musicgen_refs
    source = arrays["comp.input_wav"][0] if case == 0 else arrays["gen.wav"][0]  # [1, 32000]
    out = audiocraft_normalize(source, 32000, headroom_db=14.0, compressor=True)
    expected = arrays[f"loudness.{case}.out"]
    assert out.shape == expected.shape and out.dtype == np.float32
    assert np.max(np.abs(out - expected)) < 1e-4


@pytest.mark.parametrize("case", [0, 1])
def test_audiocraft_meter_matches_recorded_input_loudness(musicgen_refs, case: int) -> None:
    arrays, summary = musicgen_refs
    source = arrays["comp.input_wav"][0] if case == 0 else arrays["gen.wav"][0]
    assert audiocraft_lkfs(source, 32000) == pytest.approx(summary[case]["input_lkfs"], abs=1e-3)


@pytest.mark.parametrize("rate", [32000, 48000])
@pytest.mark.parametrize("meter", [integrated_lufs, audiocraft_lkfs])
def test_997hz_sine_reads_as_bs1770_defines(meter, rate: int) -> None:
    # BS.1770-4: a 0 dBFS 997 Hz sine in one front channel reads -3.01 LKFS; level scales 1:1 in dB.
    amplitude = 0.25
    expected = -3.01 + 20 * math.log10(amplitude)
    assert meter(_sine(997.0, amplitude, rate), rate) == pytest.approx(expected, abs=0.05)


def test_stereo_sums_channel_powers() -> None:
    mono = integrated_lufs(_sine(997.0, 0.25, 48000), 48000)
    stereo = integrated_lufs(_sine(997.0, 0.25, 48000, channels=2), 48000)
    assert stereo - mono == pytest.approx(10 * math.log10(2), abs=0.01)


def test_audiocraft_meter_clamps_its_filter_output_like_torchaudio() -> None:
    # Full-scale 3 kHz square wave: the +4 dB K-weighting shelf pushes it past 1.0, which torchaudio clamps.
    rate = 32000
    t = np.arange(rate * 2) / rate
    square = np.sign(np.sin(2 * np.pi * 3000 * t))[None].astype(np.float32)
    assert audiocraft_lkfs(square, rate) < integrated_lufs(square, rate) - 1.0


def test_silence_and_short_audio() -> None:
    silence = np.zeros((1, 48000), np.float32)
    assert integrated_lufs(silence, 48000) == -math.inf
    assert loudness_gain(silence, 48000, -14.0) == 1.0
    assert peak_dbfs(silence) == -math.inf and peak_gain(silence, -1.0) == 1.0
    assert np.array_equal(audiocraft_normalize(silence, 48000), silence)
    with pytest.raises(InvalidParameterError, match="0.4 s"):
        integrated_lufs(np.ones((1, 1000), np.float32) * 0.1, 48000)


def test_gains_hit_their_targets() -> None:
    wav = _sine(440.0, 0.3, 48000)
    assert peak_dbfs(wav * peak_gain(wav, -6.0)) == pytest.approx(-6.0, abs=1e-4)
    assert integrated_lufs(wav * loudness_gain(wav, 48000, -23.0), 48000) == pytest.approx(-23.0, abs=0.01)

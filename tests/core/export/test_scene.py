"""Scenes: layers on one timeline exported as equal-length stems that sum to the exported mix."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

import core.takes.atomic
from core.errors import ExportError, InvalidParameterError
from core.export.scene import Layer, Scene, build_layers, export_stems, load_scene, save_scene
from core.export.writer import ExportSettings
from core.takes.take import save_take
from tests.core.export.test_export import make_take, noise_tone

PCM_BITS = {"wav16": 16, "wav24": 24, "flac16": 16, "flac24": 24}


@pytest.fixture
def takes(tmp_path):
    """Three takes that differ in rate, channels and length."""
    folder = tmp_path / "takes"
    rain = make_take(noise_tone(channels=2, seconds=2.0, seed=1), prompt="rain on a roof", seed=1)
    dog = make_take(noise_tone(channels=1, seconds=1.0, seed=2), prompt="dog barking", seed=2)
    car = make_take(noise_tone(channels=1, seconds=1.5, rate=16000, seed=3), rate=16000, prompt="car pass", seed=3)
    return [save_take(take, folder, name).sidecar for take, name in ((rain, "rain"), (dog, "dog"), (car, "car"))]


@pytest.fixture
def scene(takes):
    return Scene(
        "alley",
        (
            Layer(takes[0], offset=0.0, gain_db=-3.0),
            Layer(takes[1], offset=0.5, gain_db=2.0, name="dog close"),
            Layer(takes[2], offset=1.25, gain_db=-1.0),
        ),
    )


def _read(path, dtype):
    data, rate = sf.read(path, dtype=dtype, always_2d=True)
    return data, rate, sf.info(path).subtype


@pytest.mark.parametrize("fmt", ["wav32f", "wav24", "wav16", "flac24", "flac16"])
def test_stems_have_one_shape_and_sum_to_the_mix(tmp_path, scene, fmt: str) -> None:
    result = export_stems(scene, tmp_path / "out", ExportSettings(format=fmt))
    assert [p.path.name.split("_")[1] for p in result.stems] == ["01", "02", "03"]
    assert result.stems[1].path.name.startswith("alley_02_dog close")
    assert result.mix.path.name == f"alley_mix{result.mix.path.suffix}"
    dtype = "float64" if fmt == "wav32f" else "int32"
    stems = [_read(r.path, dtype) for r in result.stems]
    mix, rate, subtype = _read(result.mix.path, dtype)
    frames = round((1.25 + 1.5) * 48000)  # the car ends last
    assert mix.shape == (frames, 2) and rate == 48000
    assert all(s.shape == mix.shape and r == rate and st == subtype for s, r, st in stems)
    total = np.sum([s.astype(np.float64 if fmt == "wav32f" else np.int64) for s, _, _ in stems], axis=0)
    if fmt == "wav32f":
        assert np.max(np.abs(total - mix)) < 1e-6
    else:  # the mix is the sum of the quantised layers: equal to the last bit
        lsb = 1 << (32 - PCM_BITS[fmt])
        assert np.max(np.abs(total - mix.astype(np.int64))) == 0
        assert np.all(total % lsb == 0)
    dog = stems[1][0]
    assert not np.any(dog[: 24000 - 1]) and np.any(dog[24000:25000])  # offset 0.5 s
    assert json.loads(result.stems[1].sidecar.read_text())["placement"]["offset"] == 0.5


def test_layer_gains_and_resampling(scene) -> None:
    stack = build_layers(scene, ExportSettings(format="wav32f", sample_rate=None))
    assert stack.sample_rate == 32000 and any("different rates" in n for n in stack.notes)
    dog = stack.layers[1]  # mono take duplicated to stereo, offset 0.5 s, +2 dB (and the common anti-clip gain)
    start, original = 16000, stack.takes[1].wav[0]
    gain = 10 ** ((2.0 + stack.scale_db) / 20)
    assert np.allclose(dog[0, start : start + original.size], original * gain, atol=1e-6)
    assert not np.any(dog[:, :start]) and not np.any(dog[:, start + original.size :])
    assert np.array_equal(dog[0], dog[1])


def test_mute_and_solo(scene, tmp_path) -> None:
    muted = Scene("m", (scene.layers[0], Layer(scene.layers[1].take, mute=True), scene.layers[2]))
    result = export_stems(muted, tmp_path, ExportSettings(format="wav16"))
    assert [r.path.name[:4] for r in result.stems] == ["m_01", "m_03"]
    soloed = Scene("s", (scene.layers[0], Layer(scene.layers[1].take, solo=True, mute=True), scene.layers[2]))
    assert soloed.audible() == [1]
    with pytest.raises(InvalidParameterError, match="muted"):
        build_layers(Scene("x", (Layer(scene.layers[0].take, mute=True),)))


def test_a_mix_that_would_clip_is_lowered_for_all_layers(tmp_path, takes) -> None:
    loud = Scene("loud", tuple(Layer(t, gain_db=12.0) for t in takes))
    result = export_stems(loud, tmp_path, ExportSettings(format="wav24"))
    assert result.scale_db < -1.0 and any("lowered" in n for n in result.notes)
    mix, _, _ = _read(result.mix.path, "int32")
    stems = [_read(r.path, "int32")[0].astype(np.int64) for r in result.stems]
    assert np.max(np.abs(mix.astype(np.int64) >> 8)) < (1 << 23) - 1  # no sample at the clip value
    assert np.array_equal(np.sum(stems, axis=0), mix)


def test_loudness_is_set_on_the_mix_with_one_gain(tmp_path, scene) -> None:
    settings = ExportSettings(format="wav32f", level="loudness", target=-20.0, fade_in=0.1, fade_out=0.2)
    result = export_stems(scene, tmp_path, settings)
    mix, rate = sf.read(result.mix.path, dtype="float64")
    assert pyloudnorm.Meter(rate).integrated_loudness(mix) == pytest.approx(-20.0, abs=0.1)
    total = np.sum([sf.read(r.path, dtype="float64")[0] for r in result.stems], axis=0)
    assert np.max(np.abs(total - mix)) < 1e-6 and mix[0].tolist() == [0.0, 0.0] and mix[-1].tolist() == [0.0, 0.0]


def test_stems_refuse_the_audiocraft_mode(scene, tmp_path) -> None:
    with pytest.raises(InvalidParameterError, match="tanh"):
        export_stems(scene, tmp_path, ExportSettings(level="audiocraft"))


def test_disk_full_during_stems_leaves_no_file(scene, tmp_path, monkeypatch) -> None:
    real, calls = os.write, []

    def write(fd, data):
        calls.append(fd)
        if len(calls) > 3:  # the first files are complete; the fourth runs out of space
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    out = tmp_path / "out"
    monkeypatch.setattr(core.takes.atomic.os, "write", write)
    with pytest.raises(ExportError, match="disk is full"):
        export_stems(scene, out, ExportSettings())
    assert list(out.iterdir()) == []


def test_scene_file_round_trip(scene, tmp_path) -> None:
    path = save_scene(scene, tmp_path / "scenes" / "alley.json")
    data = json.loads(path.read_text())
    assert data["layers"][0]["take"] == "../takes/rain.json"  # relative to the scene file
    again = load_scene(path)
    assert again.name == "alley"
    assert [layer.take.resolve() for layer in again.layers] == [layer.take.resolve() for layer in scene.layers]
    assert [(layer.offset, layer.gain_db, layer.name) for layer in again.layers] == [
        (layer.offset, layer.gain_db, layer.name) for layer in scene.layers
    ]


def test_bad_layers_are_refused(takes) -> None:
    with pytest.raises(InvalidParameterError):
        Layer(takes[0], offset=-1.0)
    with pytest.raises(InvalidParameterError):
        Layer(takes[0], gain_db=float("nan"))


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"layers": [{"offset": 1}]}', '{"layers": ["x"]}'])
def test_unreadable_scene_files_raise_export_error(tmp_path, text: str) -> None:
    path = tmp_path / "scene.json"
    path.write_text(text)
    with pytest.raises(ExportError, match="Cannot read the scene"):
        load_scene(path)

"""The `export` and `stems` subcommands end to end, through core.cli.main.main and once as a real process."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from core.cli.main import main
from core.export.scene import Layer, Scene, save_scene
from core.takes.take import save_take
from tests.conftest import ROOT
from tests.core.export.metadata_reader import read_metadata
from tests.core.export.test_export import make_take, noise_tone


@pytest.fixture
def take_json(tmp_path) -> Path:
    return save_take(make_take(noise_tone(channels=1, seconds=2.0), prompt="door slam"), tmp_path, "door").sidecar


def _paths(capsys) -> list[Path]:
    return [Path(line) for line in capsys.readouterr().out.splitlines()]


def test_export_with_format_rate_loudness_and_name(tmp_path, take_json, capsys) -> None:
    out = tmp_path / "out"
    args = ["export", str(take_json), "--format", "flac24", "--rate", "44100", "--loudness", "-18"]
    assert main([*args, "--channels", "2", "--name", "{index:02d}_{prompt}_{seed}", "--out", str(out)]) == 0
    (path,) = _paths(capsys)
    assert path == out / "01_door-slam_42.flac"
    data, rate = sf.read(path, dtype="float64")
    assert rate == 44100 and data.shape == (88200, 2) and sf.info(path).subtype == "PCM_24"
    assert pyloudnorm.Meter(rate).integrated_loudness(data) == pytest.approx(-18.0, abs=0.1)
    assert read_metadata(path)["sounddesk"]["prompt"] == "door slam"
    assert json.loads(Path(str(path) + ".json").read_text())["export"]["level"] == "loudness"


def test_export_peak_fades_trim_and_as_generated_rate(tmp_path, take_json, capsys) -> None:
    args = ["export", str(take_json), "--format", "wav32f", "--rate", "asis", "--peak", "-3", "--fade-in", "0.1"]
    assert main([*args, "--fade-out", "0.1", "--trim", "--out", str(tmp_path)]) == 0
    (path,) = _paths(capsys)
    data, rate = sf.read(path, dtype="float64")
    assert rate == 32000 and data[0] == 0.0 and data[-1] == 0.0
    assert 20 * math.log10(np.max(np.abs(data))) == pytest.approx(-3.0, abs=0.01)


def test_export_audiocraft_loudness_and_ucs(tmp_path, take_json, capsys) -> None:
    args = ["export", str(take_json), "--audiocraft-loudness", "--ucs", "DOORWood", "--ucs-creator", "JD"]
    assert main([*args, "--out", str(tmp_path), "--format", "wav16"]) == 0
    (path,) = _paths(capsys)
    assert path.name == "DOORWood_Door Slam_JD_SoundDesk.wav"
    assert json.loads(Path(str(path) + ".json").read_text())["export"]["level"] == "audiocraft"


def test_existing_names_get_a_suffix_unless_overwrite(tmp_path, take_json, capsys) -> None:
    base = ["export", str(take_json), "--out", str(tmp_path / "out")]
    assert main(base) == 0 and main(base) == 0
    first, second = _paths(capsys)
    assert second.name == first.stem + "-2.wav"
    assert main([*base, "--overwrite"]) == 0
    assert _paths(capsys) == [first]
    assert len(list((tmp_path / "out").glob("*.wav"))) == 2


def test_user_errors_exit_2_with_one_line(tmp_path, take_json, capsys) -> None:
    assert main(["export", str(tmp_path / "missing.json"), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: Cannot read the take")
    assert main(["export", str(take_json), "--name", "{bogus}", "--out", str(tmp_path)]) == 2
    assert "{bogus}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["export", str(take_json), "--rate", "22050"])
    assert exc.value.code == 2


def test_stems_command(tmp_path, capsys) -> None:
    takes = [save_take(make_take(noise_tone(seed=i), seed=i, prompt=f"layer {i}"), tmp_path, f"t{i}").sidecar
             for i in range(2)]  # fmt: skip
    scene = save_scene(Scene("street", (Layer(takes[0]), Layer(takes[1], offset=0.25, gain_db=-6))),
                       tmp_path / "street.json")  # fmt: skip
    assert main(["stems", str(scene), "--format", "wav24", "--out", str(tmp_path / "stems")]) == 0
    paths = _paths(capsys)
    assert [p.name for p in paths] == ["street_01_layer-0.wav", "street_02_layer-1.wav", "street_mix.wav"]
    ints = [sf.read(p, dtype="int32")[0].astype(np.int64) for p in paths]
    assert ints[0].shape == ints[2].shape and np.array_equal(ints[0] + ints[1], ints[2])


def test_export_runs_as_a_process(tmp_path, take_json) -> None:
    command = [sys.executable, str(ROOT / "main.py"), "export", str(take_json), "--format", "ogg"]
    done = subprocess.run([*command, "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert sf.info(line).format == "OGG" and sf.info(line).frames == 96000

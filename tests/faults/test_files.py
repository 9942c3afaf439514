"""Fault classes 3, 6 and 8 through the CLI: bad take and scene files, batches that fail half way, NaN takes.

Each case asserts what a user sees: exit status 2, one `error:` line naming the file and field, and the files on
disk before and after (nothing half-written, nothing silently replaced or left behind unannounced).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.cli.main import main
from core.takes.schemas import load_preset
from core.takes.take import save_take
from tests.faults.helpers import files_in, tone_take


def _one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def _edited(tmp_path: Path, **changes) -> Path:
    sidecar = save_take(tone_take(), tmp_path, "door").sidecar
    data = json.loads(sidecar.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    sidecar.write_text(json.dumps(data))
    return sidecar


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"prompt": None}, "the field 'prompt' is missing; expected a text"),
        ({"seed": "abc"}, "the field 'seed' must be a whole number from 0 to 2^63-1, found 'abc'"),
        ({"seed": 2**64}, "the field 'seed' must be a whole number"),
        ({"parameters": {"duration": -1}}, "the field 'parameters' is invalid: Duration must be a positive"),
        ({"parameters": [1, 2]}, "the field 'parameters' must be an object of generation parameters"),
    ],
)
@pytest.mark.parametrize("command", ["export", "separate"])
def test_a_bad_take_file_names_file_and_field(tmp_path, capsys, command, changes, expected):
    sidecar = _edited(tmp_path, **changes)
    before = files_in(tmp_path)
    assert main([command, str(sidecar), "--out", str(tmp_path / "out")]) == 2
    line = _one_error(capsys)
    assert f"Cannot read the take {sidecar}" in line and expected in line
    assert files_in(tmp_path) == before and files_in(tmp_path / "out") == []


def test_explain_on_a_bad_take_is_one_line(tmp_path, capsys):
    sidecar = _edited(tmp_path, prompt=None)
    assert main(["explain", str(sidecar)]) == 2
    assert "the field 'prompt' is missing" in _one_error(capsys)


def test_a_take_whose_wav_is_missing_says_so(tmp_path, capsys):
    files = save_take(tone_take(), tmp_path, "door")
    files.wav.unlink()
    assert main(["export", str(files.sidecar), "--out", str(tmp_path / "out")]) == 2
    assert f"its audio file {files.wav.name} is missing" in _one_error(capsys)


@pytest.mark.parametrize(
    ("scene", "expected"),
    [
        ({"name": "s"}, "the field 'layers' is missing; expected a list of layer objects"),
        ({"layers": {"a": 1}}, "the field 'layers' must be a list of layer objects"),
        ({"layers": [{"offset": 1}]}, "the field 'layers[0].take' is missing"),
        ({"layers": [{"take": "a.json", "mute": "yes"}]}, "the field 'layers[0].mute' must be true or false"),
        ([1, 2], "the file must be a JSON object, found list"),
    ],
)
def test_a_bad_scene_file_names_file_and_field(tmp_path, capsys, scene, expected):
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(scene))
    assert main(["stems", str(path), "--out", str(tmp_path / "out")]) == 2
    line = _one_error(capsys)
    assert f"Cannot read the scene {path}" in line and expected in line


def test_a_bad_preset_names_file_and_field(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"name": "x", "parameters": {"top_p": 7}}))
    with pytest.raises(Exception, match=r"Cannot read the preset .*p\.json: the field 'parameters' is invalid: top-p"):
        load_preset(path)
    path.write_text("{not json")
    with pytest.raises(Exception, match="is not valid JSON"):
        load_preset(path)


def test_a_nan_take_is_refused_on_export(tmp_path, capsys):
    take = tone_take()
    take.wav[0, :1000] = np.nan
    sidecar = save_take(take, tmp_path, "broken").sidecar
    assert main(["export", str(sidecar), "--out", str(tmp_path / "out")]) == 2
    assert "has 1000 damaged samples (NaN or infinity)" in _one_error(capsys)
    assert files_in(tmp_path / "out") == []


def test_a_batch_that_fails_half_way_removes_what_it_wrote_and_says_so(tmp_path, capsys):
    good = [save_take(tone_take(seed=s), tmp_path, f"t{s}").sidecar for s in (1, 2)]
    bad = tone_take(seed=3)
    bad.wav[:] = np.inf
    broken = save_take(bad, tmp_path, "t3").sidecar
    out = tmp_path / "out"
    assert main(["export", *map(str, good), str(broken), "--out", str(out)]) == 2
    line = _one_error(capsys)
    assert "The 2 file(s) this batch exported before it were removed, so nothing of it was kept." in line
    assert files_in(out) == []


def test_a_batch_with_overwrite_names_the_files_it_kept(tmp_path, capsys):
    good = save_take(tone_take(seed=1), tmp_path, "t1").sidecar
    bad = tone_take(seed=3)
    bad.wav[:] = np.nan
    broken = save_take(bad, tmp_path, "t3").sidecar
    out = tmp_path / "out"
    assert main(["export", str(good), str(broken), "--overwrite", "--out", str(out)]) == 2
    line = _one_error(capsys)
    kept = sorted(out.iterdir())
    assert len(kept) == 2 and all(str(p) in line for p in kept) and "written before it and kept" in line


def test_explain_refuses_zero_epochs_before_loading(tmp_path, capsys):
    sidecar = save_take(tone_take(), tmp_path, "door").sidecar
    assert main(["explain", str(sidecar), "--epochs", "0"]) == 2
    assert "epochs must be 1 or more" in _one_error(capsys)


def test_explain_audio_twice_never_overwrites(fixtures_dir, tmp_path, capsys):
    from core.engine import Engine, GenerationRequest

    model = Engine().load(str(fixtures_dir / "audiogen"))
    take = model.generate(GenerationRequest("dog barking", model.default_params.replace(duration=0.5), seed=5))
    sidecar = save_take(take, tmp_path, "take").sidecar
    audio = tmp_path / "audio"
    args = ["explain", str(sidecar), "--epochs", "1", "--audio", str(audio)]
    assert main(args) == 0
    first = {name: (audio / name).read_bytes() for name in files_in(audio)}
    assert len(first) == 6
    assert main([*args, "--seed", "7"]) == 0
    names = files_in(audio)
    assert len(names) == 12 and {"take_factual-2.wav", "take_counterfactual-2.json"} <= set(names)
    assert all((audio / name).read_bytes() == data for name, data in first.items())  # earlier files intact
    assert main([*args, "--overwrite"]) == 0
    assert len(files_in(audio)) == 12
    capsys.readouterr()


@pytest.mark.parametrize(
    ("family", "left_out", "kept"),
    [("magnet", {"cfg_coef", "extend_stride"}, "decoding_steps"), ("audiogen", {"decoding_steps"}, "cfg_coef")],
)
def test_parameters_a_family_does_not_use_are_not_recorded(tmp_path, family, left_out, kept):
    from core.takes.library import Library

    take = tone_take()
    take.extra["family"] = family
    recorded = json.loads(save_take(take, tmp_path, "t").sidecar.read_text())["parameters"]
    assert not left_out & set(recorded) and kept in recorded
    with Library(tmp_path / "lib") as library:
        library.save(take)
        (row,) = library._db.execute("SELECT params FROM takes").fetchall()
        assert not left_out & set(json.loads(row[0])) and kept in json.loads(row[0])

"""Manifest rows are read from CSV or JSONL and checked with the `generate` command's options, line by line."""

from __future__ import annotations

import json

import pytest

from core.params import GenerationParams
from core.render.manifest import ManifestError, read_manifest


def _csv(tmp_path, text: str):
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_and_jsonl_rows_become_the_same_generate_options(fixtures_dir, tmp_path):
    model = fixtures_dir / "musicgen"
    csv_path = _csv(
        tmp_path,
        "prompt,model,duration,variations,seed,top-k,temperature,greedy,name,decoding_steps\n"
        f'"dog barking, close",{model},1.5,3,11,20,0.8,yes,dog,"5,4,3,2"\n',
    )
    row = {
        "prompt": "dog barking, close",
        "model": str(model),
        "duration": 1.5,
        "variations": 3,
        "seed": 11,
        "top_k": 20,
        "temperature": 0.8,
        "greedy": True,
        "name": "dog",
        "decoding-steps": [5, 4, 3, 2],
    }
    jsonl_path = tmp_path / "m.jsonl"
    jsonl_path.write_text(json.dumps(row) + "\n")
    for manifest, line in ((read_manifest(csv_path), 2), (read_manifest(jsonl_path), 1)):
        assert manifest.errors == []
        (spec,) = manifest.rows
        assert (spec.line, spec.prompt, spec.model, spec.seed, spec.variations, spec.name) == (
            line,
            "dog barking, close",
            str(model),
            11,
            3,
            "dog",
        )
        expected = {"duration": 1.5, "top_k": 20, "temperature": 0.8, "use_sampling": False}
        assert spec.changes == {**expected, "decoding_steps": (5, 4, 3, 2)}
        assert manifest.take_count == 3


def test_every_bad_row_is_reported_with_its_line_number(fixtures_dir, tmp_path, audio_dir):
    model = fixtures_dir / "musicgen"
    path = _csv(
        tmp_path,
        "prompt,model,duration,top_k,variations,melody,colour\n"
        f"fine,{model},1,,,,\n"
        f"negative,{model},-1,,,,\n"
        "\n"
        f"not a number,{model},1,abc,,,\n"
        f",{model},1,,,,\n"
        f"no variations,{model},1,,0,,\n"
        f"missing melody,{model},1,,,nowhere.wav,\n"
        f"unknown column,{model},1,,,,blue\n"
        f"missing model,{tmp_path / 'no-such-model'},1,,,,\n"
        f"also fine,{model},2,5,2,,\n",
    )
    manifest = read_manifest(path)
    assert [row.line for row in manifest.rows] == [2, 11]
    errors = {error.line: error.message for error in manifest.errors}
    assert sorted(errors) == [3, 5, 6, 7, 8, 9, 10]
    assert "Duration must be a positive number" in errors[3]
    assert "invalid int value: 'abc'" in errors[5]
    assert "prompt is missing" in errors[6]
    assert "variations must be at least 1" in errors[7]
    assert "nowhere.wav does not exist" in errors[8]
    assert "unknown column(s) colour" in errors[9]
    assert "does not exist" in errors[10]
    assert "2 valid row(s), 3 take(s); 7 invalid row(s)." == manifest.summary()


def test_jsonl_lines_that_are_not_objects_are_errors(fixtures_dir, tmp_path):
    path = tmp_path / "m.jsonl"
    good = json.dumps({"prompt": "a", "model": str(fixtures_dir / "musicgen")})
    path.write_text(f"{good}\n{{broken\n[1, 2]\n\n{json.dumps({'prompt': 'b', 'model': 3})}\n")
    manifest = read_manifest(path)
    assert [row.line for row in manifest.rows] == [1]
    assert [error.line for error in manifest.errors] == [2, 3, 5]
    assert "not valid JSON" in manifest.errors[0].message
    assert "model must be text" in manifest.errors[2].message


def test_values_are_checked_as_generate_checks_them(fixtures_dir, tmp_path):
    model = str(fixtures_dir / "musicgen")
    rows = [
        {"prompt": "a", "model": model, "top_p": 1.5},
        {"prompt": "b", "model": model, "span_arrangement": "diagonal"},
        {"prompt": "c", "model": model, "greedy": "maybe"},
        {"prompt": "d", "model": model, "temperature": "nan"},
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    messages = [error.message for error in read_manifest(path).errors]
    assert len(messages) == 4
    assert "top-p must lie between 0 and 1" in messages[0]
    assert "invalid choice: 'diagonal'" in messages[1]
    assert "greedy must be true or false" in messages[2]
    assert "Temperature must be a finite number" in messages[3]


def test_paths_are_relative_to_the_manifest_and_a_missing_seed_is_derived(fixtures_dir, tmp_path, audio_dir):
    folder = tmp_path / "project"
    folder.mkdir()
    melody = next(p for p in sorted(audio_dir.iterdir()) if p.suffix in (".wav", ".mp3"))
    (folder / melody.name).write_bytes(melody.read_bytes())
    (folder / "models").symlink_to(fixtures_dir)
    path = folder / "m.csv"
    path.write_text(f"prompt,model,melody\nhum,models/musicgen-melody,{melody.name}\nhum,models/musicgen,\n")
    first, second = read_manifest(path).rows
    assert first.model == str((folder / "models" / "musicgen-melody").resolve())
    assert first.melody == str(folder / melody.name)
    again = read_manifest(path).rows
    assert [r.seed for r in again] == [first.seed, second.seed]  # a rerun makes (and skips) the same takes
    assert first.seed != second.seed and 0 <= first.seed < 2**31


def test_an_unreadable_manifest_is_one_sentence(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "nothing.csv")
    (tmp_path / "empty.csv").write_text("prompt,model\n")
    with pytest.raises(ManifestError, match="holds no rows"):
        read_manifest(tmp_path / "empty.csv")


def test_defaults_are_left_to_the_model(fixtures_dir, tmp_path):
    path = _csv(tmp_path, f"prompt,model\nwind,{fixtures_dir / 'audiogen'}\n")
    (row,) = read_manifest(path).rows
    assert row.changes == {} and row.variations == 1
    assert GenerationParams().replace(**row.changes) == GenerationParams()

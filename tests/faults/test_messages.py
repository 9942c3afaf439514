"""Fault classes of issue 28 outside `render`: a prompt too long for the text encoder, loops of damaged or odd takes,
and messages that named the wrong thing. Each is one `error:` line (exit status 2) saying what is really wrong."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from core.cli.main import main
from core.params import GenerationParams
from core.takes.take import Take, save_take
from tests.core.loops.conftest import BPM, RATE, click_track
from tests.faults.helpers import files_in, tone_take


def _one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def _refused(capsys, *args: str) -> str:
    assert main(list(args)) == 2
    return _one_error(capsys)


def test_a_prompt_longer_than_the_text_encoder_reads_is_refused(fixtures_dir, tmp_path, capsys):
    prompt = "rain on a tin roof " * 5000  # 95,000 characters: T5 alone would want tens of GB
    line = _refused(capsys, "generate", prompt, "--model", str(fixtures_dir / "audiogen"), "--out", str(tmp_path))
    assert re.search(r"The prompt is [\d,]+ text tokens long \(95,000 characters\); the text encoder reads at most 512 "
                     r"tokens", line), line  # fmt: skip
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"bpm": "fast", "bars": 4}, "the field 'bpm' must be a tempo in beats per minute (a number), found 'fast'"),
        ({"bpm": 120, "bars": "four"}, "the field 'bars' must be a whole number of bars, found 'four'"),
    ],
)
def test_loop_of_a_take_with_a_bad_tempo_record_names_the_field(tmp_path, capsys, extra, expected):
    take = tone_take(seconds=2.0)
    take.extra.update(extra)
    sidecar = save_take(take, tmp_path, "door").sidecar
    line = _refused(capsys, "loop", str(sidecar), "--out", str(tmp_path / "loops"))
    assert f"Cannot read the take {sidecar}" in line and expected in line, line
    assert files_in(tmp_path / "loops") == []


def test_loop_of_a_nan_take_is_refused(tmp_path, capsys):
    take = tone_take(seconds=2.0)
    take.wav[:] = np.nan
    sidecar = save_take(take, tmp_path, "door").sidecar
    for args in (["--seamless"], ["--bpm", "120", "--bars", "1"]):
        line = _refused(capsys, "loop", str(sidecar), *args, "--out", str(tmp_path / "loops"))
        assert f"The take {sidecar.resolve()} has 32000 damaged samples (NaN or infinity)" in line, line
    assert files_in(tmp_path / "loops") == []


def test_a_loop_of_a_loop_says_why_in_numbers_that_differ(tmp_path, capsys):
    codes = np.zeros((4, 5), np.int64)
    take = Take("groove", "musicgen-small", 3, GenerationParams(duration=20.0), RATE, click_track(BPM), codes)
    source = save_take(take, tmp_path, "groove").sidecar
    assert main(["loop", str(source), "--bpm", "120", "--bars", "2", "--out", str(tmp_path / "loops")]) == 0
    loop = Path(capsys.readouterr().out.strip()).with_suffix(".json")
    line = _refused(capsys, "loop", str(loop), "--bpm", "120", "--bars", "2", "--out", str(tmp_path / "again"))
    need, have = re.search(r"last ([\d.]+) s, but after matching the tempo only ([\d.]+) s", line).groups()
    assert need != have and float(have) < float(need), line
    assert "This take is already a loop (2 bars of 4/4 at 120 BPM)" in line and "loop its source take" in line


@pytest.fixture
def door(tmp_path) -> Path:
    return save_take(tone_take(), tmp_path / "takes", "door").sidecar


def test_a_take_whose_wav_is_missing_says_so(door, capsys):
    door.with_suffix(".wav").unlink()
    line = _refused(capsys, "rank", str(door))
    assert line == f"error: Cannot read the take {door}: its audio file door.wav is missing.", line


def test_search_like_a_file_that_is_not_a_take_names_that_file(door, tmp_path, capsys):
    from core.takes.library import Library

    Library(door.parent).close()  # a library folder, so the command gets as far as --like
    notes = tmp_path / "notes.txt"
    notes.write_text("ideas")
    line = _refused(capsys, "search", "--like", str(notes), "--library", str(door.parent))
    assert f"{notes} is not a take: pass a take's .json file" in line and "notes.wav" not in line, line


def test_clap_pointing_at_a_folder_that_is_not_a_clap(door, tmp_path, capsys):
    line = _refused(capsys, "rank", str(door), "--clap", str(door.parent))
    assert f"The folder {door.parent} is not a CLAP checkpoint" in line and "offline" not in line, line
    line = _refused(capsys, "rank", str(door), "--clap", str(door))
    assert f"{door} is a file; a CLAP model is a folder" in line, line


def test_a_model_file_instead_of_its_folder(fixtures_dir, tmp_path, capsys):
    weights = fixtures_dir / "audiogen" / "state_dict.bin"
    line = _refused(capsys, "generate", "rain", "--model", str(weights), "--out", str(tmp_path))
    assert f"'{weights}' is a file; a model is the folder that holds" in line and "does not exist" not in line
    assert f"give {fixtures_dir / 'audiogen'}." in line, line


def test_random_bytes_are_called_damaged_not_unsafe(fixtures_dir, tmp_path, capsys):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "state_dict.bin").write_bytes(np.random.default_rng(0).bytes(4096))
    (folder / "compression_state_dict.bin").symlink_to(fixtures_dir / "audiogen" / "compression_state_dict.bin")
    line = _refused(capsys, "generate", "rain", "--model", str(folder), "--out", str(tmp_path / "out"))
    assert "is damaged or is not a PyTorch checkpoint" in line and "run code" not in line, line


def test_a_pickle_that_names_code_is_still_called_unsafe(fixtures_dir, tmp_path, capsys):
    import torch

    folder = tmp_path / "model"
    folder.mkdir()
    torch.save({"xp.cfg": os.getcwd}, folder / "state_dict.bin")  # a function: loading it would import code
    (folder / "compression_state_dict.bin").symlink_to(fixtures_dir / "audiogen" / "compression_state_dict.bin")
    line = _refused(capsys, "generate", "rain", "--model", str(folder), "--out", str(tmp_path / "out"))
    assert "is not a safe weights file (it would run code when loaded)" in line, line

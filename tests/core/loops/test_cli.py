"""`generate --bpm --bars` and `loop`: exact lengths, tempo records, links to the source, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.cli.main import main
from core.params import GenerationParams
from core.takes.library import Library
from core.takes.take import Take, save_take
from tests.core.loops.conftest import BPM, RATE, ambience, click_track


def _write_source(folder: Path, wav: np.ndarray, extra: dict | None = None) -> Path:
    take = Take("groove", "musicgen-small", 3, GenerationParams(duration=20.0), RATE, wav, np.zeros((4, 5), np.int64))
    take.extra.update(extra or {})
    return save_take(take, folder, "groove").sidecar


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_generate_with_bpm_and_bars(fixtures_dir, tmp_path, capsys):
    code = main(
        [
            "generate",
            "funk drums",
            "--model",
            str(fixtures_dir / "musicgen"),
            "--bpm",
            "240",
            "--bars",
            "1",
            "--seed",
            "1",
            "--out",
            str(tmp_path),
        ]  # fmt: skip
    )
    assert code == 0
    wav = Path(capsys.readouterr().out.strip())
    meta = json.loads(wav.with_suffix(".json").read_text())
    assert meta["prompt"] == "funk drums, 240 bpm"
    assert (meta["bpm"], meta["bars"], meta["meter"]) == (240.0, 1, "4/4")
    assert meta["parameters"]["duration"] == 1.0  # one 4/4 bar at 240 BPM
    assert sf.info(str(wav)).duration == pytest.approx(1.0, abs=0.03)  # the model makes whole 20 ms frames


def test_generate_without_tempo_in_prompt_and_in_six_eight(fixtures_dir, tmp_path, capsys):
    code = main(
        [
            "generate",
            "waltz",
            "--model",
            str(fixtures_dir / "musicgen"),
            "--bpm",
            "180",
            "--bars",
            "1",
            "--meter",
            "6/8",
            "--no-tempo-in-prompt",
            "--seed",
            "1",
            "--out",
            str(tmp_path),
        ]  # fmt: skip
    )
    assert code == 0
    meta = json.loads(Path(capsys.readouterr().out.strip()).with_suffix(".json").read_text())
    assert meta["prompt"] == "waltz" and meta["meter"] == "6/8"
    assert meta["parameters"]["duration"] == 1.0  # 3 quarter beats at 180 BPM


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--bpm", "120"], "--bpm and --bars go together"),
        (["--bpm", "120", "--bars", "2", "--duration", "3"], "either --duration or --bars"),
        (["--bpm", "900", "--bars", "2"], "tempo must lie between"),
        (["--bpm", "120", "--bars", "2", "--meter", "4/5"], "meter"),
    ],
)
def test_generate_tempo_mistakes_are_one_line(fixtures_dir, tmp_path, capsys, extra, message):
    code = main(["generate", "x", "--model", str(fixtures_dir / "musicgen"), "--out", str(tmp_path), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not list(tmp_path.iterdir())


def test_loop_command_makes_an_exact_loop_and_leaves_the_source_alone(tmp_path, capsys):
    source = _write_source(tmp_path / "takes", click_track())
    before = _bytes(source.parent)
    code = main(["loop", str(source), "--bpm", "120", "--bars", "2", "--out", str(tmp_path / "loops")])
    assert code == 0
    wav = Path(capsys.readouterr().out.strip())
    assert wav.name == "groove_loop-120bpm-2bars.wav"
    audio, rate = sf.read(wav, always_2d=True)
    assert rate == RATE and audio.shape == (128000, 1)  # 2 bars * 4 * 60 / 120 * 32000
    meta = json.loads(wav.with_suffix(".json").read_text())
    loop = meta["loop"]
    assert loop["kind"] == "music" and loop["bpm"] == 120.0 and loop["bars"] == 2 and loop["length"] == 128000
    assert loop["source"] == str(source.resolve()) and abs(loop["detected_bpm"] - BPM) < 0.5
    assert meta["codes_applicable"] is False and meta["prompt"] == "groove" and meta["seed"] == 3
    assert _bytes(source.parent) == before  # the source take is untouched


def test_loop_command_uses_the_takes_own_tempo_and_writes_a_library_row(tmp_path, capsys):
    source = _write_source(tmp_path, click_track(), {"bpm": BPM, "bars": 8, "meter": "4/4"})
    library_dir = tmp_path / "library"
    Library(library_dir).close()  # an (empty) take library
    assert main(["loop", str(source), "--out", str(library_dir)]) == 0
    wav = Path(capsys.readouterr().out.strip())
    assert wav.parent == library_dir and wav.stem.endswith("-loop")
    with Library(library_dir) as library:
        (record,) = library.search()
    assert record.wav_path == wav and record.extra["loop"]["bars"] == 4  # the power of two below 8
    assert record.extra["loop"]["stretch"] == 1.0  # already at its tempo: cut, not stretched
    assert "4 bars of 4/4" in record.name
    assert sf.info(str(wav)).frames == round(16 * 60 / BPM * RATE)


def test_seamless_loop_command(tmp_path, capsys):
    source = _write_source(tmp_path, ambience())
    assert main(["loop", str(source), "--seamless", "--crossfade-ms", "80", "--out", str(tmp_path / "o")]) == 0
    meta = json.loads(Path(capsys.readouterr().out.strip()).with_suffix(".json").read_text())
    assert meta["loop"]["kind"] == "seamless" and meta["loop"]["crossfade"] == round(0.08 * RATE)


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "Say which loop to make"),
        (["--seamless", "--bars", "4"], "--bars is for music loops"),
        (["--bpm", "120", "--bars", "64"], "longer take"),
        (["--bpm", "120", "--bars", "2", "--crossfade-ms", "-5"], "crossfade"),
    ],
)
def test_loop_mistakes_are_one_line(tmp_path, capsys, args, message):
    source = _write_source(tmp_path, click_track(seconds=8.0))
    code = main(["loop", str(source), *args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_loop_take_cannot_be_explained_and_says_why(fixtures_dir, tmp_path, capsys):
    model = str(fixtures_dir / "musicgen")
    assert main(["generate", "rain", "--model", model, "--duration", "1.5", "--seed", "2", "--out", str(tmp_path)]) == 0
    take = Path(capsys.readouterr().out.strip()).with_suffix(".json")
    assert main(["loop", str(take), "--seamless", "--out", str(tmp_path / "loops")]) == 0
    loop = Path(capsys.readouterr().out.strip()).with_suffix(".json")
    assert main(["explain", str(loop), "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: This take was cut from another take (a loop)")

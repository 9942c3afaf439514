"""`python main.py generate`: files a DAW can read, sidecar contents, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from core.cli.main import main
from tests.conftest import ROOT


def test_generate_writes_wav_codes_and_sidecar(fixtures_dir, tmp_path, capsys):
    out = tmp_path / "takes"
    code = main(
        [
            "generate",
            "dog barking",
            "rain on a tin roof",
            "--model",
            str(fixtures_dir / "audiogen"),
            "--duration",
            "0.5",
            "--seed",
            "42",
            "--greedy",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 2
    for line in printed:
        wav_path = Path(line)
        audio, rate = sf.read(wav_path, always_2d=True)
        assert rate == 16000 and audio.shape == (8000, 1)
        meta = json.loads(wav_path.with_suffix(".json").read_text())
        assert meta["seed"] == 42 and meta["sample_rate"] == 16000 and meta["duration"] == pytest.approx(0.5)
        assert meta["model"] == str(fixtures_dir / "audiogen")
        assert meta["parameters"]["use_sampling"] is False
        codes = np.load(wav_path.parent / meta["codes"])
        assert codes.dtype == np.int64 and codes.shape == (4, 25)
    prompts = {json.loads(Path(p).with_suffix(".json").read_text())["prompt"] for p in printed}
    assert prompts == {"dog barking", "rain on a tin roof"}


def test_cli_take_equals_the_api_take(fixtures_dir, tmp_path, capsys):
    from core.engine import Engine, GenerationRequest

    main(
        [
            "generate",
            "dog barking",
            "--model",
            str(fixtures_dir / "musicgen"),
            "--duration",
            "0.4",
            "--seed",
            "5",
            "--top-k",
            "10",
            "--out",
            str(tmp_path),
        ]
    )
    wav = Path(capsys.readouterr().out.strip())
    precision = json.loads(wav.with_suffix(".json").read_text())["precision"]  # the CLI's default: auto
    model = Engine(precision=precision).load(fixtures_dir / "musicgen")
    params = model.default_params.replace(duration=0.4, top_k=10)
    take = model.generate(GenerationRequest("dog barking", params, 5))
    np.testing.assert_array_equal(np.load(wav.with_suffix("").with_suffix(".codes.npy")), take.codes)
    audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(audio.T, take.wav)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "/no/such/folder", "--duration", "1"], "does not exist"),
        (["--model", "{fixtures}/musicgen", "--duration", "-2"], "Duration"),
        (["--model", "{fixtures}/musicgen", "--duration", "1", "--continue", "{tmp}/missing.wav"], "missing.wav"),
        (["--model", "{tmp}", "--duration", "1"], "state_dict.bin"),
        (["--model", "facebook/not-a-model", "--duration", "1"], "not downloaded"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_no_files(fixtures_dir, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    args = [a.format(fixtures=fixtures_dir, tmp=tmp_path) for a in args]
    assert main(["generate", "x", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not out.exists() or not any(out.iterdir())


def test_unreadable_audio_is_refused(fixtures_dir, tmp_path, capsys):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt ")
    code = main(
        [
            "generate",
            "x",
            "--model",
            str(fixtures_dir / "musicgen"),
            "--duration",
            "1",
            "--continue",
            str(bad),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2 and "broken.wav" in capsys.readouterr().err


def test_checkpoint_that_would_run_code_is_refused(fixtures_dir, tmp_path, capsys):
    """A state_dict.bin whose unpickling would execute code is never unpickled."""
    folder = tmp_path / "evil"
    folder.mkdir()
    marker = tmp_path / "pwned"
    torch.save({"best_state": _Payload(str(marker)), "xp.cfg": "{}"}, folder / "state_dict.bin")
    os.symlink(fixtures_dir / "musicgen" / "compression_state_dict.bin", folder / "compression_state_dict.bin")
    code = main(["generate", "x", "--model", str(folder), "--duration", "1", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "would run code" in capsys.readouterr().err
    assert not marker.exists()


class _Payload:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_main_py_runs_as_a_script(fixtures_dir, tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(fixtures_dir / "hf-cache"))
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "generate",
            "footsteps",
            "--model",
            str(fixtures_dir / "audiogen"),
            "--duration",
            "0.3",
            "--seed",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    wav = Path(done.stdout.strip())
    assert wav.is_file() and sf.info(wav).samplerate == 16000


def test_melody_flags_reach_the_take(fixtures_dir, audio_dir, tmp_path, capsys):
    """--melody with a real 44.1 kHz stereo mp3; the take records which file and whether stems were removed."""
    code = main(
        [
            "generate",
            "piano",
            "--model",
            str(fixtures_dir / "musicgen-melody"),
            "--duration",
            "0.3",
            "--seed",
            "1",
            "--melody",
            str(audio_dir / "bach.mp3"),
            "--no-melody-separation",
            "--out",
            str(tmp_path),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    meta = json.loads(Path(captured.out.strip()).with_suffix(".json").read_text())
    assert meta["melody"] == str(audio_dir / "bach.mp3") and meta["melody_separation"] is False


def test_duration_beyond_the_model_window_extends_the_take(fixtures_dir, tmp_path, capsys):
    """AudioGen's window is 10 s; 11 s comes from sliding-window continuation (extend stride 8 s)."""
    code = main(
        [
            "generate",
            "rain",
            "--model",
            str(fixtures_dir / "audiogen"),
            "--duration",
            "11",
            "--extend-stride",
            "8",
            "--seed",
            "2",
            "--top-k",
            "10",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    wav = Path(capsys.readouterr().out.strip())
    assert sf.info(wav).frames == 11 * 16000
    codes = np.load(wav.with_suffix("").with_suffix(".codes.npy"))
    assert codes.shape == (4, 550)

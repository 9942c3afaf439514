"""Fault classes 4, 5 and 7 through `generate`: values that used to pass and then crash or run away, a model
whose codec belongs to another model, and an output folder that cannot take the result. Each is refused before
any decoding with one line and exit 2, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.checks import check_output, estimate
from core.cli.main import main
from core.decoding.sampling import logits_to_probs
from core.engine import Engine
from core.errors import ExportError
from tests.faults.helpers import files_in


def _run(capsys, *args: str) -> tuple[int, str, list[str]]:
    code = main(["generate", "rain", *args])
    captured = capsys.readouterr()
    return code, captured.err.strip(), captured.out.split()


def _refused(capsys, out: Path, *args: str) -> str:
    code, err, printed = _run(capsys, *args, "--out", str(out))
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert printed == [] and files_in(out) == []
    return err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--seed", "99999999999999999999999"], "The seed must be a whole number from 0 to 9223372036854775807"),
        (["--seed", "18446744073709551615", "--variations", "2"], "The seed must be a whole number"),
        (["--seed", str(2**63 - 1), "--variations", "2"], "go beyond 9223372036854775807 (2^63-1)"),
        (["--seed", "-1"], "The seed must be a whole number from 0"),
        (["--device", "gpu0"], "Unknown device 'gpu0': use cpu, cuda, cuda:N"),
        (["--device", "cuda:99"], "'cuda:99'"),
    ],
)
def test_seeds_and_devices_are_checked_before_loading(fixtures_dir, tmp_path, capsys, args, expected):
    assert expected in _refused(capsys, tmp_path, "--model", str(fixtures_dir / "audiogen"), *args)


@pytest.mark.parametrize(
    ("model", "args", "expected"),
    [
        ("audiogen", ["--duration", "1e6"], "too long for"),
        ("audiogen", ["--duration", "0.001"], "is shorter than one frame (0.02 s)"),
        ("magnet", ["--duration", "30"], "one window is 10 s"),
        ("audiogen", ["--decoding-steps", "2,2,2,2"], "--decoding-steps does not apply to"),
        ("audiogen", ["--max-cfg", "5", "--span-arrangement", "stride1"], "--max-cfg, --span-arrangement do not"),
        ("magnet", ["--cfg", "3"], "--cfg does not apply to"),
        ("magnet", ["--extend-stride", "3"], "a MAGNeT model"),
    ],
)
def test_durations_and_options_that_do_not_apply(fixtures_dir, tmp_path, capsys, model, args, expected):
    assert expected in _refused(capsys, tmp_path, "--model", str(fixtures_dir / model), *args)


def test_a_tiny_temperature_samples_like_greedy(fixtures_dir, tmp_path, capsys):
    logits = torch.tensor([[3.0, 1.0, -2.0, 2.9]])
    probs = logits_to_probs(logits, 1e-40)
    assert torch.equal(probs, torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    model = str(fixtures_dir / "audiogen")
    code, err, (wav,) = _run(
        capsys, "--model", model, "--temperature", "1e-40", "--duration", "0.2", "--out", str(tmp_path)
    )
    assert code == 0 and err == ""
    code, _, (greedy,) = _run(capsys, "--model", model, "--greedy", "--duration", "0.2", "--out", str(tmp_path))
    codes = [
        np.load(Path(p).with_name(json.loads(Path(p).with_suffix(".json").read_text())["codes"])) for p in (wav, greedy)
    ]
    assert np.array_equal(*codes)  # T -> 0 is argmax


@pytest.mark.parametrize(("lm", "codec"), [("musicgen", "audiogen"), ("audiogen", "musicgen")])
def test_a_codec_from_another_model_is_refused_at_load(fixtures_dir, tmp_path, capsys, lm, codec):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "state_dict.bin").symlink_to(fixtures_dir / lm / "state_dict.bin")
    (folder / "compression_state_dict.bin").symlink_to(fixtures_dir / codec / "compression_state_dict.bin")
    err = _refused(capsys, tmp_path / "out", "--model", str(folder))
    assert f"The codec {folder / 'compression_state_dict.bin'} does not belong to the language model" in err
    assert str(folder / "state_dict.bin") in err and "sample rate (Hz)" in err


def test_an_output_that_is_not_a_folder_is_found_before_loading(fixtures_dir, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err, _ = _run(capsys, "--model", str(tmp_path / "no-such-model"), "--out", str(blocker / "sub"))
    assert code == 2 and "Cannot create the output folder" in err  # not "model not found": checked first
    assert "is a file, not a folder" in err
    code, err, _ = _run(capsys, "--model", str(tmp_path / "no-such-model"), "--out", str(tmp_path / "new" / "deep"))
    assert code == 2 and not (tmp_path / "new").exists()  # a failed run leaves no empty output folder behind


def test_free_space_is_checked_against_the_expected_size(fixtures_dir, tmp_path):
    with pytest.raises(ExportError, match="MB free; these takes need about"):
        check_output(tmp_path, 2**62)
    assert files_in(tmp_path) == []
    model = Engine().load(fixtures_dir / "audiogen")
    cost = estimate(model, model.default_params.replace(duration=5.0))
    assert cost.steps == 5 * 50 + 4  # 250 frames and the 4-codebook delay, one window
    assert cost.output_bytes >= 5 * 16000 * 4  # the float32 WAV alone

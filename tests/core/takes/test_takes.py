"""Takes on disk: NAME.wav (32-bit float), NAME.codes.npy and NAME.json, written together, read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.errors import ExportError
from core.params import GenerationParams
from core.takes.take import Take, load_take, save_take


def _take(channels: int = 2, sample_rate: int = 32000, frames: int = 50, **extra) -> Take:
    rng = np.random.default_rng(7)
    samples = int(frames * sample_rate / 50)
    wav = rng.uniform(-1.0, 1.0, size=(channels, samples)).astype(np.float32)  # [C, N]
    wav[0, :3] = [1.5, -1.25, 1e-30]  # values a 16/24-bit file could not hold
    codes = rng.integers(0, 2048, size=(4 * channels, frames), dtype=np.int64)  # [K, T]
    params = GenerationParams(duration=1.0, use_sampling=False, top_k=40, top_p=0.0, temperature=0.8, cfg_coef=4.0)
    return Take(
        "rain on a tin roof, close",
        "facebook/musicgen-stereo-small",
        1234,
        params,
        sample_rate,
        wav,
        codes,
        extra=dict(extra),
    )


def _files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_round_trip_is_exact(tmp_path: Path) -> None:
    take = _take(melody={"path": "hum.wav", "seconds": 2.0})
    files = save_take(take, tmp_path, "rain-01")

    assert (files.wav.name, files.codes.name, files.sidecar.name) == (
        "rain-01.wav",
        "rain-01.codes.npy",
        "rain-01.json",
    )
    assert _files_in(tmp_path) == ["rain-01.codes.npy", "rain-01.json", "rain-01.wav"]

    back = load_take(files.sidecar)
    assert back.wav.dtype == np.float32 and back.wav.shape == (2, 32000)
    assert np.array_equal(back.wav, take.wav)
    assert back.codes.dtype == np.int64 and back.codes.shape == (8, 50)
    assert np.array_equal(back.codes, take.codes)
    assert (back.prompt, back.model, back.seed, back.sample_rate) == (take.prompt, take.model, 1234, 32000)
    assert back.params == take.params
    assert back.extra == {"melody": {"path": "hum.wav", "seconds": 2.0}}


def test_wav_is_32_bit_float_at_the_take_rate(tmp_path: Path) -> None:
    files = save_take(_take(channels=1, sample_rate=16000), tmp_path, "dog")
    info = sf.info(files.wav)
    assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == (
        "WAV",
        "FLOAT",
        16000,
        1,
        16000,
    )


def test_codes_file_is_plain_int64_k_by_t(tmp_path: Path) -> None:
    take = _take(channels=1)
    take.codes = take.codes.astype(np.int32)  # whatever integer type the engine hands over
    files = save_take(take, tmp_path, "t")
    codes = np.load(files.codes, allow_pickle=False)
    assert codes.dtype == np.int64 and codes.shape == (4, 50)
    assert np.array_equal(codes, take.codes)


def test_sidecar_fields(tmp_path: Path) -> None:
    files = save_take(_take(channels=1, sample_rate=16000, frames=25), tmp_path, "steps")
    data = json.loads(files.sidecar.read_text(encoding="utf-8"))
    assert data["prompt"] == "rain on a tin roof, close"
    assert data["model"] == "facebook/musicgen-stereo-small"
    assert data["seed"] == 1234
    assert data["sample_rate"] == 16000
    assert data["channels"] == 1
    assert data["duration"] == 0.5
    assert data["codes"] == "steps.codes.npy"
    assert data["parameters"]["duration"] == 1.0
    assert data["parameters"]["use_sampling"] is False
    assert data["parameters"]["top_k"] == 40
    assert data["parameters"]["temperature"] == 0.8
    assert data["parameters"]["cfg_coef"] == 4.0
    assert data["parameters"]["decoding_steps"] == [20, 10, 10, 10]


def test_non_ascii_prompt_survives(tmp_path: Path) -> None:
    take = _take(channels=1)
    take.prompt = "grillons, crépuscule — 夏の夜"
    back = load_take(save_take(take, tmp_path, "nuit").sidecar)
    assert back.prompt == "grillons, crépuscule — 夏の夜"


def test_output_folder_is_created(tmp_path: Path) -> None:
    files = save_take(_take(channels=1), tmp_path / "library" / "today", "a")
    assert files.wav.is_file() and files.codes.is_file() and files.sidecar.is_file()


def test_failure_on_the_sidecar_removes_the_wav_and_codes(tmp_path: Path) -> None:
    # A folder where the sidecar goes makes the last of the three writes fail after the first two succeeded.
    (tmp_path / "take.json").mkdir()
    with pytest.raises(ExportError, match="Could not write"):
        save_take(_take(), tmp_path, "take")
    assert _files_in(tmp_path) == ["take.json"]
    assert not any((tmp_path / "take.json").iterdir())


def test_failure_on_the_codes_removes_the_wav(tmp_path: Path) -> None:
    (tmp_path / "take.codes.npy").mkdir()
    with pytest.raises(ExportError):
        save_take(_take(), tmp_path, "take")
    assert _files_in(tmp_path) == ["take.codes.npy"]


def test_failure_on_the_wav_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "take.wav").mkdir()
    with pytest.raises(ExportError):
        save_take(_take(), tmp_path, "take")
    assert _files_in(tmp_path) == ["take.wav"]


def test_output_folder_that_is_a_file_is_a_readable_error(tmp_path: Path) -> None:
    blocker = tmp_path / "exports"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="Cannot create the output folder"):
        save_take(_take(), blocker, "take")


def test_load_take_with_a_missing_wav_is_a_readable_error(tmp_path: Path) -> None:
    files = save_take(_take(channels=1), tmp_path, "gone")
    files.wav.unlink()
    with pytest.raises(ExportError, match="Cannot read the take"):
        load_take(files.sidecar)


def test_load_take_with_a_damaged_sidecar_is_a_readable_error(tmp_path: Path) -> None:
    files = save_take(_take(channels=1), tmp_path, "broken")
    files.sidecar.write_text("{ not json", encoding="utf-8")
    with pytest.raises(ExportError, match="Cannot read the take"):
        load_take(files.sidecar)


def test_take_files_are_readable_by_other_users_as_the_umask_allows(tmp_path: Path) -> None:
    """A DAW running as another user, or a shared library folder, must be able to read the take."""
    import os

    old = os.umask(0o022)
    try:
        files = save_take(_take(), tmp_path, "shared")
    finally:
        os.umask(old)
    for path in (files.wav, files.codes, files.sidecar):
        assert path.stat().st_mode & 0o777 == 0o644, path

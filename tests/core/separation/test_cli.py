"""`separate`: a take split into four stems with the tiny HTDemucs from the fixture hub cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from core.cli.main import main
from core.params import GenerationParams
from core.separation.htdemucs import load_separator, separate, shift_offset_for_seed
from core.takes.take import Take, load_take, save_take


def _music_take(tmp_path: Path) -> Path:
    t = np.arange(32000) / 32000
    wav = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sign(np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    take = Take(
        "bass and drums",
        "facebook/musicgen-small",
        11,
        GenerationParams(duration=1.0),
        32000,
        wav[None],
        np.zeros((4, 50), dtype=np.int64),
    )
    return save_take(take, tmp_path / "takes", "groove").sidecar


def test_separate_writes_four_stems_equal_to_the_separator_output(fixtures_dir, tmp_path, capsys):
    sidecar = _music_take(tmp_path)
    code = main(["separate", str(sidecar), "--format", "wav32f", "--rate", "native", "--out", str(tmp_path / "stems")])
    assert code == 0
    paths = [Path(p) for p in capsys.readouterr().out.split()]
    assert len(paths) == 4
    take = load_take(sidecar)
    stems = separate(load_separator(), torch.from_numpy(take.wav)[None], 32000, shift_offset_for_seed(take.seed))
    for path, (name, expected) in zip(paths, stems.items(), strict=True):
        assert name in path.name
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        assert rate == 32000 and audio.shape == (32000, 1)
        np.testing.assert_allclose(audio.T, expected[0].numpy().mean(axis=0, keepdims=True), atol=1e-6)

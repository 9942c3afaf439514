"""The melody condition end to end: file -> waveform -> (stems) -> CFG chroma, against audiocraft."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.generation.generate import to_model_audio
from core.generation.melody import melody_cfg_chroma
from core.nn.chroma import ChromaExtractor
from core.separation.htdemucs import load_separator, shift_offset_for_seed
from core.takes.audio_io import load_audio


@pytest.fixture(scope="module")
def extractor() -> ChromaExtractor:
    return ChromaExtractor(32000, n_chroma=12, radix2_exp=14, argmax=True)


@pytest.fixture(scope="module")
def demucs_refs(fixtures_dir):
    return np.load(fixtures_dir / "musicgen-melody-demucs" / "reference_outputs.npz")


def test_identity_separator_path_matches_musicgen_melody(extractor, fixtures_dir):
    refs = np.load(fixtures_dir / "musicgen-melody" / "reference_outputs.npz")
    cfg = melody_cfg_chroma(extractor, 235, torch.from_numpy(refs["melody.wav"]), None, None)
    np.testing.assert_allclose(cfg.numpy(), refs["lm.cfg_chroma"], atol=1e-4)


def test_text_only_rows_are_all_null(extractor):
    cfg = melody_cfg_chroma(extractor, 235, None, None, None, batch=2)
    assert cfg.shape == (4, 235, 12)
    assert torch.equal(cfg.argmax(-1), torch.zeros(4, 235, dtype=torch.long)) and cfg.sum() == 4 * 235


def test_melody_file_becomes_the_waveform_audiocraft_was_fed(audio_dir, demucs_refs):
    # Fixture: 4 s of bach.mp3, channel mean, julius 44.1 -> 32 kHz; ours: the same, through the generation path.
    wav = to_model_audio(load_audio(audio_dir / "bach.mp3", max_seconds=4.0), 32000, 1)
    assert wav.shape == (1, 1, 128000) and wav.dtype == torch.float32
    np.testing.assert_allclose(wav.numpy(), demucs_refs["bach.input_wav"], atol=1e-3)


def test_stemmed_path_matches_audiocraft_on_bach(extractor, demucs_refs):
    offset = shift_offset_for_seed(200)  # the draw the recording made: 1494
    wav = torch.from_numpy(demucs_refs["bach.input_wav"])
    cfg = melody_cfg_chroma(extractor, 235, wav, load_separator(), offset)
    np.testing.assert_allclose(cfg.numpy(), demucs_refs["bach.cfg_chroma"], atol=1e-4)

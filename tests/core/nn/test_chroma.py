"""Chroma extraction and the melody condition of a CFG batch against audiocraft's recordings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.nn.chroma import (
    ChromaExtractor,
    cfg_chroma,
    chroma_filterbank,
    chroma_length,
    match_length,
    power_spectrogram,
)


@pytest.fixture(scope="module")
def extractor() -> ChromaExtractor:
    """MusicGen-melody's chroma settings (xp.cfg conditioners.self_wav.chroma_stem)."""
    return ChromaExtractor(sample_rate=32000, n_chroma=12, radix2_exp=14, argmax=True)


@pytest.fixture(scope="module")
def melody_refs(fixtures_dir):
    return np.load(fixtures_dir / "musicgen-melody" / "reference_outputs.npz")


@pytest.fixture(scope="module")
def demucs_refs(fixtures_dir):
    return np.load(fixtures_dir / "musicgen-melody-demucs" / "reference_outputs.npz")


# --- filterbank: values printed in librosa's `filters.chroma` docstring (sr 22050, n_fft 4096). That example
# predates `base_c=True`, so it is compared with base_c=False (the default rolls rows by 3 * n_chroma / 12).
LIBROSA_DOC = {
    # (n_chroma, octwidth): {row: (first two values, last two values)}
    (12, 2.0): {
        0: ((1.689e-05, 3.024e-04), (4.639e-17, 5.327e-17)),
        1: ((1.716e-05, 2.652e-04), (2.674e-25, 3.176e-25)),
        -2: ((1.578e-05, 3.619e-04), (8.577e-06, 9.205e-06)),
        -1: ((1.643e-05, 3.355e-04), (1.474e-10, 1.636e-10)),
    },
    (24, 2.0): {
        0: ((1.194e-05, 2.138e-04), (6.297e-64, 1.115e-63)),
        1: ((1.206e-05, 2.009e-04), (1.546e-79, 2.929e-79)),
        -2: ((1.162e-05, 2.372e-04), (6.417e-38, 9.923e-38)),
        -1: ((1.180e-05, 2.260e-04), (4.697e-50, 7.772e-50)),
    },
    (12, None): {
        0: ((3.036e-01, 2.604e-01), (2.445e-16, 2.809e-16)),
        1: ((3.084e-01, 2.283e-01), (1.409e-24, 1.675e-24)),
        -2: ((2.836e-01, 3.116e-01), (4.520e-05, 4.854e-05)),
        -1: ((2.953e-01, 2.888e-01), (7.768e-10, 8.629e-10)),
    },
}


@pytest.mark.parametrize(("n_chroma", "octwidth"), list(LIBROSA_DOC))
def test_filterbank_matches_librosa_documented_values(n_chroma, octwidth):
    weights = chroma_filterbank(22050, 4096, n_chroma=n_chroma, octwidth=octwidth, base_c=False)
    assert weights.shape == (n_chroma, 2049) and weights.dtype == np.float32
    for row, (first, last) in LIBROSA_DOC[(n_chroma, octwidth)].items():
        actual = np.concatenate([weights[row, :2], weights[row, -2:]])
        expected = np.array(first + last)
        # float32 (librosa's default dtype now) flushes the documented float64 values below ~1e-38 to zero.
        np.testing.assert_allclose(actual, np.where(expected < 1e-38, 0.0, expected), rtol=1e-3, atol=1e-45)


def test_filterbank_base_c_rolls_rows_to_start_at_c():
    from_a = chroma_filterbank(32000, 16384, base_c=False)
    from_c = chroma_filterbank(32000, 16384)
    np.testing.assert_array_equal(from_c, np.roll(from_a, -3, axis=0))
    # A 261.6 Hz bin (middle C) weighs most on chroma bin 0.
    c4_bin = round(261.63 * 16384 / 32000)
    assert int(np.argmax(from_c[:, c4_bin])) == 0


# --- spectrogram semantics
def test_power_spectrogram_frames_and_window_normalisation():
    n_fft, hop, sample_rate = 1024, 256, 16000
    freq = 32 * sample_rate / n_fft  # exactly on bin 32
    t = torch.arange(8000) / sample_rate
    wav = 0.8 * torch.sin(2 * torch.pi * freq * t)
    spec = power_spectrogram(wav[None], torch.hann_window(n_fft, dtype=torch.float64).float(), hop)
    assert spec.shape == (1, n_fft // 2 + 1, 1 + 8000 // hop)
    # Periodic Hann: |X| = A * (N / 2) / 2 at the bin, divided by sqrt(sum(w^2)) = sqrt(3N / 8).
    expected = (0.8 * n_fft / 4) ** 2 / (3 * n_fft / 8)
    middle = spec[0, 32, 4:-4]
    torch.testing.assert_close(middle, torch.full_like(middle, expected), rtol=1e-4, atol=0)


def test_short_input_is_padded_to_one_window(extractor):
    assert extractor(torch.zeros(2, 1, 1)).shape == (2, 5, 12)
    assert extractor(torch.zeros(2, 1, 16383)).shape == (2, 5, 12)
    assert extractor(torch.zeros(2, 1, 20000)).shape == (2, 1 + 20000 // 4096, 12)


# --- against audiocraft
def test_chroma_extractor_matches_audiocraft(extractor, melody_refs):
    chroma = extractor(torch.from_numpy(melody_refs["melody.wav"]))  # [3, 1, 64000]
    np.testing.assert_allclose(chroma.numpy(), melody_refs["melody.chroma_extractor"], atol=1e-4)


def test_chroma_without_argmax_peaks_at_one(melody_refs):
    soft = ChromaExtractor(32000, 12, 14, argmax=False)(torch.from_numpy(melody_refs["melody.wav"]))
    torch.testing.assert_close(soft.amax(-1), torch.ones(3, 16))
    np.testing.assert_array_equal(soft.argmax(-1).numpy(), melody_refs["melody.chroma_extractor"].argmax(-1))


def test_chroma_length_of_the_30_s_training_segment(extractor):
    assert chroma_length(30, 32000, 14) == 235
    assert extractor(torch.zeros(1, 32000 * 30)).shape[1] == 235
    assert chroma_length(10, 16000, 12) == 1 + 160000 // 1024
    assert chroma_length(0.1, 32000, 14) == 5  # shorter than one window: padded to n_fft


def test_cfg_chroma_matches_audiocraft(extractor, melody_refs):
    chroma = extractor(torch.from_numpy(melody_refs["melody.wav"]))  # [3, 16, 12]
    cfg = cfg_chroma(extractor, chroma, chroma_length(30, 32000, 14))
    np.testing.assert_allclose(cfg.numpy(), melody_refs["lm.cfg_chroma"], atol=1e-4)


def test_null_melody_is_one_hot_on_c(extractor):
    cfg = cfg_chroma(extractor, None, 235, batch=2)
    assert cfg.shape == (4, 235, 12)
    assert torch.equal(cfg[..., 0], torch.ones(4, 235)) and cfg[..., 1:].abs().sum() == 0


def test_match_length_tiles_then_cuts():
    chroma = torch.arange(3 * 16 * 12, dtype=torch.float32).reshape(3, 16, 12)
    tiled = match_length(chroma, 40)
    assert tiled.shape == (3, 40, 12)
    assert torch.equal(tiled[:, 16:32], chroma) and torch.equal(tiled[:, 32:], chroma[:, :8])
    assert torch.equal(match_length(chroma, 10), chroma[:, :10])


@pytest.mark.parametrize("case", ["melody", "bach"])
def test_chroma_of_recorded_stems_matches_audiocraft(extractor, demucs_refs, case):
    chroma = extractor(torch.from_numpy(demucs_refs[f"{case}.stemmed_wav"]))
    np.testing.assert_allclose(chroma.numpy(), demucs_refs[f"{case}.chroma"], atol=1e-4)
    cfg = cfg_chroma(extractor, chroma, 235)
    np.testing.assert_allclose(cfg.numpy(), demucs_refs[f"{case}.cfg_chroma"], atol=1e-4)

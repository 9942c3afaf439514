"""HTDemucs stem separation against demucs 4.1.0 / audiocraft recordings (tiny random HTDemucs fixture).

Each real separation runs the 7.8 s HTDemucs window once (several seconds on CPU), so the fixture cases are
computed once per module and shared.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.cancel import CancelToken
from core.errors import CheckpointError, GenerationCancelled, ModelNotFoundError
from core.nn.chroma import ChromaExtractor, cfg_chroma
from core.separation.apply import apply_with_shift
from core.separation.htdemucs import (
    Separator,
    load_separator,
    remove_drums_and_bass,
    separate,
    shift_offset_for_seed,
)


@pytest.fixture(scope="module")
def refs(fixtures_dir):
    return np.load(fixtures_dir / "musicgen-melody-demucs" / "reference_outputs.npz")


@pytest.fixture(scope="module")
def melody_wav(fixtures_dir) -> torch.Tensor:
    return torch.from_numpy(np.load(fixtures_dir / "musicgen-melody" / "reference_outputs.npz")["melody.wav"])


@pytest.fixture(scope="module")
def separator(fixtures_dir) -> Separator:
    return load_separator()  # adefossez/HTDemucs from the fixture hub cache, offline


@pytest.fixture(scope="module")
def chroma() -> ChromaExtractor:
    return ChromaExtractor(32000, n_chroma=12, radix2_exp=14, argmax=True)


# --- loading
def test_hub_model_is_the_tiny_htdemucs(separator):
    assert separator.sources == ["drums", "bass", "other", "vocals"]
    assert separator.samplerate == 44100 and separator.audio_channels == 2
    (model,) = separator.models
    assert model.segment == Fraction(39, 5)
    assert sum(p.numel() for p in model.parameters()) == 227_480
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in model.parameters())


def test_htdemucs_forward_matches_demucs(separator, refs):
    with torch.no_grad():
        out = separator.models[0](torch.from_numpy(refs["demucs.forward.input"]))
    np.testing.assert_allclose(out.numpy(), refs["demucs.forward.output"], atol=1e-6)


def test_unknown_hub_repo_is_a_readable_error():
    with pytest.raises(ModelNotFoundError, match="nobody/no-demucs"):
        load_separator(repo_id="nobody/no-demucs")


def test_only_htdemucs_safetensors_are_accepted(tmp_path):
    from safetensors.torch import save_file

    from core.separation.htdemucs import _load_model

    path = tmp_path / "0000.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"klass": "os.system", "args": "[]", "kwargs": "{}"})
    with pytest.raises(CheckpointError, match="only HTDemucs"):
        _load_model(path, None, "cpu")


# --- the shift offset
def test_shift_offsets_of_the_recorded_seeds(refs):
    assert shift_offset_for_seed(100) == int(refs["melody.shift_offset"][0]) == 4773
    assert shift_offset_for_seed(200) == int(refs["bach.shift_offset"][0]) == 1494


# --- audiocraft's melody stemming
@pytest.fixture(scope="module")
def melody_stems(separator, melody_wav) -> torch.Tensor:
    """The 3 melodies, offset 4773. audiocraft ran them with 3 zero null rows in the batch; HTDemucs normalises
    each row, so alone they give the same stems (5.6e-8 here) at half the cost."""
    return remove_drums_and_bass(separator, melody_wav, 4773)


def test_melody_stems_match_audiocraft(melody_stems, refs):
    assert melody_stems.shape == (3, 1, 64000)
    np.testing.assert_allclose(melody_stems.numpy(), refs["melody.stemmed_wav"], atol=1e-6)


def test_melody_chroma_after_stemming_matches_audiocraft(melody_stems, chroma, refs):
    melody_chroma = chroma(melody_stems)
    np.testing.assert_allclose(melody_chroma.numpy(), refs["melody.chroma"], atol=1e-4)
    np.testing.assert_allclose(cfg_chroma(chroma, melody_chroma, 235).numpy(), refs["melody.cfg_chroma"], atol=1e-4)


@pytest.fixture(scope="module")
def bach_stems(separator, refs) -> dict[str, torch.Tensor]:
    return separate(separator, torch.from_numpy(refs["bach.input_wav"]), 32000, int(refs["bach.shift_offset"][0]))


def test_separate_returns_every_stem_at_the_input_rate(bach_stems):
    assert list(bach_stems) == ["drums", "bass", "other", "vocals"]
    assert all(stem.shape == (1, 1, 128000) for stem in bach_stems.values())


def test_bach_vocals_plus_other_match_audiocraft(bach_stems, chroma, refs):
    # Resampling and the channel mean are linear: summing after them equals audiocraft's sum before them.
    melody = bach_stems["vocals"] + bach_stems["other"]
    np.testing.assert_allclose(melody.numpy(), refs["bach.stemmed_wav"], atol=1e-6)
    bach_chroma = chroma(melody)
    np.testing.assert_allclose(bach_chroma.numpy(), refs["bach.chroma"], atol=1e-4)
    np.testing.assert_allclose(cfg_chroma(chroma, bach_chroma, 235).numpy(), refs["bach.cfg_chroma"], atol=1e-4)


def test_cancel_stops_before_the_model_runs(separator, melody_wav):
    token = CancelToken()
    token.cancel()
    with pytest.raises(GenerationCancelled):
        remove_drums_and_bass(separator, melody_wav, 4773, cancel=token)


# --- apply semantics against demucs' own apply_model, with a cheap model and inputs spanning several chunks
class ContextModel(nn.Module):
    """Stand-in with HTDemucs' interface whose output depends on neighbouring samples (so padding matters)."""

    samplerate = 1000
    segment = Fraction(2)
    sources = ["drums", "bass", "other", "vocals"]
    audio_channels = 2

    def __init__(self) -> None:
        super().__init__()
        self.kernel = torch.linspace(-1.0, 1.0, 41).reshape(1, 1, 41)

    def valid_length(self, length: int) -> int:
        training_length = int(self.segment * self.samplerate)
        if training_length < length:
            raise ValueError(length)
        return training_length

    def forward(self, mix: torch.Tensor) -> torch.Tensor:  # [B, C, S] -> [B, 4, C, S]
        batch, channels, length = mix.shape
        smooth = F.conv1d(mix.reshape(-1, 1, length), self.kernel, padding=20).reshape(batch, channels, length)
        return torch.stack([smooth * (k + 1) + torch.tanh(mix) * k for k in range(4)], dim=1)


class _FixedRandom:
    def __init__(self, value: int) -> None:
        self.value = value

    def randint(self, low: int, high: int) -> int:
        assert low <= self.value <= high
        return self.value


@pytest.mark.parametrize(("length", "offset"), [(5300, 0), (5300, 317), (5300, 500), (1200, 250), (4000, None)])
def test_apply_with_shift_equals_demucs_apply_model(monkeypatch, length, offset):
    import demucs.apply

    mix = torch.randn(2, 2, length, generator=torch.Generator().manual_seed(length))
    model = ContextModel()
    if offset is not None:
        monkeypatch.setattr(demucs.apply, "random", _FixedRandom(offset))
    expected = demucs.apply.apply_model(model, mix, shifts=0 if offset is None else 1, split=True, overlap=0.25)
    calls = []
    ours = apply_with_shift(model, mix, offset, progress=lambda step, total: calls.append((step, total)))
    assert ours.shape == (2, 4, 2, length)
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=1e-6)
    chunks = len(range(0, length + (0 if offset is None else 500 - offset), 1500))
    assert calls == [(i + 1, chunks) for i in range(chunks)]


def test_apply_rejects_an_offset_beyond_the_largest_shift():
    with pytest.raises(ValueError, match="outside"):
        apply_with_shift(ContextModel(), torch.zeros(1, 2, 100), 501)

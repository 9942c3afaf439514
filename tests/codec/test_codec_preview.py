"""Decoding growing codes for a preview: core's on_frames callback and ChunkDecoder on the fixture models."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from core.codec.preview import CHUNK_FRAMES, max_preview_error, preview_chunks
from core.engine import Engine, GenerationRequest

BOUND = 1e-4  # the bound the window's preview promises (measured about 3e-6 on these fixtures)


@pytest.fixture(scope="module")
def engine():
    return Engine()


@pytest.mark.parametrize("folder", ["musicgen", "musicgen-stereo"])
def test_on_frames_sees_the_codes_grow_into_the_take(engine, fixtures_dir, folder):
    model = engine.load(fixtures_dir / folder)
    request = GenerationRequest("rain on a tin roof", replace(model.default_params, duration=1.0), 7)
    seen: list[torch.Tensor] = []
    take = model.generate(request, on_frames=lambda codes: seen.append(codes.clone()))
    alone = model.generate(request)
    np.testing.assert_array_equal(take.codes, alone.codes)  # watching does not change the take
    lengths = [codes.shape[-1] for codes in seen]
    assert lengths == list(range(1, 51))  # one call per completed frame, 50 frames per second
    final = torch.from_numpy(take.codes)[None]
    for codes in seen:  # every view is a prefix of the final codes
        assert torch.equal(codes, final[..., : codes.shape[-1]])


@pytest.mark.parametrize("folder", ["musicgen", "audiogen", "musicgen-stereo"])
def test_joined_chunks_match_the_final_decode(engine, fixtures_dir, folder):
    model = engine.load(fixtures_dir / folder)
    take = model.generate(GenerationRequest("dog barking", replace(model.default_params, duration=2.0), 3))
    codes = torch.from_numpy(take.codes)[None]  # [1, K, 100]
    chunks = preview_chunks(model.codec, codes)
    assert len(chunks) >= 100 // CHUNK_FRAMES
    joined = np.concatenate(chunks, axis=-1)
    assert joined.shape == take.wav.shape
    assert np.abs(joined - take.wav).max() < BOUND
    # Without left context and look-ahead the joins are audible: the context is what makes them match.
    assert max_preview_error(model.codec, codes, context=0, lookahead=0) > 100 * BOUND

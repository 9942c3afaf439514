"""Decoding growing codes for a preview: core's on_frames callback, the streaming decoder and ChunkDecoder on the
fixture models and on an EnCodec of the released 32 kHz size (random weights)."""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import pytest
import torch

from benchmarks.common import real_size_codec
from core.codec.preview import CHUNK_FRAMES, ChunkDecoder, max_preview_error, preview_chunks
from core.codec.streaming import NotStreamable, StreamingDecoder
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
    # Re-decoding each chunk alone (the fallback without left context and look-ahead) makes audible joins: the
    # streamed layers' kept context is what makes the chunks match.
    assert max_preview_error(model.codec, codes, streaming=False, context=0, lookahead=0) > 100 * BOUND


released_size_codec = functools.cache(real_size_codec)  # built once per (norm, causal) for the whole module


@pytest.mark.parametrize("frames", [1, 4, 23])
@pytest.mark.parametrize("step", [1, 10])
@pytest.mark.parametrize("causal", [False, True])
def test_streamed_decode_is_the_whole_decode_at_the_released_size(frames, step, causal):
    codec = released_size_codec(causal=causal)
    codes = torch.randint(0, 2048, (1, 4, frames), generator=torch.Generator().manual_seed(frames))
    stream = StreamingDecoder(codec)
    pieces = [stream.step(codes[..., start : start + step]) for start in range(0, frames, step)]
    joined = torch.cat([*pieces, stream.flush()], dim=-1)
    with torch.inference_mode():
        whole = codec.decode(codes)
    assert joined.shape == whole.shape == (1, 1, frames * 640)
    assert (joined - whole).abs().max() < BOUND
    if frames > 7:  # audio comes out before the end (once the first conv's 7 taps are filled)
        assert sum(p.shape[-1] for p in pieces) > 0


def test_stereo_fixture_streams_both_channels(engine, fixtures_dir):
    model = engine.load(fixtures_dir / "musicgen-stereo")
    codes = torch.from_numpy(
        model.generate(GenerationRequest("wind", replace(model.default_params, duration=0.6), 2)).codes
    )
    decoder = ChunkDecoder(model.codec, chunk=7)
    assert decoder.stream is not None
    chunks = [c for f in range(1, 31) if (c := decoder.feed(codes[None, :, :f])) is not None]
    chunks.append(decoder.finish(codes[None]))
    assert len(chunks) == 30 // 7 + 1 and all(c.shape[0] == 2 for c in chunks)
    with torch.inference_mode():
        whole = model.codec.decode(codes[None])[0].numpy()
    assert np.abs(np.concatenate(chunks, axis=-1) - whole).max() < BOUND


def test_a_codec_that_cannot_stream_falls_back_to_context_decoding():
    codec = released_size_codec(norm="time_group_norm")  # normalises over the whole signal: not streamable
    with pytest.raises(NotStreamable):
        StreamingDecoder(codec)
    assert ChunkDecoder(codec).stream is None
    codes = torch.randint(0, 2048, (1, 4, 40), generator=torch.Generator().manual_seed(1))
    assert sum(chunk.shape[-1] for chunk in preview_chunks(codec, codes, step=5)) == 40 * 640

"""What hearing a take while it generates costs: generation speed with and without the preview, and how far the
joined preview chunks are from the final decode.

musicgen-small architecture LM with random weights (as bench_generate.py) and an EnCodec of the real 32 kHz size
(num_filters 64, hidden 128, codebook 2048, 2 LSTM layers, ratios 8/5/4/4; random weights), batch 1 with CFG.
"With preview" = core's `on_frames` callback plus ChunkDecoder decoding a chunk every CHUNK_FRAMES frames, as the
desktop worker does. The largest preview difference is also measured on the fixture models' own codecs.

    python benchmarks/bench_preview.py [--seconds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
if FIXTURES.is_dir():
    os.environ.setdefault("HF_HUB_CACHE", str(FIXTURES / "hf-cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import MUSICGEN_SMALL, machine, random_lm  # noqa: E402
from core.codec.preview import (  # noqa: E402
    CHUNK_FRAMES,
    CONTEXT_FRAMES,
    LOOKAHEAD_FRAMES,
    ChunkDecoder,
    max_preview_error,  # noqa: E402
)
from core.decoding.autoregressive import generate_codes  # noqa: E402
from core.nn.delay_pattern import DelayPattern  # noqa: E402
from core.nn.lm import Conditions  # noqa: E402
from core.params import GenerationParams  # noqa: E402

FRAME_RATE = 50
TEXT_TOKENS = 12


def real_size_codec():
    """An EnCodec 32 kHz of the released size with random weights (transformers' EncodecModel)."""
    from transformers import EncodecConfig, EncodecModel

    from core.codec.compression import EncodecCompressionModel

    config = EncodecConfig(
        sampling_rate=32000,
        audio_channels=1,
        num_filters=64,
        hidden_size=128,
        codebook_size=2048,
        codebook_dim=128,
        upsampling_ratios=[8, 5, 4, 4],
        num_lstm_layers=2,
        use_causal_conv=False,
        normalize=False,
        pad_mode="reflect",
        target_bandwidths=[2.2],
    )
    torch.manual_seed(0)
    return EncodecCompressionModel(EncodecModel(config).eval(), 4)


def generate(seconds: float, codec, preview: bool) -> tuple[float, int, torch.Tensor]:
    """Seconds of wall clock for `seconds` of audio (LM decode, then the final decode), chunks handed out, codes."""
    lm = random_lm()
    lm.pack_weights()
    text = torch.randn(1, TEXT_TOKENS, MUSICGEN_SMALL["dim"]) * 0.1
    cond = Conditions(cross=torch.cat([text, torch.zeros_like(text)]))
    params = GenerationParams(duration=seconds, top_k=250, cfg_coef=3.0)
    prompt = torch.zeros(1, 4, 0, dtype=torch.long)
    pattern = DelayPattern((0, 1, 2, 3))
    generate_codes(lm, pattern, cond, prompt, 8, params, torch.Generator().manual_seed(0))  # warm-up
    decoder = ChunkDecoder(codec)
    chunks = []

    def on_frames(codes: torch.Tensor) -> None:
        chunk = decoder.feed(codes)
        if chunk is not None:
            chunks.append(chunk)

    frames = int(seconds * FRAME_RATE)
    start = time.perf_counter()
    codes = generate_codes(
        lm,
        pattern,
        cond,
        prompt,
        frames,
        params,
        torch.Generator().manual_seed(0),
        on_frames=on_frames if preview else None,
    )
    if preview:
        decoder.finish(codes)
    with torch.inference_mode():
        codec.decode(codes)  # the final take's decode, in both runs
    return time.perf_counter() - start, len(chunks), codes


def fixture_errors() -> list[str]:
    from dataclasses import replace

    from core.engine import Engine, GenerationRequest

    engine, lines = Engine(), []
    for name in ("musicgen", "audiogen", "musicgen-stereo"):
        model = engine.load(FIXTURES / name)
        take = model.generate(GenerationRequest("rain", replace(model.default_params, duration=3.0), 1))
        codes = torch.from_numpy(take.codes)[None]
        error = max_preview_error(model.codec, codes)
        lines.append(f"  fixture {name}: 3 s, largest |preview - final| = {error:.2e} (peak {abs(take.wav).max():.2f})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine())
    print(f"chunks of {CHUNK_FRAMES} frames, {CONTEXT_FRAMES} frames of left context, {LOOKAHEAD_FRAMES} of look-ahead")
    codec = real_size_codec()
    plain, _, _ = generate(args.seconds, codec, preview=False)
    with_preview, count, codes = generate(args.seconds, codec, preview=True)
    print(f"  without preview: {plain / args.seconds:.3f} s per second of audio")
    print(
        f"  with preview:    {with_preview / args.seconds:.3f} s per second of audio ({count} chunks), "
        f"{100 * (with_preview / plain - 1):+.1f} %"
    )
    print(f"  real-size EnCodec, random weights: largest |preview - final| = {max_preview_error(codec, codes):.2e}")
    if FIXTURES.is_dir():
        print("\n".join(fixture_errors()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

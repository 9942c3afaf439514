"""What hearing a take while it generates costs: generation speed with and without the preview, and how far the
joined preview chunks are from the final decode.

A musicgen-small-size random release (benchmarks/random_release.py) loaded through the Engine in the default
precision, as the window does, and an EnCodec of the real 32 kHz size (num_filters 64, hidden 128, codebook 2048,
2 LSTM layers, ratios 8/5/4/4; random weights) for the chunks and the final decode; batch 1 with CFG.
"With preview" = core's `on_frames` callback plus ChunkDecoder decoding a chunk every CHUNK_FRAMES frames, as the
desktop worker does. The largest preview difference is also measured on the fixture models' own codecs.

    python benchmarks/bench_preview.py [--model DIR] [--seconds 5] [--threads 2] [--precision auto]
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

from benchmarks.common import machine  # noqa: E402
from core.codec.preview import (  # noqa: E402
    CHUNK_FRAMES,
    CONTEXT_FRAMES,
    LOOKAHEAD_FRAMES,
    ChunkDecoder,
    max_preview_error,  # noqa: E402
)
from core.engine import Engine, GenerationRequest  # noqa: E402
from core.params import GenerationParams  # noqa: E402

PROMPT = "tense string ostinato, 90 bpm"


def real_size_codec():
    """An EnCodec 32 kHz of the released size with random weights (transformers' EncodecModel)."""
    from transformers import EncodecConfig, EncodecModel

    from core.codec.compression import EncodecCompressionModel
    from core.codec.encodec import use_exact_padding

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
    return EncodecCompressionModel(use_exact_padding(EncodecModel(config)).eval(), 4)  # as the app loads it


def generate(model, seconds: float, codec, preview: bool) -> tuple[float, int, torch.Tensor]:
    """Seconds of wall clock for `seconds` of audio (the take as `main.py generate` makes it, then the real-size
    codec's final decode), chunks handed out, codes."""
    params = GenerationParams(duration=seconds, top_k=250, cfg_coef=3.0)
    model.generate(GenerationRequest(PROMPT, params.replace(duration=0.2), 0))  # warm-up
    decoder = ChunkDecoder(codec)
    chunks = []

    def on_frames(codes: torch.Tensor) -> None:
        chunk = decoder.feed(codes)
        if chunk is not None:
            chunks.append(chunk)

    start = time.perf_counter()
    take = model.generate(GenerationRequest(PROMPT, params, 0), on_frames=on_frames if preview else None)
    codes = torch.from_numpy(take.codes)[None]
    if preview:
        decoder.finish(codes)
    with torch.inference_mode():
        codec.decode(codes)  # the final take's decode at the released codec's size, in both runs
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
    parser.add_argument("--model", type=Path, help="a musicgen-small-size release folder (random_release.py)")
    parser.add_argument("--precision", default="auto", help="auto (the default of main.py and the window), fp32...")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine())
    print(f"chunks of {CHUNK_FRAMES} frames, {CONTEXT_FRAMES} frames of left context, {LOOKAHEAD_FRAMES} of look-ahead")
    codec = real_size_codec()
    folder = args.model
    if folder is None:
        import tempfile

        from benchmarks.random_release import write_release

        folder = write_release("musicgen-small", Path(tempfile.mkdtemp(prefix="musicgen-small-")))
    model = Engine(precision=args.precision).load(folder)
    print(f"musicgen-small size, {args.seconds} s, batch 1 + CFG 3, top-k 250, precision {model.precision}")
    plain, _, _ = generate(model, args.seconds, codec, preview=False)
    with_preview, count, codes = generate(model, args.seconds, codec, preview=True)
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

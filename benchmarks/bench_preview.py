"""What hearing a take while it generates costs: generation speed with the preview off and on, and how far the
joined preview chunks are from the final decode.

A musicgen-small-size random release (benchmarks/random_release.py) loaded through the Engine in the default
precision, as the window does, and an EnCodec of the real 32 kHz size (num_filters 64, hidden 128, codebook 2048,
2 LSTM layers, ratios 8/5/4/4; random weights) for the chunks and the final decode; batch 1 with CFG.
"Preview on" = core's `on_frames` into the window's `PreviewFeed`: the streaming decoder between the LM's steps,
a first chunk of FIRST_CHUNK_FRAMES frames, then one each CHUNK_FRAMES. `--compare` adds the
preview before issue 25: each chunk of 25 frames decoded again with 25 frames of left context and 5 of look-ahead
on the generating thread. The largest preview difference is also measured on the fixture models' own codecs.

    python benchmarks/bench_preview.py [--model DIR] [--seconds 5] [--threads 2] [--precision auto] [--compare]
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

from benchmarks.common import machine, real_size_codec  # noqa: E402
from core.codec.preview import CHUNK_FRAMES, FIRST_CHUNK_FRAMES, ChunkDecoder, max_preview_error  # noqa: E402
from core.codec.preview_feed import PreviewFeed  # noqa: E402
from core.engine import Engine, GenerationRequest  # noqa: E402
from core.params import GenerationParams  # noqa: E402

PROMPT = "tense string ostinato, 90 bpm"


def preview_hooks(codec, mode: str):
    """`on_frames` and the end of the take for preview `mode` (off, on, redecode); the hooks count the chunks."""
    chunks: list = []
    if mode == "off":
        return None, lambda codes: None, chunks
    if mode == "redecode":  # before issue 25: on the generating thread, 25 frames of context per chunk
        decoder = ChunkDecoder(codec, chunk=25, streaming=False)
        feed = lambda codes: chunks.append(decoder.feed(codes))  # noqa: E731
        return feed, lambda codes: chunks.append(decoder.finish(codes)), chunks
    preview = PreviewFeed(codec, lambda variation, samples, rate, last: chunks.append(samples))

    def end(codes: torch.Tensor) -> None:
        preview.finish(0, codes)
        preview.close()

    return (lambda codes: preview(0, codes)), end, chunks


def generate(model, seconds: float, codec, mode: str) -> tuple[float, int, torch.Tensor]:
    """Seconds of wall clock for `seconds` of audio (the take as `main.py generate` makes it, then the real-size
    codec's final decode), chunks handed out, codes."""
    params = GenerationParams(duration=seconds, top_k=250, cfg_coef=3.0)
    model.generate(GenerationRequest(PROMPT, params.replace(duration=0.2), 0))  # warm-up
    on_frames, end, chunks = preview_hooks(codec, mode)
    start = time.perf_counter()
    take = model.generate(GenerationRequest(PROMPT, params, 0), on_frames=on_frames)
    codes = torch.from_numpy(take.codes)[None]
    end(codes)  # the last chunk (the window hands it out before it records the take)
    with torch.inference_mode():
        codec.decode(codes)  # the final take's decode at the released codec's size, in every run
    return time.perf_counter() - start, sum(c is not None for c in chunks), codes


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
    parser.add_argument("--compare", action="store_true", help="also time the re-decoding preview of before")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine())
    print(f"preview chunks streamed: the first of {FIRST_CHUNK_FRAMES} frames, then of {CHUNK_FRAMES}")
    codec = real_size_codec()
    folder = args.model
    if folder is None:
        import tempfile

        from benchmarks.random_release import write_release

        folder = write_release("musicgen-small", Path(tempfile.mkdtemp(prefix="musicgen-small-")))
    model = Engine(precision=args.precision).load(folder)
    print(f"musicgen-small size, {args.seconds} s, batch 1 + CFG 3, top-k 250, precision {model.precision}")
    modes = ["off", "on"] + (["redecode"] if args.compare else [])
    times: dict[str, float] = {}
    for mode in modes:
        times[mode], count, codes = generate(model, args.seconds, codec, mode)
        label = {"off": "preview off", "on": "preview on", "redecode": "re-decoding (before)"}[mode]
        change = "" if mode == "off" else f" ({count} chunks), {100 * (times[mode] / times['off'] - 1):+.1f} %"
        print(f"  {label + ':':22s}{times[mode] / args.seconds:.3f} s per second of audio{change}")
    print(f"  real-size EnCodec, random weights: largest |preview - final| = {max_preview_error(codec, codes):.2e}")
    if FIXTURES.is_dir():
        print("\n".join(fixture_errors()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generation speed of the autoregressive decode loop, musicgen-small architecture, vs transformers' MusicGen.

Random weights at real sizes (decoder 24 layers, dim 1024, 16 heads, ffn 4096, card 2048, 4 codebooks; the
condition is a random T5-base-sized sequence projected to 1024), batch 1 with CFG (2 rows), top-k 250, CFG 3.
Prints seconds of wall clock per second of audio for fp32 and bf16, ours and transformers' in the same run,
and the greedy-token agreement of bf16 with fp32 on the fixture models.

    python benchmarks/bench_generate.py [--seconds 5] [--threads 2] [--skip-transformers]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
if FIXTURES.is_dir():  # the bf16 agreement check loads the fixture models' T5 from their hub cache, offline
    os.environ.setdefault("HF_HUB_CACHE", str(FIXTURES / "hf-cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import MUSICGEN_SMALL, machine, random_lm  # noqa: E402
from core.decoding.autoregressive import generate_codes  # noqa: E402
from core.nn.delay_pattern import DelayPattern  # noqa: E402
from core.nn.lm import Conditions  # noqa: E402
from core.params import GenerationParams  # noqa: E402

FRAME_RATE = 50
TEXT_TOKENS = 12


def ours(seconds: float, dtype: torch.dtype) -> float:
    lm = random_lm().to(dtype)
    lm.pack_weights()  # as Engine.load does
    text = torch.randn(1, TEXT_TOKENS, MUSICGEN_SMALL["dim"]) * 0.1
    cond = Conditions(cross=torch.cat([text, torch.zeros_like(text)]).to(dtype))
    params = GenerationParams(duration=seconds, top_k=250, cfg_coef=3.0)
    prompt = torch.zeros(1, 4, 0, dtype=torch.long)
    generator = torch.Generator().manual_seed(0)
    frames = int(seconds * FRAME_RATE)
    generate_codes(lm, DelayPattern((0, 1, 2, 3)), cond, prompt, 8, params, generator)  # warm-up
    start = time.perf_counter()
    generate_codes(lm, DelayPattern((0, 1, 2, 3)), cond, prompt, frames, params, generator)
    return (time.perf_counter() - start) / seconds


def transformers_musicgen(seconds: float, dtype: torch.dtype) -> float:
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    small = MUSICGEN_SMALL  # the same sizes as ours
    config = MusicgenConfig(
        text_encoder=T5Config(d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12, vocab_size=32128).to_dict(),
        audio_encoder=EncodecConfig(
            sampling_rate=32000,
            audio_channels=1,
            num_filters=64,
            hidden_size=128,
            codebook_size=small["card"],
            upsampling_ratios=[8, 5, 4, 4],
            target_bandwidths=[2.2],
            num_lstm_layers=2,
            use_causal_conv=False,
            norm_type="weight_norm",
            normalize=False,
            pad_mode="reflect",
        ).to_dict(),
        decoder=MusicgenDecoderConfig(
            vocab_size=small["card"],
            num_hidden_layers=small["num_layers"],
            hidden_size=small["dim"],
            num_attention_heads=small["num_heads"],
            ffn_dim=small["hidden_scale"] * small["dim"],
            num_codebooks=small["n_q"],
        ).to_dict(),
    )
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config).eval().to(dtype)
    ids = torch.randint(3, 32000, (1, TEXT_TOKENS))
    mask = torch.ones_like(ids)
    steps = int(seconds * FRAME_RATE) + 3
    kwargs = dict(input_ids=ids, attention_mask=mask, do_sample=True, top_k=250, guidance_scale=3.0)
    with torch.inference_mode():
        model.generate(**kwargs, max_new_tokens=8)  # warm-up
        start = time.perf_counter()
        model.generate(**kwargs, max_new_tokens=steps)
    return (time.perf_counter() - start) / seconds


def bf16_agreement() -> str:
    """Greedy tokens of the fixture models in bf16 vs fp32 (fraction equal)."""
    fixtures = FIXTURES
    if not fixtures.is_dir():
        return "fixtures absent"
    from core.engine import Engine, GenerationRequest

    params = GenerationParams(duration=1.0, use_sampling=False, cfg_coef=3.0)
    parts = []
    for folder in ("musicgen", "audiogen"):
        a = Engine().load(fixtures / folder)
        b = Engine(dtype=torch.bfloat16).load(fixtures / folder)
        for prompt in ("dog barking", "sirens of an emergency vehicle", "footsteps in a corridor"):
            request = GenerationRequest(prompt, params, 0)
            equal = float(np.mean(a.generate(request).codes == b.generate(request).codes))
            parts.append(f"{folder}/{prompt!r}: {equal:.1%}")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-transformers", action="store_true")
    parser.add_argument("--skip-agreement", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine())
    print(f"musicgen-small architecture, {args.seconds} s of audio, batch 1 + CFG, top-k 250, cfg 3")
    print("seconds of compute per second of audio (lower is better):")
    for dtype in (torch.float32, torch.bfloat16):
        line = f"  {str(dtype):15s} ours {ours(args.seconds, dtype):6.2f}"
        if not args.skip_transformers:
            line += f"   transformers {transformers_musicgen(args.seconds, dtype):6.2f}"
        print(line, flush=True)
    if not args.skip_agreement:
        print("bf16 vs fp32 greedy tokens on the fixtures:", bf16_agreement())


if __name__ == "__main__":
    main()

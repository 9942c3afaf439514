"""MAGNeT masked decoding vs autoregressive decoding of the same LM, magnet-small architecture, random weights.

LM dim 1024, 24 layers, 16 heads, ffn 4096, card 2048, 4 codebooks, cross-attention to a random T5-base-sized
condition; batch 1 with CFG (2 rows). MAGNeT: non-causal, subcodes_context 5, span 3, default decoding
steps 20,10,10,10 (50 full-sequence passes), top-p 0.9, temperature 3. Autoregressive: the same weights
with causal attention, delay pattern [0,1,2,3] and KV cache
(`core.decoding.autoregressive.generate_codes`), top-k 250, CFG 3.
Both generate `--seconds` of audio (default 10 s = 500 frames; MAGNeT trims to 498) in the same run.

Per generated frame MAGNeT runs 50 passes over the whole sequence (about 50 x 996 positions for 10 s, ~35
TFLOP: compute-bound), the autoregressive loop 1 cached step of 2 positions per frame (~0.7 TFLOP, bound by
reading the 1.4 GB of weights once per step). The script prints both, with the achieved GFLOP/s.

    python benchmarks/bench_magnet.py [--seconds 10] [--threads N] [--dtype bfloat16]

Measured (2-core AMD EPYC with AVX-512/BF16, torch 2.13 CPU, 2 threads, 10 s): float32 MAGNeT 218.7 s
(173 GFLOP/s, near the cores' peak) vs autoregressive 73.5 s -> 0.34x; bfloat16 66.7 s vs 23.5 s -> 0.35x.
On a CPU this small MAGNeT is compute-bound and slower; its speed-up needs a GPU's spare FLOPs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, random_init  # noqa: E402
from core.decoding.autoregressive import generate_codes  # noqa: E402
from core.decoding.masked import decode_masked  # noqa: E402
from core.models.catalog import MAGNET_DEFAULTS, MUSICGEN_DEFAULTS  # noqa: E402
from core.nn.delay_pattern import DelayPattern  # noqa: E402
from core.nn.lm import Conditions, LMConfig, LMModel  # noqa: E402
from core.nn.transformer import TransformerConfig  # noqa: E402

FRAME_RATE = 50
SPAN_LEN = 3
TEXT_TOKENS = 12
T5_BASE_DIM = 768
MAGNET_SMALL = LMConfig(
    n_q=4,
    card=2048,
    transformer=TransformerConfig(
        dim=1024,
        num_heads=16,
        num_layers=24,
        hidden_scale=4,
        causal=False,
        cross_attention=True,
        bias_ff=False,
        bias_attn=False,
    ),
    norm_first=True,
    bias_proj=False,
    subcodes_context=5,
)


def magnet_lm(seed: int = 0) -> LMModel:
    """magnet-small with gaussian (std 0.02) weights, as audiocraft's init scale."""
    return random_init(LMModel, MAGNET_SMALL, seed).eval()


def causal_twin(lm: LMModel) -> LMModel:
    """The same weights (shared, no copy) in a causal LM for autoregressive decoding."""
    cfg = replace(lm.cfg, transformer=replace(lm.cfg.transformer, causal=True), subcodes_context=None)
    with torch.device("meta"):
        twin = LMModel(cfg)
    twin.load_state_dict(lm.state_dict(), assign=True)
    return twin.eval()


def cfg_condition(dim: int) -> Conditions:
    """[random text projected to the LM width; null (zeros)]: the CFG batch of one prompt."""
    generator = torch.Generator().manual_seed(1)
    text = torch.randn(1, TEXT_TOKENS, T5_BASE_DIM, generator=generator)
    proj = torch.randn(T5_BASE_DIM, dim, generator=generator) / T5_BASE_DIM**0.5
    cross = text @ proj  # [1, L, D]
    return Conditions(cross=torch.cat([cross, torch.zeros_like(cross)]))


def flops_per_position(cfg: LMConfig, heads: int, context: int) -> float:
    """Multiply-adds x 2 of one position through the LM: projections, feed-forward, `heads` output heads and
    self-attention over `context` keys (cross-attention keys/values are computed once per generation)."""
    d, t = cfg.transformer.dim, cfg.transformer
    per_layer = (4 + 2 + 2 * t.hidden_scale) * d * d + 2 * context * d  # self-attn, cross q/out, ffn, scores
    return 2 * (t.num_layers * per_layer + heads * d * cfg.card)


def run_magnet(lm: LMModel, cond: Conditions, frames: int) -> float:
    params = MAGNET_DEFAULTS
    decode_masked(lm, cond, 6, SPAN_LEN, params.replace(decoding_steps=(1, 1, 1, 1)), None)  # warm-up
    start = time.perf_counter()
    codes = decode_masked(lm, cond, frames, SPAN_LEN, params, torch.Generator().manual_seed(0))
    elapsed = time.perf_counter() - start
    T, passes = codes.shape[-1], sum(params.decoding_steps)
    # Stage 0 attends to all T frames, stages > 0 are computed densely too (masked, not skipped).
    work = passes * 2 * T * flops_per_position(lm.cfg, 1, T)
    print(
        f"MAGNeT:          {elapsed:8.2f} s  codes {tuple(codes.shape)}, {passes} passes x 2 x {T} positions, "
        f"{work / 1e12:.1f} TFLOP, {work / elapsed / 1e9:.0f} GFLOP/s"
    )
    return elapsed


def run_autoregressive(lm: LMModel, cond: Conditions, frames: int) -> float:
    params, pattern = MUSICGEN_DEFAULTS, DelayPattern((0, 1, 2, 3))
    prompt = torch.zeros(1, 4, 0, dtype=torch.long)
    generate_codes(lm, pattern, cond, prompt, 4, params, None)  # warm-up
    start = time.perf_counter()
    codes = generate_codes(lm, pattern, cond, prompt, frames, params, torch.Generator().manual_seed(0))
    elapsed = time.perf_counter() - start
    steps = pattern.num_steps(frames)
    work = steps * 2 * flops_per_position(lm.cfg, lm.cfg.n_q, steps // 2)
    weights = sum(p.numel() * p.element_size() for p in lm.parameters()) / 1e9
    print(
        f"autoregressive:  {elapsed:8.2f} s  codes {tuple(codes.shape)}, {steps} steps x 2 positions, "
        f"{work / 1e12:.2f} TFLOP, {work / elapsed / 1e9:.0f} GFLOP/s, "
        f"{weights * steps / elapsed:.1f} GB/s of weights"
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length for both runs (default 10)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32", help="weights and activations")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    frames = int(args.seconds * FRAME_RATE)
    dtype = getattr(torch, args.dtype)
    print(machine())
    print(f"load average before the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"magnet-small architecture, random weights, {args.dtype}, CFG batch of 2 rows, "
        f"{args.seconds:g} s = {frames} frames"
    )
    lm = magnet_lm().to(dtype)
    cond = cfg_condition(MAGNET_SMALL.transformer.dim)
    cond = Conditions(cross=cond.cross.to(dtype))
    with torch.inference_mode():
        masked = run_magnet(lm, cond, frames)
        autoregressive = run_autoregressive(causal_twin(lm), cond, frames)
    print(f"speed-up of MAGNeT over autoregressive: {autoregressive / masked:.2f}x")


if __name__ == "__main__":
    main()

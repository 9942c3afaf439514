"""Generation speed per precision at a released size, against the bandwidth floor and transformers' MusicGen.

Workload P1 (issue 11): a random-weight musicgen-small-size release (24 layers, dim 1024, 16 heads, card 2048,
4 codebooks; `benchmarks/random_release.py`), loaded through the Engine as `main.py generate` does, batch 1
with CFG 3, top-k 250. For each precision: seconds of compute per second of audio (the whole take, codec
included), ms per decoding step, the LM weight bytes read per step, the memory read bandwidth measured in the
same run, and efficiency = bandwidth floor (bytes / bandwidth) / measured step time. Then transformers'
MusicgenForConditionalGeneration (random weights, same sizes) in fp32 and bf16, and the wall time of 4
variations (decoded together) over one take in fp32 and int8.

    python benchmarks/bench_generate.py [--size musicgen-small|audiogen-medium] [--model DIR] [--seconds 5]
                                        [--threads 2] [--repeats 3] [--skip-transformers] [--eager]

Without --model a release of --size is written to a temporary folder first (about 1.7 GB for musicgen-small,
6 GB for audiogen-medium). Precisions: fp32, bf16, int8 and int4 (where this CPU runs its 4-bit kernel);
transformers' MusicGen only at musicgen-small size.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
os.environ.setdefault("HF_HUB_CACHE", str(FIXTURES / "hf-cache"))  # the release's T5 is the fixtures' tiny one
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import MUSICGEN_SMALL, machine  # noqa: E402
from core.engine import Engine, GenerationRequest, generate_variations  # noqa: E402
from core.models.precision import resolve_precision  # noqa: E402
from core.nn.kernels import INT4_MM, available, cpu_capability  # noqa: E402
from core.nn.transformer import CrossAttention  # noqa: E402
from core.params import GenerationParams  # noqa: E402

FRAME_RATE = 50
TEXT_TOKENS = 12
PROMPT = "tense string ostinato, 90 bpm"


def read_bandwidth(megabytes: int = 512) -> float:
    """Memory read bandwidth in GB/s: the best of 5 sums over a buffer far larger than the caches."""
    data = torch.ones(megabytes * (1 << 20) // 4)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        data.sum()
        best = min(best, time.perf_counter() - start)
    return data.numel() * 4 / best / 1e9


def weight_bytes(lm) -> int:
    """Bytes of LM linear weights read in one decoding step (each prepared linear once).

    The cross-attention's key and value projections (parts 1 and 2) are not counted: they project the text once
    per take, not once per step.
    """
    once_per_take = {
        id(module.packed[part]) for module in lm.modules() if isinstance(module, CrossAttention) for part in (1, 2)
    }
    return sum(form.nbytes() for form in lm.prepared_linears() if id(form) not in once_per_take)


def time_take(model, seconds: float) -> tuple[float, float]:
    """(seconds per audio second of the whole take, median ms per decoding step after the first).

    The median step, not the mean: on a shared host another tenant's burst slows a few steps by 2-5x, which moves a
    mean by 10-20 % from run to run. The attention's cost grows evenly with the position, so in a quiet run the
    two agree.
    """
    stamps: list[float] = []
    params = GenerationParams(duration=seconds, top_k=250, cfg_coef=3.0)
    start = time.perf_counter()
    model.generate(
        GenerationRequest(PROMPT, params, 0), progress=lambda step, total: stamps.append(time.perf_counter())
    )
    wall = time.perf_counter() - start
    return wall / seconds, statistics.median(b - a for a, b in itertools.pairwise(stamps)) * 1e3


def time_variations(model, seconds: float, count: int = 4, repeats: int = 2) -> tuple[float, float]:
    """Wall time of one take and of `count` variations decoded together, each the best of `repeats` runs taken in
    turns (one, together, one, together, ...), so a slow spell on the host costs both alike."""
    request = GenerationRequest(PROMPT, GenerationParams(duration=seconds, top_k=250, cfg_coef=3.0), 0)
    walls = [
        (_wall(lambda: model.generate(request)), _wall(lambda: generate_variations(model, request, count)))
        for _ in range(repeats)
    ]
    return min(one for one, _ in walls), min(together for _, together in walls)


def _wall(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


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
    kwargs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, top_k=250, guidance_scale=3.0)
    with torch.inference_mode():
        model.generate(**kwargs, max_new_tokens=8)  # warm-up
        start = time.perf_counter()
        model.generate(**kwargs, max_new_tokens=int(seconds * FRAME_RATE) + 3)
    return (time.perf_counter() - start) / seconds


def print_table(models: dict, seconds: float, repeats: int, bandwidth: float, eager: bool) -> None:
    """Per precision: the best of `repeats` rounds, each round timing every precision once in turn (a slow spell
    on a shared host then slows one round of every mode, not one mode). With `eager`, each round also times every
    precision without its scripted decoding step, right after the scripted take."""
    modes = {}
    for p, m in models.items():  # each precision, then (with `eager`) the same model without its step
        modes[p] = (m, True)
        if eager and m.bundle.lm.decode_step:
            modes[f"{p} eager"] = (m, False)
    rounds = [{name: _time_mode(*modes[name], seconds) for name in modes} for _ in range(repeats)]
    header = ("s/audio s", "ms/step", "MB/step", "floor ms", "efficiency", "vs fp32", "vs int8")
    print(f"{'mode':11s}", " ".join(f"{name:>10s}" for name in header))
    best = {name: (min(r[name][0] for r in rounds), min(r[name][1] for r in rounds)) for name in modes}
    for name, (per_second, step_ms) in best.items():
        nbytes = weight_bytes(modes[name][0].bundle.lm)
        floor = nbytes / bandwidth / 1e6
        figures = (
            f"{per_second:10.2f} {step_ms:10.1f} {nbytes / 1e6:10.0f} {floor:10.1f} {floor / step_ms:10.0%} "
            f"{best['fp32'][1] / step_ms:9.2f}x {best.get('int8', best['fp32'])[1] / step_ms:9.2f}x"
        )
        print(f"{name:11s} {figures}", flush=True)
    spread = {name: max(r[name][1] for r in rounds) / best[name][1] for name in modes}
    print("slowest round / best, ms per step:", ", ".join(f"{p} {v:.2f}" for p, v in spread.items()))
    paired = {p: [r[f"{p} eager"][1] / r[p][1] for r in rounds] for p in models if f"{p} eager" in modes}
    if paired:  # each round's eager take ran right after its scripted one: their ratio survives a slow spell
        ratios = ", ".join(f"{p} {statistics.median(v):.2f}x ({min(v):.2f}-{max(v):.2f})" for p, v in paired.items())
        print(f"scripted step against eager, ms per step, median of the rounds' ratios: {ratios}")


def _time_mode(model, scripted: bool, seconds: float) -> tuple[float, float]:
    """`time_take`, without the LM's scripted decoding step unless `scripted`."""
    lm = model.bundle.lm
    step, lm.decode_step = lm.decode_step, lm.decode_step if scripted else None
    try:
        return time_take(model, seconds)
    finally:
        lm.decode_step = step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("musicgen-small", "audiogen-medium"), default="musicgen-small")
    parser.add_argument("--model", type=Path, help="a release folder of --size (random_release.py)")
    parser.add_argument("--seconds", type=float, default=5.0, help="audio seconds per timed take")
    parser.add_argument("--variation-seconds", type=float, default=2.0, help="audio seconds per variation")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="rounds over the precisions; the best round is shown")
    parser.add_argument("--skip-transformers", action="store_true")
    parser.add_argument("--skip-table", action="store_true", help="skip the per-precision table")
    parser.add_argument("--skip-variations", action="store_true")
    parser.add_argument("--eager", action="store_true", help="also time each precision without its scripted step")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine())
    print(cpu_capability(), f"| auto picks {resolve_precision('auto')}", flush=True)
    folder = args.model
    if folder is None:
        from benchmarks.random_release import write_release

        folder = write_release(args.size, Path(tempfile.mkdtemp(prefix=f"{args.size}-")))
    bandwidth = read_bandwidth()
    print(f"memory read bandwidth: {bandwidth:.1f} GB/s (2^29-byte sum, best of 5)")
    print(f"{args.size} size, {args.seconds} s take, batch 1 + CFG 3, top-k 250, {args.threads} threads")
    int4 = ("int4",) if available(INT4_MM) else ()
    precisions = [p for p in ("fp32", "bf16", "int8", *int4) if not (args.skip_table and p == "bf16")]
    precisions = [] if args.skip_table and args.skip_variations else precisions
    models = {precision: Engine(precision=precision).load(folder) for precision in precisions}
    scripted = ", ".join(f"{p} {'yes' if m.bundle.lm.decode_step else 'no'}" for p, m in models.items())
    print(f"scripted decoding step (core/nn/decode_step.py): {scripted}")
    for model in models.values():
        time_take(model, 0.2)  # warm-up (and the int8 cache)
    if not args.skip_table:
        print_table(models, args.seconds, args.repeats, bandwidth, args.eager)
    models.pop("bf16", None)  # variations are timed in fp32, int8 and int4
    if not args.skip_transformers and args.size == "musicgen-small":
        for dtype in (torch.float32, torch.bfloat16):
            print(
                f"transformers {str(dtype)[6:]:9s} {transformers_musicgen(args.seconds, dtype):6.2f} s/audio s",
                flush=True,
            )
    if args.skip_variations:
        return
    print(f"4 variations decoded together vs one take, {args.variation_seconds} s each (best of {args.repeats}):")
    for precision, model in models.items():
        one, four = time_variations(model, args.variation_seconds, repeats=args.repeats)
        print(f"  {precision:5s} one take {one:6.1f} s, 4 variations {four:6.1f} s: {four / one:.2f}x", flush=True)


if __name__ == "__main__":
    main()

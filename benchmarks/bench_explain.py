"""AudioGenX explanation cost: seconds per epoch and explainer size, musicgen-small architecture, random weights.

LM dim 1024, 24 layers, 16 heads, card 2048, 4 codebooks, cross-attention to a random 12-token text condition;
random codes of `--seconds` at 50 Hz. One epoch = the explainer (one MLP per decoding step, 512 hidden) plus a
factual and a counterfactual teacher-forced replay (2 rows, all steps at once) and their backward pass.
Prints the machine, the explainer's parameters and the seconds per epoch (the repository's default is 50).

The LM is put in `--precision` as the Engine would (packed float32 / bf16, int8), since explanations replay a take
in the precision it was made in.

    python benchmarks/bench_explain.py [--seconds 1 5] [--epochs 3] [--threads N] [--device cpu] [--precision auto]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import MUSICGEN_SMALL, machine, random_lm  # noqa: E402
from core.explain.explainer import ExplainSettings, explain_codes  # noqa: E402
from core.explain.mask import StepMaskExplainer  # noqa: E402
from core.explain.words import PromptPieces  # noqa: E402
from core.models.precision import PRECISIONS, float_dtype, resolve_precision  # noqa: E402
from core.nn.delay_pattern import DelayPattern  # noqa: E402
from core.nn.quantize import apply_precision, quantize_lm  # noqa: E402

FRAME_RATE = 50
WORDS = "a dog barks twice while rain falls on a tin roof".split()


def one(lm, seconds: float, epochs: int, device: str) -> tuple[float, int]:
    frames = int(seconds * FRAME_RATE)
    pattern = DelayPattern((0, 1, 2, 3))
    generator = torch.Generator().manual_seed(0)
    codes = torch.randint(0, MUSICGEN_SMALL["card"], (4, frames), generator=generator)
    pieces = [f"▁{w}" for w in WORDS] + ["</s>"]
    text = PromptPieces(" ".join(WORDS), WORDS, pieces, list(range(len(WORDS))) + [None])
    cross = torch.randn(1, len(pieces), MUSICGEN_SMALL["dim"], generator=generator) * 0.1
    times: list[float] = []
    last = [time.perf_counter()]

    def tick(step: int, total: int) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    explain_codes(lm, pattern, cross.to(device), codes, text, FRAME_RATE, ExplainSettings(epochs=epochs), None, tick)
    steps = pattern.num_steps(frames) - 1
    per_epoch = sorted(times[1:] or times)[len(times[1:] or times) // 2]  # median, first epoch excluded
    return per_epoch, StepMaskExplainer.parameter_count(steps, MUSICGEN_SMALL["dim"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS, help="the take's precision (default auto)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    precision = resolve_precision(args.precision, args.device)
    print(machine(), "| device", args.device, "| precision", precision)
    lm = random_lm().to(args.device)
    apply_precision(lm.to(float_dtype(precision)), precision, quantize_lm(lm) if precision == "int8" else None)
    for seconds in args.seconds:
        per_epoch, params = one(lm, seconds, args.epochs, args.device)
        print(
            f"{seconds:g} s take: explainer {params / 1e6:.1f} M parameters "
            f"({16 * params / 1024**3:.2f} GiB with gradients and Adam), {per_epoch:.2f} s per epoch, "
            f"about {50 * per_epoch:.0f} s for the default 50 epochs"
        )


if __name__ == "__main__":
    main()

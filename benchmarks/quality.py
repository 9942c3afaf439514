"""How far bf16 and int8 are from fp32 (the reference): next-token KL, top-1 and greedy-token agreement.

For each model and prompt, a sampled fp32 take gives the tokens; every precision then reads those same tokens
(teacher forcing) and its next-token distributions after CFG are compared with fp32's: mean KL(fp32 || mode)
in nats, and how often the most likely token is the same. Greedy agreement: the fraction of tokens of a greedy
take in that precision equal to the greedy fp32 take (a single early difference changes all later tokens).

    python benchmarks/quality.py [--small DIR]   # DIR: benchmarks/random_release.py --size musicgen-small

Models: the fixtures (musicgen, audiogen) and, with --small, the musicgen-small-size random model.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
os.environ.setdefault("HF_HUB_CACHE", str(FIXTURES / "hf-cache"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import machine  # noqa: E402
from core.decoding.sampling import apply_cfg  # noqa: E402
from core.engine import Engine, GenerationRequest  # noqa: E402
from core.generation.generate import ConditionBuilder  # noqa: E402
from core.nn.kernels import cpu_capability  # noqa: E402

PROMPTS = ("dog barking", "sirens of an emergency vehicle", "footsteps in a corridor")
MODES = ("bf16", "int8")


def log_probs(model, prompt: str, codes: np.ndarray, cfg_coef: float) -> torch.Tensor:
    """Teacher-forced log-probabilities after CFG of every valid next token: -> [N, card] float32."""
    bundle = model.bundle
    cond = ConditionBuilder(model, prompt, None, True, 0)()  # [2, L, D]: conditional, null
    sequence, _ = bundle.pattern.build(torch.from_numpy(codes)[None], bundle.lm.special_token)  # [1, K, S]
    with torch.inference_mode():
        logits = bundle.lm(sequence.repeat(2, 1, 1), cond).float()  # [2, K, S, card]
    guided = apply_cfg(logits[:1], logits[1:], cfg_coef)
    aligned, valid = bundle.pattern.revert_logits(guided, codes.shape[-1])  # [1, K, T, card], [K, T]
    return torch.log_softmax(aligned[0][valid], dim=-1)  # [N, card]


def compare(folder: Path, prompts: tuple[str, ...], seconds: float) -> dict[str, tuple[float, float, float]]:
    models = {p: Engine(precision=p).load(folder) for p in ("fp32", *MODES)}
    reference = models["fp32"]
    sampled = reference.default_params.replace(duration=seconds)
    greedy = sampled.replace(use_sampling=False)
    out: dict[str, list[tuple[float, float, float]]] = {m: [] for m in MODES}
    for prompt in prompts:
        tokens = reference.generate(GenerationRequest(prompt, sampled, 0)).codes
        exact = log_probs(reference, prompt, tokens, sampled.cfg_coef)
        exact_greedy = reference.generate(GenerationRequest(prompt, greedy, 0)).codes
        for mode in MODES:
            other = log_probs(models[mode], prompt, tokens, sampled.cfg_coef)
            kl = float((exact.exp() * (exact - other)).sum(-1).mean())
            top1 = float((exact.argmax(-1) == other.argmax(-1)).float().mean())
            same = float(np.mean(models[mode].generate(GenerationRequest(prompt, greedy, 0)).codes == exact_greedy))
            out[mode].append((kl, top1, same))
    return {mode: tuple(float(np.mean(column)) for column in zip(*rows, strict=True)) for mode, rows in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=Path, help="folder of a musicgen-small-size random release")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine())
    print(cpu_capability())
    print(f"{'model':22s} {'mode':5s} {'mean KL (nats)':>15s} {'top-1 agree':>12s} {'greedy agree':>13s}")
    runs = [
        ("fixture musicgen", FIXTURES / "musicgen", PROMPTS, 1.0),
        ("fixture audiogen", FIXTURES / "audiogen", PROMPTS, 1.0),
    ]
    if args.small:
        runs.append(("musicgen-small random", args.small, PROMPTS[:1], 1.0))
    for label, folder, prompts, seconds in runs:
        for mode, (kl, top1, same) in compare(folder, prompts, seconds).items():
            print(f"{label:22s} {mode:5s} {kl:15.2e} {top1:12.1%} {same:13.1%}", flush=True)


if __name__ == "__main__":
    main()

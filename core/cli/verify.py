"""`verify`: how far each precision is from fp32 on the user's own model, printed and recorded per checkpoint.

For each prompt a sampled fp32 take gives the tokens; every mode then reads those same tokens (teacher forcing)
and its next-token distributions after CFG are compared with fp32's: mean KL(fp32 || mode) in nats and how often
the most likely token is the same (top-1). Greedy agreement: the fraction of tokens of a greedy take in that
mode equal to the greedy fp32 take (one early difference changes every later token). One mode is loaded at a
time (a large model in fp32 and three other modes at once would not fit a laptop). The table is recorded beside
the model's int8 cache (core.models.verification): `auto` picks int4 only for a model verified this way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

MODES = ("bf16", "int8", "int4")
PROMPTS = ("dog barking", "sirens of an emergency vehicle", "footsteps in a corridor")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="compare every precision with fp32 on a model (KL, top-1, greedy agreement)")
    p.add_argument("--model", required=True, help="catalog/hub id or local model folder")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="modes to compare with fp32")
    p.add_argument("--seconds", type=float, default=2.0, help="audio seconds per prompt (default 2)")
    p.add_argument("--prompts", nargs="+", default=list(PROMPTS), help="prompts to compare on")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.errors import InvalidParameterError
    from core.models import verification

    if not args.seconds > 0:
        raise InvalidParameterError(f"Seconds must be a positive number, got {args.seconds}.")
    table, folder = compare(args.model, args.modes, args.prompts, args.seconds, args.device)
    print(format_table(table))
    path = verification.save(folder / "state_dict.bin", table)
    verdict = "may" if verification.int4_verified(folder / "state_dict.bin") else "will not"
    print(f"recorded: {path}\nauto {verdict} pick int4 for this model")
    return 0


def compare(
    ref: str | Path, modes: list[str], prompts: list[str], seconds: float, device: str = "cpu"
) -> tuple[dict[str, dict[str, float]], Path]:
    """(mode -> {"kl", "top1", "greedy"} averaged over the prompts, the model's folder). A mode that resolves to
    another here (int4 without its kernel) is measured as what it runs as, and named so."""
    import numpy as np

    from core.engine import Engine, GenerationRequest

    reference = Engine(device=device, precision="fp32").load(ref)
    sampled = reference.default_params.replace(duration=seconds)
    greedy = sampled.replace(use_sampling=False)
    runs = []
    for prompt in prompts:
        tokens = reference.generate(GenerationRequest(prompt, sampled, 0)).codes
        exact = log_probs(reference, prompt, tokens, sampled.cfg_coef)
        runs.append((prompt, tokens, exact, reference.generate(GenerationRequest(prompt, greedy, 0)).codes))
    folder = reference.folder
    del reference
    table: dict[str, dict[str, float]] = {}
    for mode in modes:
        model = Engine(device=device, precision=mode).load(ref)
        rows = []
        for prompt, tokens, exact, exact_greedy in runs:
            other = log_probs(model, prompt, tokens, sampled.cfg_coef)
            same = model.generate(GenerationRequest(prompt, greedy, 0)).codes == exact_greedy
            rows.append((kl(exact, other), float((exact.argmax(-1) == other.argmax(-1)).float().mean()), same.mean()))
        table[model.precision] = {
            name: float(np.mean(c)) for name, c in zip(("kl", "top1", "greedy"), zip(*rows, strict=True), strict=True)
        }
        del model
    return table, folder


def log_probs(model, prompt: str, codes, cfg_coef: float):
    """Teacher-forced log-probabilities after CFG of every valid next token of `codes` [K, T]: -> [N, card]."""
    import torch

    from core.decoding.sampling import apply_cfg
    from core.generation.generate import ConditionBuilder

    bundle = model.bundle
    cond = ConditionBuilder(model, prompt, None, True, 0)()  # [2, L, D]: conditional, null
    sequence, _ = bundle.pattern.build(torch.from_numpy(codes)[None], bundle.lm.special_token)  # [1, K, S]
    with torch.inference_mode():
        logits = bundle.lm(sequence.repeat(2, 1, 1), cond).float()  # [2, K, S, card]
    guided = apply_cfg(logits[:1], logits[1:], cfg_coef)
    aligned, valid = bundle.pattern.revert_logits(guided, codes.shape[-1])  # [1, K, T, card], [K, T]
    return torch.log_softmax(aligned[0][valid], dim=-1)  # [N, card]


def kl(exact, other) -> float:
    """Mean KL(exact || other) in nats over rows of log-probabilities [N, card]."""
    return float((exact.exp() * (exact - other)).sum(-1).mean())


def format_table(table: dict[str, dict[str, float]]) -> str:
    lines = [f"{'mode':5s} {'mean KL (nats)':>15s} {'top-1 agree':>12s} {'greedy agree':>13s}"]
    for mode, row in table.items():
        lines.append(f"{mode:5s} {row['kl']:15.2e} {row['top1']:12.1%} {row['greedy']:13.1%}")
    return "\n".join(lines)

"""How far every precision is from fp32 (the reference): next-token KL, top-1 and greedy-token agreement.

The same comparison as `main.py verify` (core/cli/verify.py): for each prompt a sampled fp32 take gives the
tokens; every mode reads those same tokens (teacher forcing) and its next-token distributions after CFG are
compared with fp32's: mean KL(fp32 || mode) in nats and how often the most likely token is the same. Greedy
agreement: the fraction of tokens of a greedy take in that mode equal to the greedy fp32 take (a single early
difference changes all later tokens).

    python benchmarks/quality.py [--size fixtures|musicgen-small|audiogen-medium] [--model DIR] [--seconds 1]

`fixtures` compares the tiny fixtures (musicgen, audiogen); a released size writes a random-weight release of
that size first (benchmarks/random_release.py; about 1.7 GB for musicgen-small, 6 GB for audiogen-medium)
unless --model names one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
os.environ.setdefault("HF_HUB_CACHE", str(FIXTURES / "hf-cache"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import machine  # noqa: E402
from core.cli.verify import MODES, PROMPTS, compare, format_table  # noqa: E402
from core.nn.kernels import cpu_capability  # noqa: E402


def models(size: str, model: Path | None) -> list[tuple[str, Path]]:
    if size == "fixtures":
        return [("fixture musicgen", FIXTURES / "musicgen"), ("fixture audiogen", FIXTURES / "audiogen")]
    if model is None:
        from benchmarks.random_release import write_release

        model = write_release(size, Path(tempfile.mkdtemp(prefix=f"{size}-")))
    return [(f"{size} random", model)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("fixtures", "musicgen-small", "audiogen-medium"), default="fixtures")
    parser.add_argument("--model", type=Path, help="a release folder of --size (random_release.py)")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--prompts", type=int, default=len(PROMPTS), help="how many of the standard prompts")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine())
    print(cpu_capability())
    for label, folder in models(args.size, args.model):
        table, _ = compare(folder, list(MODES), list(PROMPTS[: args.prompts]), args.seconds)
        print(f"\n{label}, {args.prompts} prompts x {args.seconds} s\n{format_table(table)}", flush=True)


if __name__ == "__main__":
    main()

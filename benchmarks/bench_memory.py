"""Peak resident memory to load a model and generate 1 s, per precision (issue 11: int8 <= 40 % of fp32).

Each measurement runs in a fresh process (peak RSS is per process): fp32; bf16; int8 with an empty int8 cache
(the first load quantizes, reading every float weight); int8 again (the second load reads the cached int8 weights);
int4 the same two ways (issue 24: int4 <= 1.6 GB at audiogen-medium size).

    python benchmarks/random_release.py --size musicgen-medium --out /tmp/musicgen-medium
    python benchmarks/bench_memory.py --model /tmp/musicgen-medium
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"

_CHILD = """
import resource, sys, time, torch
torch.set_num_threads({threads})
from core.engine import Engine, GenerationRequest
from core.params import GenerationParams
start = time.perf_counter()
model = Engine(precision="{precision}").load(sys.argv[1])
loaded_kb, load_s = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - start
model.generate(GenerationRequest("dog barking", GenerationParams(duration=1.0, top_k=250), 0))
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{{loaded_kb / 2**20:.2f}} {{peak_kb / 2**20:.2f}} {{load_s:.1f}}")
"""


def measure(model: Path, precision: str, cache: Path, threads: int) -> tuple[float, float, float]:
    env = dict(
        os.environ,
        SOUNDDESK_CACHE_DIR=str(cache),
        HF_HUB_CACHE=str(FIXTURES / "hf-cache"),
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(ROOT),
    )
    code = _CHILD.format(precision=precision, threads=threads)
    result = subprocess.run(
        [sys.executable, "-c", code, str(model)], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    loaded, peak, seconds = (float(v) for v in result.stdout.split()[-3:])
    return loaded, peak, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a release folder (random_release.py)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import machine

    print(machine())
    print(f"{args.model}: peak resident memory (GiB) to load, then to load + generate 1 s")
    cache = Path(tempfile.mkdtemp(prefix="sounddesk-int8-cache-"))
    rows = {}
    runs = (("fp32", "fp32"), ("bf16", "bf16"), ("int8, first load", "int8"), ("int8, cached", "int8"))
    runs += (("int4, first load", "int4"), ("int4, cached", "int4"))
    for label, precision in runs:
        loaded, peak, seconds = measure(args.model, precision, cache, args.threads)
        rows[label] = peak
        print(f"  {label:17s} load {loaded:6.2f}  load + 1 s {peak:6.2f}  (load {seconds:.0f} s)", flush=True)
    for label in ("bf16", "int8, first load", "int8, cached", "int4, first load", "int4, cached"):
        print(f"  {label} / fp32: {rows[label] / rows['fp32']:.0%}")


if __name__ == "__main__":
    main()

"""Which fast CPU kernels this machine runs correctly: each probed once on a tiny input, else the plain path.

Kernels differ per CPU: oneDNN's bfloat16 weight packing needs AVX-512 (bw/vl/dq) or AVX-NE-CONVERT and raises
on an AVX2-only CPU; `torch._weight_int8pack_mm` has AVX2, AVX-512 and ARM code. So nothing is assumed: the
first time a kernel is asked for, it runs on a tiny random input and must (a) not raise, (b) match the plain
float64 result within its precision, and (c) give each row the same bits whatever the other rows are (batched
variations rely on it). A kernel failing any of these is reported unavailable and its callers take the plain
path. `forced()` sets a probe's answer, so tests exercise the fallback on any CPU.

Measured choice (issue 11, 24 matrices 4096x1024, 2 rows, 2 threads; AVX2 EPYC / AVX-512 EPYC):
fp32 `weight @ x.T` 47.7 / ~86 ms, bf16 F.linear 32.5 / 10.6 ms, bf16 oneDNN packed - / 8.9 ms,
`_weight_int8pack_mm` with bf16 activations 15.6 / 7.0 ms (175 / 83 ms with fp32 ones). fbgemm's dynamic
int8 Linear was faster still (8.7 / 3.9 ms) but needs the deprecated quantized-tensor functions and quantizes
each call's activations with one scale for all rows, so a take's tokens would depend on the takes batched with
it; `_weight_int8pack_mm` (weight-only, per output channel) keeps every row independent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

ONEDNN_BF16 = "onednn_bf16"  # oneDNN linear on a pre-packed bfloat16 weight
INT8_MM = "int8_mm"  # aten._weight_int8pack_mm: int8 weight per output channel, bfloat16 activations
KERNELS = (ONEDNN_BF16, INT8_MM)

_probed: dict[str, bool] = {}
_forced: dict[str, bool] = {}


def onednn_bf16_pack(weight: torch.Tensor) -> torch.Tensor:
    """oneDNN's packed layout of a bfloat16 weight [N, K] (raises on CPUs without the bf16 ISA)."""
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), 2)


def onednn_bf16_linear(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x [R, K] bfloat16 -> [R, N] with a weight from `onednn_bf16_pack`."""
    return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")


def int8_mm(x: torch.Tensor, q: torch.Tensor, ones: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x [R, K] (any float) times int8 q [N, K] with float32 per-row scales [N] -> float32 [R, N].

    The kernel's own scale argument is all ones (bfloat16 would round the scales); the float32 scale is
    applied to its output instead.
    """
    return torch._weight_int8pack_mm(x.to(torch.bfloat16), q, ones).float() * scale


def _probe_runner(name: str, weight: torch.Tensor) -> tuple[Callable[[torch.Tensor], torch.Tensor], float]:
    """A function of x [R, K] for the kernel on `weight`, and the tolerance it must meet."""
    if name == ONEDNN_BF16:
        if not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")):
            raise RuntimeError("oneDNN is not built in")
        packed = onednn_bf16_pack(weight.bfloat16())
        return (lambda x: onednn_bf16_linear(x.bfloat16(), packed, None).float()), 0.05
    if name == INT8_MM:
        scale = weight.abs().amax(dim=1) / 127  # [N]
        q = torch.round(weight / scale[:, None]).to(torch.int8)
        ones = torch.ones(q.shape[0], dtype=torch.bfloat16)
        return (lambda x: int8_mm(x, q, ones, scale)), 0.05
    raise KeyError(name)


def _probe(name: str) -> bool:
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(48, 64, generator=generator) * 0.1  # [N, K]
    x = torch.randn(7, 64, generator=generator)  # [R, K]
    try:
        with torch.no_grad():
            run, tol = _probe_runner(name, weight)
            everything = run(x)
            exact = F.linear(x.double(), weight.double()).float()
            close = bool(torch.allclose(everything, exact, atol=tol, rtol=tol))
            rows_independent = torch.equal(run(x[:2]), everything[:2]) and torch.equal(run(x[2:5]), everything[2:5])
    except Exception as exc:  # a CPU without the instructions raises RuntimeError; anything else: same answer
        log.info("kernel %s unavailable on this CPU: %s", name, str(exc).splitlines()[0] if str(exc) else exc)
        return False
    if not (close and rows_independent):
        log.info("kernel %s runs but is not usable (close: %s, rows independent: %s)", name, close, rows_independent)
    return close and rows_independent


def available(name: str) -> bool:
    """Whether kernel `name` runs correctly on this CPU (probed once per process)."""
    if name in _forced:
        return _forced[name]
    if name not in _probed:
        _probed[name] = _probe(name)
    return _probed[name]


@contextmanager
def forced(name: str, value: bool) -> Iterator[None]:
    """Answer `available(name)` with `value` inside the block: how tests act out a CPU lacking a kernel."""
    if name not in KERNELS:
        raise KeyError(name)
    previous = _forced.get(name)
    _forced[name] = value
    try:
        yield
    finally:
        if previous is None:
            _forced.pop(name, None)
        else:
            _forced[name] = previous


def cpu_capability() -> str:
    """One line naming the CPU's vector ISA as torch sees it and the probed kernels, e.g. for benchmarks."""
    isa = torch.backends.cpu.get_cpu_capability()
    kernels = ", ".join(f"{name} {'yes' if available(name) else 'no'}" for name in KERNELS)
    return f"CPU capability {isa}; kernels: {kernels}"


def _best_time(run: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def fastest_cpu_precision() -> str:
    """The CPU precision `auto` picks: the fastest of fp32, bf16 (packed) and int8 that runs correctly here.

    Measured once on one 2048x1024 matrix with the 2 rows of a decoding step (a few milliseconds).
    """
    key = tuple(available(name) for name in KERNELS)
    if key not in _choice:
        _choice[key] = _measure_fastest()
    return _choice[key]


_choice: dict[tuple[bool, ...], str] = {}


def _measure_fastest() -> str:
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(2048, 1024, generator=generator) * 0.02
    x = torch.randn(2, 1024, generator=generator)
    times = {"fp32": _best_time(lambda: weight @ x.T)}
    with torch.no_grad():
        if available(INT8_MM):
            run, _ = _probe_runner(INT8_MM, weight)
            times["int8"] = _best_time(lambda: run(x))
        if available(ONEDNN_BF16):
            run, _ = _probe_runner(ONEDNN_BF16, weight)
            times["bf16"] = _best_time(lambda: run(x))
    choice = min(times, key=times.__getitem__)
    log.info("auto precision: %s (%s)", choice, ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in times.items()))
    return choice

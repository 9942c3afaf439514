"""Which fast CPU kernels this machine runs correctly: each probed once on a tiny input, else the plain path.

Kernels differ per CPU: oneDNN's bfloat16 weight packing needs AVX-512 (bw/vl/dq) or AVX-NE-CONVERT and raises
on an AVX2-only CPU; `torch._weight_int8pack_mm` has AVX2, AVX-512 and ARM code. So nothing is assumed: the
first time a kernel is asked for, it runs on a tiny random input and must (a) not raise, (b) match the plain
float64 result within its precision, and (c) give each row the same bits whatever the other rows are (batched
variations rely on it). A kernel failing any of these is reported unavailable and its callers take the plain
path. `forced()` sets a probe's answer, so tests exercise the fallback on any CPU.

Float32 runs packed (oneDNN) wherever the probe accepts it: MKL's `weight @ x.T` reads the weight once per pair
of rows, oneDNN's packed rows are independent, so batched variations share each weight read in float32 too
(the figures: benchmarks/README.md).
fbgemm's int8 GEMM quantizes its whole input with one range: `fbgemm_int8_linear` maps each row onto [0, 1]
first and quantizes with the fixed range [0, 1], so a row's result does not depend on the rows beside it.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

ONEDNN_F32 = "onednn_f32"  # oneDNN linear on a pre-packed float32 weight
ONEDNN_BF16 = "onednn_bf16"  # oneDNN linear on a pre-packed bfloat16 weight
FBGEMM_INT8 = "fbgemm_int8"  # fbgemm's int8 GEMM (x86): int8 weight per output channel, int8 activations per row
INT8_MM = "int8_mm"  # aten._weight_int8pack_mm: int8 weight per output channel, bfloat16 activations
INT4_MM = "int4_mm"  # aten._weight_int4pack_mm_for_cpu: 4-bit weight per group of inputs, float32 activations
KERNELS = (ONEDNN_F32, ONEDNN_BF16, FBGEMM_INT8, INT8_MM, INT4_MM)

_probed: dict[str, bool] = {}
_forced: dict[str, bool] = {}


def onednn_pack(weight: torch.Tensor) -> torch.Tensor:
    """oneDNN's packed layout of a float32 or bfloat16 weight [N, K] (bfloat16 raises on CPUs without its ISA).

    The packed tensor holds the weight's values exactly: `.to_dense()` gives the weight back.
    """
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), 2)


def onednn_linear(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:  # scriptable
    """x [R, K] (the packed weight's dtype) -> [R, N] with a weight from `onednn_pack`."""
    return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")


def int8_mm(x: torch.Tensor, q: torch.Tensor, ones: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:  # scriptable
    """x [R, K] (any float) times int8 q [N, K] with float32 per-row scales [N] -> float32 [R, N].

    The kernel's own scale argument is all ones (bfloat16 would round the scales); the float32 scale is
    applied to its output instead.
    """
    return torch._weight_int8pack_mm(x.to(torch.bfloat16), q, ones).float() * scale


def int4_pack(q4: torch.Tensor) -> torch.Tensor:
    """The CPU kernel's packed layout of 4-bit values q4 [N, K / 2] uint8 (two per byte, low nibble first).

    The layout may differ per CPU (the kernel blocks for its vector width), so caches keep q4, not this."""
    from core.nn.int4 import unpack_int4

    return torch.ops.aten._convert_weight_to_int4pack_for_cpu(unpack_int4(q4).to(torch.int32), 1)


def int4_mm(x: torch.Tensor, packed: torch.Tensor, group: int, scale_zeros: torch.Tensor) -> torch.Tensor:  # scriptable
    """x [R, K] (any float) times a packed 4-bit weight -> float32 [R, N]; `scale_zeros` [K / group, N, 2] bfloat16:
    w[n, k] = (q[n, k] - 8) * scale[g, n] + zero[g, n] with g = k // group.

    Activations go in as bfloat16: the kernel's float32 path is 80-100x slower (16 ms against 0.17 ms for a
    4096x1024 weight at 2 rows, AVX-512 EPYC), its bfloat16 one reads the weight about 3x faster than fbgemm int8.
    """
    return torch.ops.aten._weight_int4pack_mm_for_cpu(x.to(torch.bfloat16), packed, group, scale_zeros).float()


def fbgemm_int8_pack(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """fbgemm's packed form of int8 q [N, K] with float32 scales [N] (raises where fbgemm is not built in).

    torch deprecates creating quantized tensors (the packed weight, not the tensor, is what runs); the warning is
    silenced here, and a torch without these ops fails the probe and falls back to `_weight_int8pack_mm`.
    """
    zeros = torch.zeros(q.shape[0], dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weight = torch._make_per_channel_quantized_tensor(q, scale.double(), zeros, 0)
        return torch.ops.quantized.linear_prepack(weight, None)


def fbgemm_int8_unpack(packed: torch.Tensor) -> torch.Tensor:
    """The int8 values [N, K] of a packed weight."""
    return torch.ops.quantized.linear_unpack(packed)[0].int_repr()


def fbgemm_int8_linear(
    x: torch.Tensor, packed: torch.classes.quantized.LinearPackedParamsBase, wsum: torch.Tensor, narrow: bool
) -> torch.Tensor:  # scriptable: the decoding step (core.nn.decode_step) compiles this function
    """x [R, K] (any float) times a packed int8 weight -> float32 [R, N]; `wsum` [N] = the weight's row sums.

    fbgemm quantizes its input with one scale and zero point for all rows. So each row is first mapped onto [0, 1]
    by its own minimum and span (8-bit quantization per row, asymmetric), and every input is quantized with the
    fixed parameters of [0, 1] (scale 1/255, zero point 0), never with a range read from the batch: a row's result
    does not depend on the rows beside it, by construction. The map is undone on the output:
    W x = span * W x' + low * rowsum(W). `narrow` uses 7-bit activations (scale 1/127, as fbgemm's reduce_range),
    for CPUs whose 8-bit products saturate. Small ops around the GEMM cost more than their arithmetic at decode
    size, so there are as few as the map allows (an earlier version pinned the range with an extra input row).
    """
    x = x if x.dtype == torch.float32 else x.float()
    low, high = x.amin(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)  # 2-4x faster than aminmax, same values
    span = (high - low).clamp_min_(1.1754943508222875e-38)  # float32's smallest normal: an all-equal row
    mapped = (x - low).div_(span)  # [R, K] in [0, 1]
    out = torch.ops.quantized.linear_with_input_q_dq_qweight_dq_output_fp32(
        mapped, fbgemm_input_step(narrow), 0, packed
    )
    return torch.addcmul(low * wsum, out, span)


def fbgemm_input_step(narrow: bool) -> float:
    """The quantization step of [0, 1] that `fbgemm_int8_linear` uses: 8 bits, or 7 where `narrow`."""
    return 1 / 127 if narrow else 1 / 255


def fbgemm_narrow() -> bool:
    """Whether fbgemm needs 7-bit activations here: 8-bit ones saturate its int16 sums on CPUs without VNNI.

    Measured once on a worst case (every product 255 x 127): 8-bit activations are used only where it is exact.
    """
    global _narrow
    if _narrow is None:
        q = torch.full((16, 64), 127, dtype=torch.int8)
        scale = torch.full((16,), 1 / 127)
        x = torch.ones(2, 64)
        x[:, 0] = -1.0  # the rest of each row maps to the top of the 8-bit range
        try:
            packed = fbgemm_int8_pack(q, scale)
            out = fbgemm_int8_linear(x, packed, (q.double().sum(1) * scale.double()).float(), False)
            _narrow = not torch.allclose(out, x @ (q.float() * scale[:, None]).T, rtol=0.02, atol=0.02)
        except RuntimeError:
            _narrow = True
    return _narrow


_narrow: bool | None = None


def _probe_runner(
    name: str, weight: torch.Tensor
) -> tuple[Callable[[torch.Tensor], torch.Tensor], float, torch.Tensor]:
    """A function of x [R, K] for the kernel on `weight`, the tolerance it must meet, and the weight it holds
    (4-bit values are compared with their own dequantization: their rounding is the format's, not the kernel's)."""
    if name in (ONEDNN_F32, ONEDNN_BF16):
        if not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")):
            raise RuntimeError("oneDNN is not built in")
        dtype, tol = (torch.float32, 1e-4) if name == ONEDNN_F32 else (torch.bfloat16, 0.05)
        packed = onednn_pack(weight.to(dtype))
        return (lambda x: onednn_linear(x.to(dtype), packed, None).float()), tol, weight
    if name == INT4_MM:
        from core.nn.int4 import dequantize_int4, quantize_int4  # the one place the 4-bit layout is written

        q4, scale_zeros = quantize_int4(weight, 32)
        packed = int4_pack(q4)
        held = dequantize_int4(q4, scale_zeros)
        scale_zeros = scale_zeros.to(torch.bfloat16)
        return (lambda x: int4_mm(x, packed, 32, scale_zeros)), 0.05, held
    scale = weight.abs().amax(dim=1) / 127  # [N]
    q = torch.round(weight / scale[:, None]).to(torch.int8)
    if name == INT8_MM:
        ones = torch.ones(q.shape[0], dtype=torch.bfloat16)
        return (lambda x: int8_mm(x, q, ones, scale)), 0.05, weight
    if name == FBGEMM_INT8:
        packed, wsum, narrow = fbgemm_int8_pack(q, scale), (q.double().sum(1) * scale.double()).float(), fbgemm_narrow()
        return (lambda x: fbgemm_int8_linear(x, packed, wsum, narrow)), 0.05, weight
    raise KeyError(name)


def _probe(name: str) -> bool:
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(48, 64, generator=generator) * 0.1  # [N, K]
    x = torch.randn(7, 64, generator=generator)  # [R, K]
    try:
        with torch.no_grad():
            run, tol, held = _probe_runner(name, weight)
            everything = run(x)
            exact = F.linear(x.double(), held.double()).float()
            close = bool(torch.allclose(everything, exact, atol=tol, rtol=tol))
            rows_independent = all(torch.equal(run(x[a:b]), everything[a:b]) for a, b in ((0, 2), (2, 5), (6, 7)))
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


def probed() -> dict[str, bool]:
    """The answers of this process's probes so far (core.models.load_facts keeps them per torch and CPU)."""
    return dict(_probed)


def adopt(answers: dict[str, bool]) -> None:
    """Take earlier probes' answers on this torch and CPU instead of probing again (unknown names are ignored)."""
    for name, ok in answers.items():
        if name in KERNELS and isinstance(ok, bool):
            _probed.setdefault(name, ok)


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


def int8_kernel() -> str | None:
    """The int8 kernel this CPU runs correctly, fastest first (FBGEMM_INT8, INT8_MM), or None."""
    return next((name for name in (FBGEMM_INT8, INT8_MM) if available(name)), None)


def packed_kernel(precision: str) -> str | None:
    """The oneDNN packed kernel for "fp32" or "bf16" where this CPU runs it correctly, else None (plain path)."""
    name = {"fp32": ONEDNN_F32, "bf16": ONEDNN_BF16}.get(precision)
    return name if name is not None and available(name) else None


def fastest_cpu_precision(with_int4: bool = False) -> str:
    """The CPU precision `auto` picks: the fastest of fp32, bf16 (packed), int8 (and int4 `with_int4`) that runs
    correctly here.

    Measured once on 24 matrices of 2048x1024 (more than the CPU's caches hold, as a model's weights are) with the
    2 rows of a decoding step: a fraction of a second. int4 is measured because its kernel is not always faster
    than int8's: on a 2-core AVX-512 EPYC it computes rather than reads (about 6 GB/s of 4-bit weights per core,
    fbgemm int8 about 15 GB/s at 2 rows).
    """
    key = tuple(available(name) for name in KERNELS)
    if key not in _times:
        _times[key] = _measure_times()
    times = {mode: t for mode, t in _times[key].items() if with_int4 or mode != "int4"}
    return min(times, key=times.__getitem__)


_times: dict[tuple[bool, ...], dict[str, float]] = {}


def _measure_times(count: int = 24) -> dict[str, float]:
    generator = torch.Generator().manual_seed(0)
    weights = [torch.randn(2048, 1024, generator=generator) * 0.02 for _ in range(count)]
    x = torch.randn(2, 1024, generator=generator)
    times: dict[str, float] = {}
    with torch.no_grad():
        for precision, kernel in (
            ("fp32", packed_kernel("fp32")),
            ("int8", int8_kernel()),
            ("bf16", packed_kernel("bf16")),
            ("int4", INT4_MM if available(INT4_MM) else None),
        ):
            if kernel is not None:
                runs = [_probe_runner(kernel, w)[0] for w in weights]
                times[precision] = _best_time(lambda runs=runs: [run(x) for run in runs])
    if "fp32" not in times:  # the plain float32 path, where oneDNN's packed one is refused
        times["fp32"] = _best_time(lambda: [w @ x.T for w in weights])
    log.info("auto precision measured: %s", ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in times.items()))
    return times

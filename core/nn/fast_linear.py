"""The LM's linear layers in each precision: float32 (the reference), bfloat16, int8 per channel, 4-bit per group.

A decoding step multiplies 2 rows (the CFG pair) by each weight matrix: memory-bound, so what matters is how
fast the weights are read. Each weight gets a `PreparedLinear` once per model (`prepare`):

- `PackedLinear`: oneDNN's linear on a float32 or bfloat16 weight packed once, where the CPU runs it correctly
  (`core.nn.kernels` probes it). The packed copy is the only one kept (`apply_precision` releases the weight).
- `FloatLinear`, the plain path: F.linear, except float32 decode steps (<= 4 rows, large weights) use
  `weight @ x.T` on a contiguous x, which reads weights 3-4x faster than F.linear at that shape with MKL (a
  transposed x takes MKL's slow path: half the speed).
- `Int8Linear`: int8 weights [N, K] with a float32 scale per output channel through fbgemm (activations
  quantized per row, x86) or `_weight_int8pack_mm` (bfloat16 activations), whichever runs correctly here
  first, else the same int8 values dequantized per call.
- `Int4Linear`: 4-bit weights per group of inputs (`core.nn.int4`) through `_weight_int4pack_mm_for_cpu`.

Batched variations put several takes' CFG pairs in one call. A kernel whose rows are computed independently of
each other (probed) serves the whole batch at once, sharing each weight read; the others (MKL's float GEMM
changes its blocking at 4 rows) are called once per take inside `rows_per_take(2)`, so a take's numbers never
depend on the takes batched with it. Float32 is the reference mode whichever float kernel runs it: each differs
from audiocraft's F.linear by float32 rounding only.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F

from core.nn import int4, kernels

MIN_WEIGHT = 1 << 18
MAX_ROWS = 4
_rows_per_take: ContextVar[int | None] = ContextVar("rows_per_take", default=None)


@contextmanager
def rows_per_take(rows: int) -> Iterator[None]:
    """Inside: inputs [B, ...] hold B // rows takes; kernels that are not row-independent run per take."""
    token = _rows_per_take.set(rows)
    try:
        yield
    finally:
        _rows_per_take.reset(token)


class PreparedLinear:
    """The decode-time form of one weight [N, K]; `run(x [R, K], bias) -> [R, N]`."""

    row_independent = False
    out_features: int

    def run(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def nbytes(self) -> int:
        """Bytes of weight read per call."""
        raise NotImplementedError

    def part(self, start: int, end: int) -> PreparedLinear:
        """The same form for output rows start:end (the q / k / v parts of a packed projection)."""
        raise NotImplementedError


class FloatLinear(PreparedLinear):
    def __init__(self, weight: torch.Tensor) -> None:
        self.weight = weight
        self.out_features = weight.shape[0]

    def run(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        w = self.weight
        if x.shape[0] > MAX_ROWS or x.dtype != torch.float32 or w.numel() < MIN_WEIGHT or x.requires_grad:
            return F.linear(x, w, bias)
        if x.device.type != "cpu":
            return F.linear(x, w, bias)
        out = (w @ x.contiguous().T).T  # a transposed view (e.g. this method's own output) halves MKL's speed
        return out if bias is None else out + bias

    def nbytes(self) -> int:
        return self.weight.numel() * self.weight.element_size()

    def part(self, start: int, end: int) -> PreparedLinear:
        return FloatLinear(self.weight[start:end])


class PackedLinear(PreparedLinear):
    """float32 or bfloat16 through oneDNN on a packed copy (CPU), rows computed independently (probed).

    Only the packed copy is kept; `weight` unpacks it (exactly) for the paths that need a plain tensor:
    gradients (explanations) and inputs of another dtype.
    """

    row_independent = True

    def __init__(self, weight: torch.Tensor) -> None:
        self.dtype = weight.dtype
        self.out_features = weight.shape[0]
        self.packed = kernels.onednn_pack(weight)

    @property
    def weight(self) -> torch.Tensor:
        return self.packed.to_dense()

    def run(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if x.dtype != self.dtype:
            return F.linear(x, self.weight, bias)
        if x.requires_grad:
            return _KernelForward.apply(x, self, bias)
        return kernels.onednn_linear(x, self.packed, bias)

    def kernel_run(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return kernels.onednn_linear(x, self.packed, bias)

    def nbytes(self) -> int:
        return self.packed.numel() * self.packed.element_size()

    def part(self, start: int, end: int) -> PreparedLinear:
        return PackedLinear(self.weight[start:end])


class Int8Linear(PreparedLinear):
    """Symmetric int8 per output channel: weight ~= q [N, K] * scale [N, 1].

    Runs through the fastest int8 kernel the CPU runs correctly (`kernels.int8_kernel`): fbgemm (x86; the packed
    weight replaces q, so the int8 values are held once), else `_weight_int8pack_mm`, else q dequantized per call.
    fbgemm's path needs q's row sums (`sums` [N], `row_sums(q)`): given (the int8 cache keeps them), not computed.
    """

    def __init__(
        self, q: torch.Tensor, scale: torch.Tensor, kernel: str | None = "best", sums: torch.Tensor | None = None
    ) -> None:
        self.sums = sums
        self.scale = scale.to(torch.float32, memory_format=torch.contiguous_format, copy=True)  # never a file's view
        self.out_features, self.in_features = q.shape
        self.kernel = (kernels.int8_kernel() if kernel == "best" else kernel) if q.device.type == "cpu" else None
        self._q: torch.Tensor | None = None
        if self.kernel == kernels.FBGEMM_INT8 and self._packs(q):
            return
        self.kernel = kernels.INT8_MM if self.kernel is not None and kernels.available(kernels.INT8_MM) else None
        # an int8 tensor at an odd address (e.g. read from a file by mmap) crashes the kernel: copy it aligned
        self._q = q if q.is_contiguous() and q.data_ptr() % 64 == 0 else q.clone(memory_format=torch.contiguous_format)
        self.ones = torch.ones(q.shape[0], dtype=torch.bfloat16, device=q.device)
        if self.kernel is not None and not self._kernel_runs():
            self.kernel = None

    @property
    def row_independent(self) -> bool:
        return self.kernel is not None

    @property
    def q(self) -> torch.Tensor:
        """The int8 values [N, K]."""
        return self._q if self._q is not None else kernels.fbgemm_int8_unpack(self.packed)

    def _packs(self, q: torch.Tensor) -> bool:
        try:
            self.packed = kernels.fbgemm_int8_pack(q.contiguous(), self.scale)
        except RuntimeError:  # a shape fbgemm does not take: the next kernel
            return False
        self.sums = row_sums(q) if self.sums is None else self.sums.to(torch.float32, copy=True)  # [N]
        self.wsum = (self.sums.double() * self.scale.double()).float()  # [N]
        self.narrow = kernels.fbgemm_narrow()
        return True

    def _kernel_runs(self) -> bool:
        try:
            kernels.int8_mm(torch.zeros(2, self._q.shape[1]), self._q, self.ones, self.scale)
        except RuntimeError:  # a shape this CPU's kernel does not take: dequantize instead
            return False
        return True

    def dequantized(self, dtype: torch.dtype) -> torch.Tensor:
        return (self.q.to(torch.float32) * self.scale[:, None]).to(dtype)  # [N, K]

    @property
    def weight(self) -> torch.Tensor:
        return self.dequantized(torch.float32)

    def run(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if self.kernel is None:
            return F.linear(x, self.dequantized(x.dtype), bias)
        if x.requires_grad:
            return _KernelForward.apply(x, self, bias)
        return self.kernel_run(x, bias)

    def kernel_run(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if self.kernel == kernels.FBGEMM_INT8:
            out = kernels.fbgemm_int8_linear(x, self.packed, self.wsum, self.narrow)
        else:
            out = kernels.int8_mm(x, self._q, self.ones, self.scale)
        return int8_output(out, x, bias)

    def nbytes(self) -> int:
        return self.out_features * self.in_features + self.scale.numel() * 4

    def part(self, start: int, end: int) -> PreparedLinear:
        sums = None if self.sums is None else self.sums[start:end]
        return Int8Linear(self.q[start:end], self.scale[start:end], self.kernel, sums)


class Int4Linear(PreparedLinear):
    """Group-wise 4-bit weights (`core.nn.int4`) through `aten._weight_int4pack_mm_for_cpu`, bfloat16 activations.

    Built from the stored form (q4 [N, K / 2], scale_zeros [K / group, N, 2]); the kernel's packed copy is the one
    kept once `release_stored()` has run (after the q / k / v parts are cut). `weight` gives the held weight back
    exactly from the kernel itself (x = identity), for gradients.
    """

    row_independent = True

    def __init__(self, q4: torch.Tensor, scale_zeros: torch.Tensor) -> None:
        self.out_features, self.in_features = q4.shape[0], q4.shape[1] * 2
        self.group = int4.group_size(q4, scale_zeros)
        self.stored: tuple[torch.Tensor, torch.Tensor] | None = (q4, scale_zeros)
        self.packed = kernels.int4_pack(q4)
        self.scale_zeros = scale_zeros.to(torch.bfloat16)  # exact: quantize_int4 rounds them to bfloat16

    @property
    def weight(self) -> torch.Tensor:
        eye = torch.eye(self.in_features)
        return kernels.int4_mm(eye, self.packed, self.group, self.scale_zeros).T.contiguous()  # [N, K]

    def run(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if x.requires_grad:
            return _KernelForward.apply(x, self, bias)
        return self.kernel_run(x, bias)

    def kernel_run(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return int8_output(kernels.int4_mm(x, self.packed, self.group, self.scale_zeros), x, bias)

    def nbytes(self) -> int:
        return self.out_features * self.in_features // 2 + self.scale_zeros.numel() * 2

    def part(self, start: int, end: int) -> PreparedLinear:
        if self.stored is None:
            raise RuntimeError("a 4-bit form's parts are cut before its stored form is released")
        q4, scale_zeros = self.stored
        return Int4Linear(q4[start:end], scale_zeros[:, start:end].contiguous())

    def release_stored(self) -> None:
        self.stored = None


def row_sums(q: torch.Tensor) -> torch.Tensor:
    """The exact integer sums of int8 rows q [N, K] -> [N] float32, 2-3x faster than an int64 sum.

    Every partial sum is an integer of magnitude <= 127 * K < 2**24 (K < 132,000): float32 holds each exactly, so
    the result is exact whatever the order of the additions (the matrix-vector kernel's blocking)."""
    assert q.shape[1] < (1 << 24) // 127, "rows too long for exact float32 sums"
    return q.to(torch.float32) @ torch.ones(q.shape[1])


def int8_output(out: torch.Tensor, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:  # scriptable
    """An int8 kernel's float32 output [R, N] in the input's dtype, with the bias added."""
    out = out if x.dtype == torch.float32 else out.to(x.dtype)
    return out if bias is None else out + bias


def made_together(
    make: Callable[[str, torch.Tensor], PreparedLinear], weights: Mapping[Hashable, tuple[str, torch.Tensor]]
) -> dict[Hashable, PreparedLinear]:
    """`make(name, weight)` for every entry, on as many threads as torch computes with (at most 4).

    Packing a weight (fbgemm's prepack, int4 packing) runs single-threaded with the GIL released, and a load
    packs a few hundred of them: side by side they take about half the time on 2 cores. The forms are those
    `make` gives one at a time, in any order, so a take does not depend on it. The first is made alone: it runs
    the kernel probes (once per process) before any thread could run them too.
    """
    items = list(weights.items())
    if not items:
        return {}
    (key, (name, weight)), rest = items[0], items[1:]
    made = {key: make(name, weight)}
    workers = max(1, min(4, torch.get_num_threads(), len(rest)))
    if workers == 1:
        return made | {key: make(name, weight) for key, (name, weight) in rest}
    with ThreadPoolExecutor(workers, thread_name_prefix="prepare") as pool:
        futures = {key: pool.submit(make, name, weight) for key, (name, weight) in rest}
        return made | {key: future.result() for key, future in futures.items()}


@contextmanager
def int8_values_kept(forms: Iterable[PreparedLinear]) -> Iterator[None]:
    """Inside: fbgemm-packed int8 forms also hold their int8 values, so a backward pass dequantizes them cheaply.

    Unpacking fbgemm's layout costs several times more than dequantizing held values (benchmarks/README.md), and
    an explanation runs a backward pass per epoch. The cost is the int8 weights' memory once more, for the block's
    duration.
    """
    unpacked = [form for form in forms if isinstance(form, Int8Linear) and form._q is None]
    try:
        for form in unpacked:
            form._q = form.q
        yield
    finally:
        for form in unpacked:
            form._q = None


class _KernelForward(torch.autograd.Function):
    """Gradients through a prepared kernel (explanations differentiate through the LM, never into it).

    The forward runs the kernel itself, the numbers the take was generated with; the backward gives x the gradient
    of the plain linear with the weight the kernel holds (unpacked or dequantized there, once per backward pass):
    grad_x = grad_out @ W. Before, every forward unpacked every weight, which doubled an explanation's epoch.
    """

    @staticmethod
    def forward(
        ctx, x: torch.Tensor, prepared: PackedLinear | Int8Linear | Int4Linear, bias: torch.Tensor | None
    ) -> torch.Tensor:
        ctx.prepared = prepared
        return prepared.kernel_run(x, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, torch.Tensor | None]:
        grad_x = grad @ ctx.prepared.weight.to(grad.dtype) if ctx.needs_input_grad[0] else None
        grad_bias = grad.sum(0) if ctx.needs_input_grad[2] else None
        return grad_x, None, grad_bias


def prepare(weight: torch.Tensor, precision: str) -> PreparedLinear:
    """The decode-time form of a weight for "fp32" or "bf16" (int8 ones come from `Int8Linear`).

    A CPU weight is packed where the precision's oneDNN kernel runs (converted to the precision's dtype first: a
    weight kept as the file stored it arrives in float32); otherwise it is used as it is.
    """
    if packs_weights(precision, weight.device):
        return PackedLinear(weight.to(torch.bfloat16 if precision == "bf16" else torch.float32))
    return FloatLinear(weight)


def packs_weights(precision: str, device: torch.device) -> bool:
    """Whether `prepare` packs this precision's weights on `device` (the float copies are then released)."""
    return device.type == "cpu" and kernels.packed_kernel(precision) is not None


def linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    prepared: PreparedLinear | None = None,
) -> torch.Tensor:
    """`F.linear(x, weight, bias)` through the weight's prepared form (x [B, ..., K] -> [B, ..., N])."""
    if prepared is None:
        if weight.is_meta:  # F.linear would read uninitialised memory without an error
            raise RuntimeError("this weight was released for its prepared form: call the linear through that form")
        prepared = FloatLinear(weight)
    group = _rows_per_take.get()
    if group and x.shape[0] > group and not prepared.row_independent and x.dim() > 2:
        return torch.cat([_apply(prepared, chunk, bias) for chunk in x.split(group)])
    return _apply(prepared, x, bias)


def _apply(prepared: PreparedLinear, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    flat = x.reshape(-1, x.shape[-1])  # [R, K]
    return prepared.run(flat, bias).reshape(*x.shape[:-1], prepared.out_features)

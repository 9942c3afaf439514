"""Precision modes: "fp32" (exact reference), "bf16", "int8" (weights per output channel), "int4" (4-bit weights
per group of inputs), and "auto"; and `Precision`, the one record of a resolved mode that every caller reads.

`auto` resolves, once per process and device, to the fastest mode this machine runs correctly: on the CPU the
probed and measured choice of `core.nn.kernels`; on CUDA bf16 where the GPU supports it, else fp32. A take
records the resolved mode, never "auto", so replaying it uses the same numbers. "int4" needs its CPU kernel
(probed once per machine): where it is missing or fails its probe, int8 serves, with one log line. Auto picks
int4 only for a model whose `main.py verify` record shows int4 close enough to int8 (core.models.verification).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InvalidParameterError

if TYPE_CHECKING:  # torch is imported only when a mode is resolved: the window imports this module at start
    import torch

log = logging.getLogger(__name__)
PRECISIONS = ("auto", "fp32", "bf16", "int8", "int4")
RESOLVED = ("fp32", "bf16", "int8", "int4")
DESCRIPTIONS = {
    "auto": "the fastest mode this machine runs correctly",
    "fp32": "exact: float32, the reference (matches audiocraft)",
    "bf16": "bfloat16 weights and activations",
    "int8": "int8 weights per output channel, float32 elsewhere",
    "int4": "4-bit weights per group of inputs (int8 output heads): smallest and fastest; check a model with verify",
}
_WEIGHTS = {"fp32": "float32", "bf16": "bfloat16", "int8": "int8 per channel", "int4": "int4 per group, int8 heads"}


@dataclass(frozen=True)
class Precision:
    """A resolved precision, decided once (`resolve`) and read by every caller: the load, the linears' forms, the
    take's record. `mode` is what a take records; the rest says how it runs here."""

    mode: str  # fp32 | bf16 | int8 | int4
    weights: str  # the weight format, e.g. "int8 per channel"
    kernel: str  # the linears' kernel: a core.nn.kernels name, "plain" (F.linear) or "dequantized"
    activations: str  # "float32" or "bfloat16": the LM's float tensors around its linears

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the LM's float tensors (int8 and int4 keep float32 around their linears)."""
        return float_dtype(self.mode)

    @property
    def quantized(self) -> bool:
        return self.mode in ("int8", "int4")

    def describe(self) -> str:
        """One line, e.g. "int4 (int4 per group, int8 heads; kernel int4_mm; float32 activations)"."""
        return f"{self.mode} ({self.weights}; kernel {self.kernel}; {self.activations} activations)"


def resolve(
    precision: str | Precision, device: torch.device | str = "cpu", checkpoint: Path | None = None
) -> Precision:
    """The record of `precision` on `device`: "auto" measured (see `resolve_precision`; int4 instead of int8 for a
    `checkpoint` whose recorded verification allows it, where int4 measures faster than int8 here), int4 where
    its kernel runs, else int8."""
    if isinstance(precision, Precision):
        return precision
    import torch

    device = torch.device(device)
    mode = resolve_precision(precision, device)
    if precision == "auto" and mode == "int8" and checkpoint is not None and _int4_runs(device):
        from core.models.verification import int4_verified  # int4 where verified for this model and faster here

        mode = "int4" if int4_verified(checkpoint) and _measured_cpu_choice(with_int4=True) == "int4" else mode
    if mode == "int4" and not _int4_runs(device):
        log.warning("int4 precision: the 4-bit kernel does not run correctly on this %s; using int8", device.type)
        mode = "int8"
    activations = {"bf16": "bfloat16", "int4": "float32, bfloat16 into the 4-bit kernel"}.get(mode, "float32")
    return Precision(mode, _WEIGHTS[mode], _kernel(mode, device), activations)


def _int4_runs(device: torch.device) -> bool:
    from core.nn import kernels

    return device.type == "cpu" and kernels.available(kernels.INT4_MM)


def _kernel(mode: str, device: torch.device) -> str:
    if device.type != "cpu":
        return "plain" if mode in ("fp32", "bf16") else "dequantized"
    from core.nn import kernels

    if mode == "int4":
        return kernels.INT4_MM
    if mode == "int8":
        return kernels.int8_kernel() or "dequantized"
    return kernels.packed_kernel(mode) or "plain"


def check_precision(precision: str) -> str:
    """`precision` when it is one of PRECISIONS, else InvalidParameterError with a sentence."""
    if precision not in PRECISIONS:
        raise InvalidParameterError(f"Precision must be one of {', '.join(PRECISIONS)}, got {precision!r}.")
    return precision


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """The concrete mode for `precision` on `device` ("auto" -> fp32, bf16 or int8)."""
    if check_precision(precision) != "auto":
        return precision
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type != "cpu":
        return "fp32"
    return _measured_cpu_choice()


def _measured_cpu_choice(with_int4: bool = False) -> str:
    """The CPU's fastest mode (of fp32, bf16, int8, and int4 `with_int4`), measured once per machine and
    remembered in the user cache (`auto.json`).

    Remembered because a measurement on a busy machine can differ from the next one: every process (the window,
    `main.py generate`) must resolve auto alike, or the same request would make different takes.
    """
    import torch

    from core.models.disk_cache import cache_root, read_checked_json, write_checked_json
    from core.nn import kernels

    key = f"{torch.backends.cpu.get_cpu_capability()}|torch {torch.__version__}|" + ",".join(
        f"{name}={kernels.available(name)}" for name in kernels.KERNELS
    )
    key += "|with int4" if with_int4 else ""
    path = cache_root() / "auto.json"
    stored = read_checked_json(path)  # checksummed: a damaged record is measured again, never used
    if stored.get(key) in RESOLVED:
        return stored[key]
    choice = kernels.fastest_cpu_precision(with_int4)
    write_checked_json(path, {**stored, key: choice})  # an unwritable cache: measured again next time
    return choice


def recorded_precision(extra: dict) -> str:
    """The precision a take's sidecar records; takes made before precisions existed were fp32."""
    return str(extra.get("precision", "fp32"))


def float_dtype(precision: str) -> torch.dtype:
    """The dtype of the LM's float tensors in a resolved precision (int8, int4 keep float32 around their linears)."""
    import torch

    return torch.bfloat16 if precision == "bf16" else torch.float32

"""Precision modes: "fp32" (exact reference), "bf16", "int8" (weights per output channel), and "auto".

`auto` resolves, once per process and device, to the fastest mode this machine runs correctly: on the CPU the
probed and measured choice of `core.nn.kernels`; on CUDA bf16 where the GPU supports it, else fp32. A take
records the resolved mode, never "auto", so replaying it uses the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import InvalidParameterError

if TYPE_CHECKING:  # torch is imported only when a mode is resolved: the window imports this module at start
    import torch

PRECISIONS = ("auto", "fp32", "bf16", "int8")
RESOLVED = ("fp32", "bf16", "int8")
DESCRIPTIONS = {
    "auto": "the fastest mode this machine runs correctly",
    "fp32": "exact: float32, the reference (matches audiocraft)",
    "bf16": "bfloat16 weights and activations",
    "int8": "int8 weights per output channel, float32 elsewhere",
}


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


def _measured_cpu_choice() -> str:
    """The CPU's fastest mode, measured once per machine and remembered in the user cache (`auto.json`).

    Remembered because a measurement on a busy machine can differ from the next one: every process (the window,
    `main.py generate`) must resolve auto alike, or the same request would make different takes.
    """
    import torch

    from core.models.disk_cache import cache_root, read_checked_json, write_checked_json
    from core.nn import kernels

    key = f"{torch.backends.cpu.get_cpu_capability()}|torch {torch.__version__}|" + ",".join(
        f"{name}={kernels.available(name)}" for name in kernels.KERNELS
    )
    path = cache_root() / "auto.json"
    stored = read_checked_json(path)  # checksummed: a damaged record is measured again, never used
    if stored.get(key) in RESOLVED:
        return stored[key]
    choice = kernels.fastest_cpu_precision()
    write_checked_json(path, {**stored, key: choice})  # an unwritable cache: measured again next time
    return choice


def recorded_precision(extra: dict) -> str:
    """The precision a take's sidecar records; takes made before precisions existed were fp32."""
    return str(extra.get("precision", "fp32"))


def float_dtype(precision: str) -> torch.dtype:
    """The dtype of the LM's float tensors in a resolved precision (int8 keeps float32 around its linears)."""
    import torch

    return torch.bfloat16 if precision == "bf16" else torch.float32

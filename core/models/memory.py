"""Will a model fit? An estimate of the memory a model needs in a precision, checked before loading it.

The LM's float32 bytes are the size of `state_dict.bin` (release files hold float32 weights); bf16 halves them,
int8 quarters them (the quantized linears are nearly all of an LM), int4 (packed 4-bit values, their scales,
int8 heads) takes about a sixth. The codec and a margin for activations and the text encoder are added.
Better a sentence before loading than the kernel's OOM killer halfway through.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import InsufficientMemoryError

GB = 1 << 30
MARGIN = 512 << 20
_LM_FACTOR = {"fp32": 1.0, "bf16": 0.5, "int8": 0.27, "int4": 0.16}


def available_memory() -> int | None:
    """Bytes the OS could give this process now (Linux MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except (ImportError, OSError):
        return None


def needed_memory(folder: Path, precision: str) -> int:
    """Estimated resident bytes of the model in `folder` loaded in `precision` (fp32 / bf16 / int8)."""
    lm = (folder / "state_dict.bin").stat().st_size
    codec = (folder / "compression_state_dict.bin").stat().st_size
    return int(lm * _LM_FACTOR[precision]) + codec + MARGIN


def check_fits(ref: str, folder: Path, precision: str, available: int | None = None) -> None:
    """Raise InsufficientMemoryError (with the modes that would fit) when the model cannot fit in memory."""
    available = available_memory() if available is None else available
    try:
        need = needed_memory(folder, precision)
    except OSError:
        return  # the loader reports missing files with its own sentence
    if available is None or need <= available:
        return
    fitting = [p for p in ("int8", "bf16") if p != precision and needed_memory(folder, p) <= available]
    advice = ""
    if fitting:
        advice = f" Choose {fitting[0]} precision (about {needed_memory(folder, fitting[0]) / GB:.1f} GB)."
    raise InsufficientMemoryError(
        f"{ref} needs about {need / GB:.1f} GB of memory in {precision} but only {available / GB:.1f} GB is free; "
        f"close other programs or pick a smaller model.{advice}"
    )


_M_MMAP_THRESHOLD = -3
_heap_limited = False


def return_large_blocks_to_the_os(threshold: int = 4 << 20) -> None:
    """Allocate blocks of `threshold` bytes and more outside glibc's heap, so freeing them returns them to the OS.

    Loading reads, converts and packs weights one matrix at a time; glibc's default raises its threshold to 32 MiB
    as such blocks are freed and then keeps them in its heap, so a process would hold about a third more memory
    than it uses (measured at musicgen-medium size, int8). A no-op where the C library is not glibc.
    """
    global _heap_limited
    if _heap_limited:
        return
    _heap_limited = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, threshold)
    except (OSError, AttributeError):
        pass

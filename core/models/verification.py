"""What `main.py verify` measured for a checkpoint, kept beside its int8 / int4 cache entries, and what auto reads.

One checked JSON record per checkpoint (keyed by its SHA-256, like the quantized weights): for each mode the
mean teacher-forced KL(fp32 || mode) in nats, top-1 agreement and greedy agreement, with the machine it was
measured on. `auto` may pick int4 for a checkpoint only when its record shows int4's KL within 2x of int8's
(core.models.precision): a model whose quality int4 hurts more than int8 keeps int8.
"""

from __future__ import annotations

from pathlib import Path

from core.models.disk_cache import machine_key, read_checked_json, write_checked_json
from core.models.int8_cache import cache_dir, content_hash

INT4_KL_LIMIT = 2.0  # int4's KL may be at most this many times int8's for auto to pick int4


def _path(checkpoint: Path) -> Path:
    return cache_dir() / f"{content_hash(checkpoint)}-verify.json"


def save(checkpoint: Path, table: dict[str, dict[str, float]]) -> Path:
    """Record `table` (mode -> {"kl", "top1", "greedy"}) for this checkpoint; returns where."""
    path = _path(checkpoint)
    write_checked_json(path, {"modes": table, "machine": machine_key()})
    return path


def recorded(checkpoint: Path) -> dict[str, dict[str, float]]:
    """The recorded table for this checkpoint ({} when never verified, or the record is damaged)."""
    try:
        modes = read_checked_json(_path(checkpoint)).get("modes")
    except OSError:
        return {}
    return modes if isinstance(modes, dict) else {}


def int4_verified(checkpoint: Path) -> bool:
    """Whether the recorded verification shows int4's KL within INT4_KL_LIMIT times int8's."""
    table = recorded(checkpoint)
    try:
        return float(table["int4"]["kl"]) <= INT4_KL_LIMIT * float(table["int8"]["kl"])
    except (KeyError, TypeError, ValueError):
        return False

"""What a load works out once per machine, remembered on disk: the kernel probes and the scripted step's verdict.

Both are answers to checks that run real numbers through kernels (core.nn.kernels probes each kernel on a tiny
input; core.nn.decode_step compares the scripted step with the eager path on the model itself, three decoding
steps of each). Their answers depend only on what is in the key, so the next load reads them instead of running
the checks again:

- the kernel probes: torch's version and the CPU (`disk_cache.machine_key`);
- the scripted step's verdict: also the checkpoint's SHA-256, the precision and torch's thread count (kernels may
  split their work by thread).

A changed checkpoint, torch or CPU gives another key: the check runs again. The records are checksummed
(`disk_cache.read_checked_json`): a damaged one is ignored with one log line and rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from core.models.disk_cache import cache_root, machine_key, read_checked_json, write_checked_json
from core.models.int8_cache import content_hash
from core.nn import kernels
from core.nn.lm import LMModel
from core.nn.quantize import apply_precision

FACTS = "load_facts.json"


def _path() -> Path:
    return cache_root() / FACTS


def step_key(checkpoint_digest: str, precision: str) -> str:
    """The key of the scripted step's verdict for a checkpoint in a precision on this machine."""
    return f"decode step|{checkpoint_digest}|{precision}|threads {torch.get_num_threads()}|{machine_key()}"


def _probes_key() -> str:
    return f"kernel probes|{machine_key()}"


def recall_kernel_probes() -> None:
    """Give core.nn.kernels the probes' answers an earlier process found on this torch and CPU."""
    answers = read_checked_json(_path()).get(_probes_key())
    if isinstance(answers, dict):
        kernels.adopt(answers)


def remember_kernel_probes() -> None:
    """Keep this process's probe answers for the next one (added to those remembered)."""
    _update(read_checked_json(_path()), {})


def apply_precision_remembered(
    lm: LMModel, checkpoint: Path, precision: str, quantized: Mapping[str, torch.Tensor] | None = None
) -> None:
    """`core.nn.quantize.apply_precision` on the CPU, with the scripted step's verdict of an earlier load of this
    checkpoint read instead of checked again, and this load's verdict and kernel probes kept for the next one."""
    facts = read_checked_json(_path())
    key = step_key(content_hash(checkpoint), precision)
    verdict = facts.get(key)
    apply_precision(lm, precision, quantized, verdict if isinstance(verdict, bool) else None)
    _update(facts, {key: lm.decode_step is not None})


def _update(facts: dict[str, Any], updates: dict[str, Any]) -> None:
    """Write `facts` with `updates` and this process's probe answers, where anything changed (one write)."""
    known = facts.get(_probes_key())
    probes = {**(known if isinstance(known, dict) else {}), **kernels.probed()}
    updates = {**updates, _probes_key(): probes} if probes else updates
    if any(facts.get(name) != value for name, value in updates.items()):
        write_checked_json(_path(), {**facts, **updates})

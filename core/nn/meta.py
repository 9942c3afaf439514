"""Modules that are cheap to build on the meta device (where every load builds them before assigning weights).

`nn.Embedding`'s random `normal_` init, run under `with torch.device("meta")`, goes through torch's Python
reference ops, which import `torch._dynamo`: 1.5-2 s of every process's first model load, for values that the
checkpoint replaces at once. `embedding` skips that init on meta and keeps it everywhere else.
"""

from __future__ import annotations

import torch
from torch import nn


def embedding(rows: int, dim: int) -> nn.Embedding:
    """`nn.Embedding(rows, dim)`: N(0, 1) weights, left uninitialised when built on the meta device."""
    weight = torch.empty(rows, dim)
    if not weight.is_meta:
        nn.init.normal_(weight)
    return nn.Embedding(rows, dim, _weight=weight)

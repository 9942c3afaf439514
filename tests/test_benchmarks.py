"""What the benchmarks count: their figures are only as good as these."""

from __future__ import annotations

import pytest

from benchmarks.bench_generate import weight_bytes
from benchmarks.common import random_lm
from core.nn.quantize import apply_precision, quantize_lm


@pytest.mark.parametrize("precision, width", [("fp32", 4), ("int8", 1)])
def test_weight_bytes_counts_the_weights_one_step_reads(precision, width):
    """Per layer: self-attention q/k/v and output, cross-attention q and output (its keys and values project the
    text once per take), the feed-forward; and the output heads. int8 adds a float32 scale per output row."""
    dim, hidden, layers, n_q, card = 32, 128, 2, 4, 16
    lm = random_lm(dim=dim, num_heads=2, num_layers=layers, card=card, hidden_scale=hidden // dim)
    apply_precision(lm, precision, quantize_lm(lm) if precision == "int8" else None)
    matrices = [(3 * dim, dim), (dim, dim), (dim, dim), (dim, dim), (hidden, dim), (dim, hidden)] * layers
    matrices += [(card, dim)] * n_q
    scales = sum(rows for rows, _ in matrices) * 4 if precision == "int8" else 0
    assert weight_bytes(lm) == sum(rows * cols for rows, cols in matrices) * width + scales

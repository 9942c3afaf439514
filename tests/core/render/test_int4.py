"""A render's int4 rows: resolved once for every worker, int8 where the 4-bit kernel does not run."""

from __future__ import annotations

from core.nn import kernels
from core.render.manifest import RowSpec
from core.render.runner import resolve_precisions


def test_int4_rows_resolve_once_to_what_runs_here():
    rows = [RowSpec(2, "rain", "m", 0, precision="int4"), RowSpec(3, "wind", "m", 0, precision="fp32")]
    with kernels.forced(kernels.INT4_MM, False):
        assert [row.precision for row in resolve_precisions(rows, "cpu")] == ["int8", "fp32"]
    with kernels.forced(kernels.INT4_MM, True):
        assert [row.precision for row in resolve_precisions(rows, "cpu")] == ["int4", "fp32"]

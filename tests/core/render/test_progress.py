"""Render progress: takes done of total, takes per minute and time left; a bar on a terminal, lines elsewhere."""

from __future__ import annotations

import io

from core.cli.render import ProgressPrinter, describe
from core.render.report import RenderProgress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rate_and_time_left_count_only_the_takes_rendered_now():
    state = RenderProgress(total=10, done=2, skipped=3, failed=0, elapsed_s=60.0)
    assert state.rate_per_min == 2.0 and state.eta_s == 150.0  # 5 takes left at 2 a minute
    assert describe(state) == "render: 5/10 takes (3 skipped), 2.0 takes/min, 2 min 30 s left"
    assert RenderProgress(total=4, skipped=1).eta_s is None


def test_a_terminal_gets_one_bar_redrawn_in_place():
    stream = _Terminal()
    printer = ProgressPrinter(stream)
    for done in range(3):
        printer(RenderProgress(total=2, done=done, elapsed_s=30.0 * done))
    printer.close()
    text = stream.getvalue()
    assert text.count("\r\x1b[K") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "render: [############------------] 1/2 takes, 2.0 takes/min, 30 s left" in text
    assert "render: [########################] 2/2 takes, 2.0 takes/min, 0 s left" in text


def test_elsewhere_one_plain_line_per_change():
    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    for state in (RenderProgress(total=3), RenderProgress(total=3), RenderProgress(total=3, failed=1)):
        printer(state)
    assert stream.getvalue().splitlines() == ["render: 0/3 takes", "render: 1/3 takes (1 failed)"]

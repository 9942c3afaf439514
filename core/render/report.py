"""What a render did, take by take (done / skipped / failed with reasons), and its `render-report.json`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.takes.atomic import write_files

REPORT_NAME = "render-report.json"


@dataclass
class RenderProgress:
    """Counts so far; `rate` and `eta_s` come from the takes rendered in this run (skipped ones cost nothing)."""

    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    elapsed_s: float = 0.0

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def rate_per_min(self) -> float | None:
        return 60.0 * self.done / self.elapsed_s if self.done and self.elapsed_s > 0 else None

    @property
    def eta_s(self) -> float | None:
        rate = self.rate_per_min
        return None if rate is None else (self.total - self.finished) * 60.0 / rate


@dataclass
class RenderReport:
    manifest: Path
    out: Path
    total: int
    done: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False
    started: float = field(default_factory=time.time)
    elapsed_s: float = 0.0
    backend: str = ""

    @property
    def path(self) -> Path:
        return self.out / REPORT_NAME

    def progress(self) -> RenderProgress:
        return RenderProgress(self.total, len(self.done), len(self.skipped), len(self.failed), self.elapsed_s)

    def summary(self) -> str:
        text = f"{len(self.done)} take(s) rendered, {len(self.skipped)} skipped, {len(self.failed)} failed"
        if self.invalid:
            text += f", {len(self.invalid)} invalid row(s) left out"
        if self.cancelled:
            text += f"; cancelled with {self.total - self.progress().finished} take(s) not rendered"
        return f"{text} (report: {self.path})."

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest": str(self.manifest),
            "out": str(self.out),
            "backend": self.backend,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "elapsed_s": round(self.elapsed_s, 3),
            "cancelled": self.cancelled,
            "counts": {
                "total": self.total,
                "done": len(self.done),
                "skipped": len(self.skipped),
                "failed": len(self.failed),
                "invalid_rows": len(self.invalid),
                "not_rendered": self.total - self.progress().finished,
            },
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "invalid": self.invalid,
        }

    def write(self) -> Path:
        """Replace `DIR/render-report.json` atomically."""
        data = json.dumps(self.to_dict(), indent=2, ensure_ascii=False).encode("utf-8")
        write_files([(self.path, data)], overwrite=True)
        return self.path

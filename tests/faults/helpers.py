"""Small real takes for the fault tests (a tone, no model), and a look at what a folder holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.params import GenerationParams
from core.takes.library import DB_NAME
from core.takes.take import Take


def tone_take(prompt: str = "door slam", seed: int = 42, seconds: float = 0.5, rate: int = 16000) -> Take:
    """A one-channel take holding a 440 Hz tone and made-up codes."""
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    wav = (0.3 * np.sin(2 * np.pi * 440.0 * t))[None].astype(np.float32)  # [1, N]
    codes = (np.arange(4 * int(seconds * 50)).reshape(4, -1) % 32).astype(np.int64)  # [K, T]
    return Take(prompt, "facebook/audiogen-medium", seed, GenerationParams(duration=seconds), rate, wav, codes)


def files_in(folder: Path) -> list[str]:
    """Every file name in `folder` (hidden ones too), the history database left out."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(DB_NAME))

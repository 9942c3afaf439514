"""Icons, the stylesheets and parameter presets of the SoundDesk window (data files), and where they lie.

From a checkout or a pip install they lie beside this module; in the built app (PyInstaller) under the app's
own folder (`sys._MEIPASS`), which may be read-only: they are only ever read.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """The resource file or folder `parts` (e.g. `resource_path("icons", "play.svg")`), frozen or not."""
    frozen = getattr(sys, "_MEIPASS", None)
    root = Path(frozen) / "resources" if frozen else Path(__file__).resolve().parent
    return root.joinpath(*parts)

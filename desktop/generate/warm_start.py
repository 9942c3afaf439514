"""At start the window loads, in the background, the model that was chosen when SoundDesk was last closed, so the
first Generate finds it ready; a Generate pressed meanwhile waits behind the load (the controller says so).

A first run has no such model on disk (the first-run box offers one), and a model that is not on this computer is
never downloaded unasked: then only the engine is started.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from core.models import hub
from desktop.generate.controller import GenerationController
from desktop.generate.panel import GeneratePanel
from desktop.settings import read_str

LAST_MODEL_KEY = "generate/model/model"
"""Where the generate panel's model picker keeps its choice (`GeneratePanel.save_state`)."""


def last_model(panel: GeneratePanel, settings: QSettings) -> str | None:
    """The model chosen at the last close, when the picker shows it again and its files are on disk."""
    ref = read_str(settings, LAST_MODEL_KEY)
    if not ref or panel.models.current_ref() != ref or not hub.is_downloaded(ref):
        return None
    return ref


def load_last_model(controller: GenerationController, panel: GeneratePanel, settings: QSettings) -> None:
    """Load the last model in the precision the panel will ask for (building the engine on the way), or only
    start the engine when there is none."""
    ref = last_model(panel, settings)
    if ref is None or controller.load(ref, panel.params.precision.choice(), ahead=True) is None:
        controller.start_engine()

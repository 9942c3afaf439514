"""Finding a CLAP checkpoint: which one a model's takes use, and loading it through the hub cache like T5.

Music models are scored with `laion/larger_clap_music`, sound-effect models with `laion/larger_clap_general`
(the checkpoints the MusicGen / AudioGen / MAGNeT cards use for "text consistency"). Files come from the
Hugging Face cache first; a missing checkpoint is downloaded with progress unless offline mode is on, and a
checkpoint that cannot be had raises ModelNotFoundError with a sentence.
"""

from __future__ import annotations

from pathlib import Path

from core.cancel import CancelToken, Progress
from core.errors import GenerationCancelled, ModelNotFoundError

MUSIC_CLAP = "laion/larger_clap_music"
SOUND_CLAP = "laion/larger_clap_general"
SEARCH_CLAP = SOUND_CLAP
"""The library's search index uses one CLAP for every take, so that all embeddings share one space."""

CLAP_CHOICES = {"music": MUSIC_CLAP, "general": SOUND_CLAP}
_FILES = ["*.json", "*.txt", "*.safetensors"]


def clap_for_model(model: str, sample_rate: int, task: str | None = None) -> str:
    """The CLAP that scores takes of `model`: its task ("music" / "sound", read from the checkpoint and recorded in
    every take), else the catalog's, else the take's rate (takes made before tasks were recorded: music models
    run at 32 kHz, sound models at 16 kHz)."""
    from core.models.catalog import CATALOG

    spec = CATALOG.get(model if "/" in model else f"facebook/{model}")
    task = task or (spec.task if spec is not None else None)
    if task is not None:
        return MUSIC_CLAP if task == "music" else SOUND_CLAP
    return MUSIC_CLAP if sample_rate >= 32000 else SOUND_CLAP


def resolve_clap_name(name: str) -> str:
    """`music` / `general` shorthands or a hub id / local folder, as given."""
    return CLAP_CHOICES.get(name, name)


def load_clap(name: str, progress: Progress | None = None, cancel: CancelToken | None = None):
    """(ClapModel in eval mode, ClapProcessor) for a hub id or folder; cache first, then a download."""
    from transformers import ClapModel, ClapProcessor
    from transformers.utils import logging as hf_logging

    from core.models.hub import from_pretrained_cached_first, is_offline

    hf_logging.disable_progress_bar()
    if _is_local(name):
        return _load_local_clap(Path(name).expanduser(), ClapModel, ClapProcessor)
    try:
        try:
            processor = ClapProcessor.from_pretrained(name, local_files_only=True)
            model = ClapModel.from_pretrained(name, local_files_only=True)
        except OSError:
            if is_offline():
                raise
            _download(name, progress, cancel)
            processor = from_pretrained_cached_first(ClapProcessor.from_pretrained, name)
            model = from_pretrained_cached_first(ClapModel.from_pretrained, name)
    except GenerationCancelled:
        raise
    except (OSError, ValueError) as exc:
        reason = "offline mode is on" if is_offline() else "it could not be downloaded"
        raise ModelNotFoundError(
            f"The CLAP model '{name}' used to score and search takes is not in the local Hugging Face cache and "
            f"{reason}: download it once with network access. ({str(exc).splitlines()[0]})"
        ) from exc
    model.eval().requires_grad_(False)
    return model, processor


def _is_local(name: str) -> bool:
    """A folder (or file) on disk, or a path that names none: not a hub id."""
    return Path(name).expanduser().exists() or name.startswith(("/", ".", "~")) or name.count("/") > 1


def _load_local_clap(folder: Path, model_class, processor_class):
    """(ClapModel, ClapProcessor) from a folder on disk, or a sentence saying what that path is instead."""
    if not folder.exists():
        raise ModelNotFoundError(f"The CLAP folder {folder} does not exist.")
    if not folder.is_dir():
        raise ModelNotFoundError(f"{folder} is a file; a CLAP model is a folder (config.json and its weights).")
    try:
        processor = processor_class.from_pretrained(str(folder), local_files_only=True)
        model = model_class.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ModelNotFoundError(
            f"The folder {folder} is not a CLAP checkpoint: it lacks a CLAP model's config.json, weights or "
            "processor files (music, general or a hub id such as laion/larger_clap_general load from the cache)."
        ) from exc
    return model.eval().requires_grad_(False), processor


def _download(name: str, progress: Progress | None, cancel: CancelToken | None) -> None:
    """Fetch the checkpoint's files into the cache, reporting `progress(done, total)`."""
    from huggingface_hub import snapshot_download

    from core.models.hub import _progress_tqdm

    snapshot_download(name, allow_patterns=_FILES, tqdm_class=_progress_tqdm(progress, cancel))

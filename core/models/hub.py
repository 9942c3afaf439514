"""Finding model files: a local release folder, or a hub id fetched into (or read from) the Hugging Face cache.

A model reference is either a folder holding `state_dict.bin` and `compression_state_dict.bin` (audiocraft's
release layout) or a hub id such as `facebook/musicgen-small`. Hub files go through huggingface_hub, so its
cache (`HF_HOME` / `HF_HUB_CACHE`) and offline mode (`HF_HUB_OFFLINE=1`) apply.

A model folder is self-contained when it also carries the models its release only names: its T5 text encoder
in `text_encoder/` and, for a release whose compression file names a hub EnCodec, that codec in `codec/`
(each a Hugging Face model folder, as `save_pretrained` writes it). Those are used instead of the names, so
such a folder works with no cache, network or environment variable.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.cancel import CancelToken, Progress
from core.errors import GenerationCancelled, ModelNotDownloadedError, ModelNotFoundError

RELEASE_FILES = ("state_dict.bin", "compression_state_dict.bin")
TEXT_ENCODER_DIR = "text_encoder"  # a model folder's own T5 (tokenizer + encoder), used instead of the one it names
CODEC_DIR = "codec"  # its own EnCodec, for a compression file that names a hub codec
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def set_offline(offline: bool) -> None:
    """Switch hub access off (only cached files are used) or back on, for this process."""
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1" if offline else "0"
    constants.HF_HUB_OFFLINE = offline


def local_folder(ref: str | os.PathLike) -> Path | None:
    """The folder `ref` names, if it is one; None for something that looks like a hub id."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return path
    if path.is_file():
        raise ModelNotFoundError(
            f"'{ref}' is a file; a model is the folder that holds {' and '.join(RELEASE_FILES)}"
            + (f": give {path.parent}." if path.name in RELEASE_FILES else ".")
        )
    text = str(ref)
    if _HUB_ID.match(text) and not text.startswith((".", "~")):
        return None
    raise ModelNotFoundError(f"Model folder '{text}' does not exist.")


def _check_release_folder(folder: Path) -> Path:
    missing = [name for name in RELEASE_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"'{folder}' is not an audiocraft model folder: {', '.join(missing)} missing "
            f"(a release folder holds {' and '.join(RELEASE_FILES)})."
        )
    return folder


def bundled(folder: Path, part: str) -> Path | None:
    """`folder/part` (TEXT_ENCODER_DIR or CODEC_DIR) when the model folder carries that model itself, else None."""
    sub = folder / part
    return sub if (sub / "config.json").is_file() else None


def is_downloaded(ref: str) -> bool:
    """Whether the model's files are already on disk (a local folder, or both files in the hub cache)."""
    try:
        folder = local_folder(ref)
    except ModelNotFoundError:
        return False
    if folder is not None:
        return all((folder / name).is_file() for name in RELEASE_FILES)
    from huggingface_hub import try_to_load_from_cache

    return all(isinstance(try_to_load_from_cache(ref, name), str) for name in RELEASE_FILES)


def resolve_model_dir(
    ref: str | os.PathLike, progress: Progress | None = None, cancel: CancelToken | None = None
) -> Path:
    """The folder with the release files of `ref`, downloading them first when needed.

    `progress(bytes_done, bytes_total)` follows a download; `cancel` stops it (GenerationCancelled).
    """
    folder = local_folder(ref)
    if folder is not None:
        return _check_release_folder(folder)
    paths = [download_file(str(ref), name, progress, cancel) for name in RELEASE_FILES]
    return _check_release_folder(paths[0].parent)


def download_file(
    repo_id: str, filename: str, progress: Progress | None = None, cancel: CancelToken | None = None
) -> Path:
    """One file of a hub repository through the cache; readable errors for offline / missing / network."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    cached = try_to_load_from_cache(repo_id, filename)
    if isinstance(cached, str):  # already downloaded: no network round trip at all
        return Path(cached)
    try:
        return Path(hf_hub_download(repo_id, filename, tqdm_class=_progress_tqdm(progress, cancel)))
    except GenerationCancelled:
        raise
    except LocalEntryNotFoundError as exc:  # (a subclass of EntryNotFoundError: test it first)
        raise ModelNotDownloadedError(repo_id, is_offline()) from exc
    except RepositoryNotFoundError as exc:
        raise ModelNotFoundError(f"There is no model '{repo_id}' on the hub (or it is private).") from exc
    except EntryNotFoundError as exc:
        raise ModelNotFoundError(f"'{repo_id}' has no {filename}: it is not an audiocraft release.") from exc
    except OSError as exc:
        raise ModelNotFoundError(f"Could not download {filename} of '{repo_id}': {exc}.") from exc


def from_pretrained_cached_first(load, name: str, **kwargs):
    """`load(name, **kwargs)` (a transformers `from_pretrained`) from the cache first, the hub only if needed.

    Without this, a machine with a complete cache but no network waits through the hub client's retries.
    """
    try:
        return load(name, local_files_only=True, **kwargs)
    except OSError:
        if is_offline():
            raise
    return load(name, **kwargs)


def _progress_tqdm(progress: Progress | None, cancel: CancelToken | None):
    """A tqdm class that forwards byte counts to `progress` and honours `cancel`."""
    from tqdm.auto import tqdm

    class _Tqdm(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = progress is not None or kwargs.get("disable", False)
            super().__init__(*args, **kwargs)
            self._done = 0

        def update(self, n=1):
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled("download was cancelled")
            self._done += n or 0
            if progress is not None and self.total:
                progress(int(self._done), int(self.total))
            return super().update(n)

    return _Tqdm

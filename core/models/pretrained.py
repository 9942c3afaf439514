"""Files of a Hugging Face model folder or hub id (config.json, weights, tokenizer), read without transformers.

`pretrained_file(name, *candidates)` finds the first candidate file `name` has: in the folder `name` names, or
for a hub id in the Hugging Face cache first (`HF_HUB_CACHE`), then on the hub unless offline
(`HF_HUB_OFFLINE=1`), as transformers' `from_pretrained` would. `read_weights` loads a safetensors or
`pytorch_model.bin` file without running pickled code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from core.errors import CheckpointError
from core.models.hub import is_offline


def pretrained_file(name: str, *candidates: str) -> Path | None:
    """The first of `candidates` that the model `name` has, downloading it when online; None when it has none.

    Raises OSError when the hub cannot be reached (or has no repository `name`)."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        return next((folder / c for c in candidates if (folder / c).is_file()), None)
    from huggingface_hub import try_to_load_from_cache

    for candidate in candidates:
        try:
            cached = try_to_load_from_cache(name, candidate)
        except ValueError:  # not a valid repository id (a folder that does not exist)
            return None
        if isinstance(cached, str):
            return Path(cached)
    return None if is_offline() else _download(name, candidates)


def _download(name: str, candidates: tuple[str, ...]) -> Path | None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    for candidate in candidates:
        try:
            return Path(hf_hub_download(name, candidate))
        except LocalEntryNotFoundError as exc:  # no network: the OSError the callers turn into a readable one
            raise OSError(str(exc)) from exc
        except EntryNotFoundError:
            continue
    return None


def read_config(path: Path) -> dict:
    """A model's config.json as a dict (CheckpointError if it is not one)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not a readable model config ({exc}).") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} is not a model config (a JSON object).")
    return config


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Name -> tensor of a `.safetensors` file or a `pytorch_model.bin` (loaded weights-only)."""
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{path} is damaged or not a safetensors file ({exc}).") from exc
    from core.models.checkpoint import load_weights_file

    weights = load_weights_file(path)
    return {k: v for k, v in weights.items() if isinstance(v, torch.Tensor)}

"""Reading audiocraft release files safely: `torch.load(weights_only=True)` and the OmegaConf `xp.cfg`."""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core.errors import CheckpointError


def load_weights_file(path: Path) -> dict[str, Any]:
    """Load a release `.bin` (a pickled dict of tensors and strings) without ever running pickled code."""
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist.")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True, mmap=_is_zip(path))
    except pickle.UnpicklingError as exc:
        if "unsupported global" in str(exc).lower():  # a pickle naming code to import; random bytes fail otherwise
            raise CheckpointError(
                f"{path} is not a safe weights file (it would run code when loaded), so it was not opened."
            ) from exc
        raise CheckpointError(f"{path} is damaged or is not a PyTorch checkpoint.") from exc
    except Exception as exc:  # torch raises KeyError, RuntimeError, EOFError... for damaged files
        raise CheckpointError(f"{path} is damaged or is not a PyTorch checkpoint ({type(exc).__name__}).") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} does not hold an audiocraft checkpoint (a dict).")
    return data


def _is_zip(path: Path) -> bool:
    return zipfile.is_zipfile(path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def parse_xp_cfg(data: Mapping[str, Any], source: str | Path) -> DictConfig:
    """The experiment config stored under 'xp.cfg' (a YAML string, or a dict in older exports) of the LM's or the
    codec's checkpoint `source`. Interpolations stay lazy: only the keys read (`cfg_get`) get resolved."""
    name = Path(source).name
    raw = data.get("xp.cfg")
    if raw is None:
        raise CheckpointError(f"{name} has no 'xp.cfg': it is not an audiocraft release checkpoint.")
    try:
        cfg = OmegaConf.create(raw)
    except (OmegaConfBaseException, ValueError, TypeError) as exc:
        raise CheckpointError(f"The config inside {name} cannot be parsed: {_first_line(exc)}.") from exc
    if not isinstance(cfg, DictConfig):
        raise CheckpointError(f"The config inside {name} is not a mapping.")
    return cfg


def cfg_get(cfg: DictConfig, key: str, default: Any = None) -> Any:
    """A resolved value (interpolations such as `${sample_rate}` followed) or `default` when absent."""
    try:
        value = OmegaConf.select(cfg, key, default=default, throw_on_resolution_failure=True)
    except OmegaConfBaseException as exc:
        raise CheckpointError(f"Config key '{key}' cannot be resolved: {_first_line(exc)}.") from exc
    if isinstance(value, DictConfig | list) or OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=True)
    return value


def state_dict(data: dict[str, Any], source: Path) -> dict[str, torch.Tensor]:
    best = data.get("best_state")
    if not isinstance(best, dict):
        raise CheckpointError(f"{source.name} has no 'best_state' weights.")
    if "model" in best and isinstance(best["model"], dict):  # training-style nesting
        best = best["model"]
    return best

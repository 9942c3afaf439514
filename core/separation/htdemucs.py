"""Stem separation with demucs' HTDemucs: load it from the hub (safetensors only) and split a mix into stems.

MusicGen-melody removes drums and bass before taking the chroma of a melody (audiocraft
`ChromaStemConditioner._get_stemmed_wav`): mono 32 kHz -> stereo 44.1 kHz -> HTDemucs -> vocals + other ->
mono 32 kHz. `remove_drums_and_bass` is that step; `separate` returns all stems.

The model is loaded the way demucs 4.1.0 loads `htdemucs` from the Hugging Face hub (`demucs.hf`): the bag
file `htdemucs.yaml` of `adefossez/HTDemucs` lists model signatures, each a `<sig>.safetensors` whose metadata
holds the class name and its keyword arguments. Only HTDemucs is accepted and nothing is unpickled.

Separation is deterministic: demucs' random time shift is the explicit `shift_offset` (see core.separation.apply);
callers derive it from a take's seed with `shift_offset_for_seed`.
"""

from __future__ import annotations

import inspect
import json
import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch

from core.cancel import CancelToken, Progress, check_cancel
from core.errors import CheckpointError
from core.models.hub import download_file
from core.separation.apply import apply_with_shift, max_shift
from core.takes.audio_io import convert_channels

HUB_REPO = "adefossez/HTDemucs"
BAG_NAME = "htdemucs"
MODEL_CLASS = "demucs.htdemucs.HTDemucs"
MELODY_STEMS = ("vocals", "other")


@dataclass
class Separator:
    """A bag of HTDemucs models (one for `htdemucs`) averaged with per-source weights."""

    models: list[torch.nn.Module]
    weights: list[list[float]]  # [models][sources]

    @property
    def sources(self) -> list[str]:
        return list(self.models[0].sources)

    @property
    def samplerate(self) -> int:
        return int(self.models[0].samplerate)

    @property
    def audio_channels(self) -> int:
        return int(self.models[0].audio_channels)

    @property
    def device(self) -> torch.device:
        return next(self.models[0].parameters()).device

    def apply(
        self,
        mix: torch.Tensor,
        shift_offset: int | None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> torch.Tensor:
        """demucs `apply_model`: `mix` [B, C, L] at `samplerate` -> stems [B, S, C, L] (model device).

        Every model of a bag uses the same `shift_offset` (demucs draws one per model; `htdemucs` has one).
        """
        mix = mix.to(self.device, torch.float32)
        estimates = torch.zeros((), device=self.device)
        totals = [0.0] * len(self.sources)
        for model, model_weights in zip(self.models, self.weights, strict=True):
            out = apply_with_shift(model, mix, shift_offset, progress, cancel)  # [B, S, C, L]
            for k, weight in enumerate(model_weights):
                out[:, k] *= weight
                totals[k] += weight
            estimates = estimates + out
        for k, total in enumerate(totals):
            estimates[:, k] /= total
        return estimates


def shift_offset_for_seed(seed: int, samplerate: int = 44100) -> int:
    """The shift a take with `seed` uses: `random.Random(seed).randint(0, int(0.5 * samplerate))`."""
    return random.Random(seed).randint(0, max_shift(samplerate))


def load_separator(
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    repo_id: str = HUB_REPO,
    name: str = BAG_NAME,
    device: torch.device | str = "cpu",
) -> Separator:
    """Download (or read from the hub cache) and build the `htdemucs` bag; offline mode is honoured."""
    import yaml

    bag_path = download_file(repo_id, f"{name}.yaml", progress, cancel)
    try:
        bag = yaml.safe_load(bag_path.read_text())
        signatures = [str(sig) for sig in bag["models"]]
        if not signatures:
            raise TypeError("no models")
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{bag_path.name} of '{repo_id}' is not a demucs bag of models.") from exc
    models = []
    for sig in signatures:
        check_cancel(cancel)
        path = download_file(repo_id, f"{sig}.safetensors", progress, cancel)
        models.append(_load_model(path, bag.get("segment"), device))
    weights = bag.get("weights") or [[1.0] * len(models[0].sources) for _ in models]
    return Separator(models=models, weights=[[float(w) for w in row] for row in weights])


def _load_model(path: Path, bag_segment: float | None, device: torch.device | str) -> torch.nn.Module:
    """One HTDemucs from a demucs hub safetensors file, built on the meta device and filled in place."""
    from demucs.htdemucs import HTDemucs
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as file:
            metadata = file.metadata() or {}
            state = {key: file.get_tensor(key).float() for key in file.keys()}
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path.name} is not a readable safetensors file.") from exc
    if metadata.get("klass") != MODEL_CLASS or "structure" in metadata:
        klass = metadata.get("klass")
        raise CheckpointError(f"{path.name} holds a '{klass}' model; only HTDemucs is supported.")
    kwargs = _model_kwargs(path, metadata, HTDemucs)
    with torch.device("meta"):
        model = HTDemucs(**kwargs)
    try:
        model.load_state_dict(state, assign=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path.name} does not match the HTDemucs it describes.") from exc
    if bag_segment is not None and bag_segment <= model.segment:
        model.segment = bag_segment  # BagOfModels' segment override
    return model.to(device).eval()


def _model_kwargs(path: Path, metadata: dict[str, str], klass: type) -> dict[str, Any]:
    try:
        args = json.loads(metadata.get("args", "[]"))
        kwargs = _decode_fractions(json.loads(metadata["kwargs"]))
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path.name} has no readable model arguments in its metadata.") from exc
    if args:
        raise CheckpointError(f"{path.name} passes positional model arguments; demucs hub files do not.")
    accepted = inspect.signature(klass).parameters
    return {key: value for key, value in kwargs.items() if key in accepted}  # demucs drops unknown ones too


def _decode_fractions(value: Any) -> Any:
    """demucs.hf's json: `{"_type": "fraction", "numerator": n, "denominator": d}` -> Fraction(n, d)."""
    if isinstance(value, dict):
        if value.get("_type") == "fraction":
            return Fraction(value["numerator"], value["denominator"])
        return {key: _decode_fractions(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_fractions(item) for item in value]
    return value


def separate(
    model: Separator,
    wav: torch.Tensor,
    sample_rate: int,
    shift_offset: int | None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> dict[str, torch.Tensor]:
    """Stems of `wav` [B, C, T] at `sample_rate` -> {source: [B, min(C, 2), T']} at `sample_rate`.

    As demucs: channels are converted first (mono is duplicated), then `julius.resample_frac` to the model
    rate, and back the same way for each stem.
    """
    channels = min(wav.shape[1], model.audio_channels)
    mix = _convert(wav.to(model.device), sample_rate, model.samplerate, model.audio_channels)  # [B, 2, L]
    stems = model.apply(mix, shift_offset, progress, cancel)  # [B, S, 2, L]
    return {
        name: _convert(stems[:, k], model.samplerate, sample_rate, channels).to(wav.device)
        for k, name in enumerate(model.sources)
    }


def remove_drums_and_bass(
    model: Separator,
    wav: torch.Tensor,
    shift_offset: int | None,
    sample_rate: int = 32000,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """audiocraft's `_get_stemmed_wav`: `wav` [B, 1, T] -> vocals + other as mono [B, 1, T']."""
    mix = _convert(wav.to(model.device), sample_rate, model.samplerate, model.audio_channels)  # [B, 2, L]
    stems = model.apply(mix, shift_offset, progress, cancel)  # [B, S, 2, L]
    keep = [model.sources.index(name) for name in MELODY_STEMS]
    melody = stems[:, keep].sum(1)  # [B, 2, L]
    return _convert(melody, model.samplerate, sample_rate, 1).to(wav.device)


def _convert(wav: torch.Tensor, from_rate: int, to_rate: int, channels: int) -> torch.Tensor:
    """demucs.audio.convert_audio: channels (mean / duplicate / first ones), then julius.resample_frac."""
    import julius

    return julius.resample_frac(convert_channels(wav, channels), from_rate, to_rate)

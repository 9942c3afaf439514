"""The engine: owns loaded models (a cache keyed by model reference) and turns requests into takes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from core.cancel import CancelToken, Progress, check_cancel
from core.codec.compression import CompressionModel, load_compression_model, wrap_for_lm
from core.errors import CheckpointError, InvalidParameterError
from core.models.hub import resolve_model_dir
from core.models.loader import LMBundle, load_lm_bundle
from core.nn.conditioning import ChromaConditioner
from core.params import GenerationParams
from core.takes.audio_io import AudioClip
from core.takes.take import Take

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationRequest:
    """One take to make: a prompt, parameters and seed, optionally a melody or audio to continue."""

    prompt: str
    params: GenerationParams
    seed: int
    melody: AudioClip | None = None
    separate_melody: bool = True
    continuation: AudioClip | None = None
    shift_offset: int | None = None  # demucs time shift; None: drawn from the seed (reproducible)


class Engine:
    """Loads models once and keeps them: switching back to a loaded model is instant."""

    def __init__(self, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> None:
        self.device = torch.device(device)
        self.dtype = dtype
        self._models: dict[str, LoadedModel] = {}
        self._shared = SharedModels()  # the T5 encoders and the stem separator, one copy for all models

    def load(self, ref: str | Path, progress: Progress | None = None, cancel: CancelToken | None = None) -> LoadedModel:
        key = str(ref)
        if key not in self._models:
            folder = resolve_model_dir(key, progress, cancel)
            check_cancel(cancel)
            self._models[key] = LoadedModel.from_folder(key, folder, self.device, self.dtype, self._shared)
        return self._models[key]

    def is_loaded(self, ref: str | Path) -> bool:
        return str(ref) in self._models

    def loaded(self) -> list[str]:
        return list(self._models)

    def unload(self, ref: str | Path | None = None) -> None:
        """Free one model, or all of them."""
        if ref is None:
            self._models.clear()
        else:
            self._models.pop(str(ref), None)
        if not self._models:
            self._shared = SharedModels()

    def clap(self, name: str, progress: Progress | None = None, cancel: CancelToken | None = None):
        """The CLAP scorer `name` (core.clap), loaded once per engine; `unload()` frees it with the models."""
        if name not in self._shared.clap:
            from core.clap.scorer import ClapScorer

            self._shared.clap[name] = ClapScorer.load(name, self.device, progress, cancel)
        return self._shared.clap[name]


@dataclass
class SharedModels:
    """Frozen helper models several loaded models use: T5 encoders by name, the demucs separator, CLAPs."""

    text_encoders: dict = field(default_factory=dict)
    separator: object | None = None
    clap: dict = field(default_factory=dict)  # name -> core.clap.scorer.ClapScorer


class LoadedModel:
    """A language model with its codec and conditioners, ready to generate takes."""

    def __init__(
        self,
        ref: str,
        folder: Path,
        bundle: LMBundle,
        codec: CompressionModel,
        device: torch.device,
        shared: SharedModels | None = None,
    ) -> None:
        self.ref, self.folder, self.bundle, self.codec, self.device = ref, folder, bundle, codec, device
        self.shared = shared if shared is not None else SharedModels()
        if codec.num_codebooks != bundle.lm.cfg.n_q:
            raise CheckpointError(
                f"The codec of {ref} has {codec.num_codebooks} codebooks but the LM expects {bundle.lm.cfg.n_q}."
            )

    @classmethod
    def from_folder(
        cls, ref: str, folder: Path, device: torch.device, dtype: torch.dtype, shared: SharedModels | None = None
    ) -> LoadedModel:
        shared = shared if shared is not None else SharedModels()
        bundle = load_lm_bundle(folder / "state_dict.bin", dtype, shared.text_encoders)
        codec = wrap_for_lm(load_compression_model(folder / "compression_state_dict.bin"), bundle.cfg)
        bundle.lm.to(device)
        bundle.lm.pack_weights()
        for module in bundle.conditioners.values():
            module.to(device)
        return cls(ref, folder, bundle, codec.to(device), device, shared)

    @property
    def family(self) -> str:
        if self.bundle.magnet:
            return "magnet"
        return "musicgen" if self.sample_rate == 32000 else "audiogen"

    @property
    def sample_rate(self) -> int:
        return self.codec.sample_rate

    @property
    def channels(self) -> int:
        return self.codec.channels

    @property
    def frame_rate(self) -> float:
        return float(self.codec.frame_rate)

    @property
    def max_duration(self) -> float:
        return self.bundle.segment_duration

    @property
    def autoregressive(self) -> bool:
        return not self.bundle.magnet

    @property
    def supports_melody(self) -> bool:
        return any(isinstance(m, ChromaConditioner) for m in self.bundle.conditioners.values())

    @property
    def default_params(self) -> GenerationParams:
        from core.models.catalog import AUDIOGEN_DEFAULTS, MAGNET_DEFAULTS, MUSICGEN_DEFAULTS

        if self.bundle.magnet:
            return MAGNET_DEFAULTS.replace(duration=self.max_duration)
        base = MUSICGEN_DEFAULTS if self.family == "musicgen" else AUDIOGEN_DEFAULTS
        return base.replace(cfg_coef=self.bundle.cfg_coef, duration=min(base.duration, self.max_duration))

    def generate(
        self, request: GenerationRequest, progress: Progress | None = None, cancel: CancelToken | None = None
    ) -> Take:
        """Make one take; it depends only on the request (prompt, parameters, seed and audio inputs)."""
        from core.generation import generate_take

        started = time.perf_counter()
        take = generate_take(self, request, progress, cancel)
        take.extra["elapsed_s"] = round(time.perf_counter() - started, 3)
        return take

    def separator(self, progress: Progress | None = None, cancel: CancelToken | None = None):
        """The melody conditioner's stem separator (demucs htdemucs), loaded on first use."""
        if self.shared.separator is None:
            from core.separation.htdemucs import load_separator

            self.shared.separator = load_separator(progress=progress, cancel=cancel, device=self.device)
        return self.shared.separator


def generate_variations(
    model: LoadedModel,
    request: GenerationRequest,
    count: int,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    on_take: Callable[[Take], None] | None = None,
) -> list[Take]:
    """`count` takes with seeds S, S+1, ...; variation i equals the take generated alone from seed S+i.

    `on_take(take)` runs as soon as each take exists, so a caller can write it before the next one starts:
    a cancel or a crash later loses only the unfinished takes.
    """
    if count < 1:
        raise InvalidParameterError(f"The number of variations must be at least 1, got {count}.")
    takes = []
    for i in range(count):
        step = _offset_progress(progress, i, count)
        take = model.generate(_with_seed(request, request.seed + i), step, cancel)
        takes.append(take)
        if on_take is not None:
            on_take(take)
    return takes


def _with_seed(request: GenerationRequest, seed: int) -> GenerationRequest:
    from dataclasses import replace

    return replace(request, seed=seed)


def _offset_progress(progress: Progress | None, index: int, count: int) -> Progress | None:
    if progress is None:
        return None
    return lambda step, total: progress(index * total + step, count * total)

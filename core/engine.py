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
from core.models.capabilities import Capabilities
from core.models.hub import resolve_model_dir
from core.models.loader import LMBundle, load_lm_bundle
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

    def separator(self, progress: Progress | None = None, cancel: CancelToken | None = None):
        """The stem separator (demucs htdemucs): one per engine, also used by every model's melody conditioning."""
        return self._shared.get_separator(self.device, progress, cancel)

    def unload(self, ref: str | Path | None = None) -> None:
        """Free one model, or all of them."""
        if ref is None:
            self._models.clear()
        else:
            self._models.pop(str(ref), None)
        if not self._models:
            self._shared = SharedModels()


@dataclass
class SharedModels:
    """Frozen helper models several loaded models use: T5 encoders by name and the demucs separator."""

    text_encoders: dict = field(default_factory=dict)
    separator: object | None = None

    def get_separator(self, device: torch.device, progress: Progress | None, cancel: CancelToken | None):
        """demucs htdemucs, loaded on first use and then shared by melody conditioning and take separation."""
        if self.separator is None:
            from core.separation.htdemucs import load_separator

            self.separator = load_separator(progress=progress, cancel=cancel, device=device)
        return self.separator


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
    def capabilities(self) -> Capabilities:
        """What this model can do and its defaults, read from its checkpoint (one record for every caller)."""
        return self.bundle.capabilities

    @property
    def family(self) -> str:
        return self.capabilities.family

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
        return self.capabilities.max_duration

    @property
    def autoregressive(self) -> bool:
        return self.capabilities.autoregressive

    @property
    def supports_melody(self) -> bool:
        return self.capabilities.melody

    @property
    def default_params(self) -> GenerationParams:
        return self.capabilities.defaults

    def generate(
        self,
        request: GenerationRequest,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
        on_frames: Callable[[torch.Tensor], None] | None = None,
    ) -> Take:
        """Make one take; it depends only on the request (prompt, parameters, seed and audio inputs).
        `on_frames(codes [1, K, F])` sees its codes grow (autoregressive models)."""
        from core.generation import generate_take

        started = time.perf_counter()
        take = generate_take(self, request, progress, cancel, on_frames)
        take.extra["elapsed_s"] = round(time.perf_counter() - started, 3)
        return take

    def separator(self, progress: Progress | None = None, cancel: CancelToken | None = None):
        """The melody conditioner's stem separator: the engine's one, loaded on first use."""
        return self.shared.get_separator(self.device, progress, cancel)


def generate_variations(
    model: LoadedModel,
    request: GenerationRequest,
    count: int,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    on_take: Callable[[Take], None] | None = None,
    on_frames: Callable[[int, torch.Tensor], None] | None = None,
) -> list[Take]:
    """`count` takes with seeds S, S+1, ...; variation i equals the take generated alone from seed S+i.

    `on_take(take)` runs as soon as each take exists, so a caller can write it before the next one starts:
    a cancel or a crash later loses only the unfinished takes. `on_frames(i, codes [1, K, F])` sees variation
    i's codes grow (autoregressive models), for a preview while it is generated.
    """
    if count < 1:
        raise InvalidParameterError(f"The number of variations must be at least 1, got {count}.")
    takes = []
    for i in range(count):
        step = _offset_progress(progress, i, count)
        grow = (lambda codes, i=i: on_frames(i, codes)) if on_frames is not None else None
        take = model.generate(_with_seed(request, request.seed + i), step, cancel, grow)
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

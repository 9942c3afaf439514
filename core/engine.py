"""The engine: owns loaded models (a cache keyed by model reference) and turns requests into takes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from core.cancel import CancelToken, Progress, check_cancel
from core.checks import parse_device
from core.codec.compression import CompressionModel, load_compression_model, wrap_for_lm
from core.generation.generate import GenerationRequest, generate_takes
from core.generation.variations import generate_variations  # noqa: F401 (the entry, with the engine)
from core.models import load_facts
from core.models.capabilities import Capabilities
from core.models.hub import resolve_model_dir
from core.models.int8_cache import quantized_weights
from core.models.loader import LMBundle, load_lm_bundle
from core.models.memory import check_fits, return_large_blocks_to_the_os
from core.models.pairing import check_codec_matches
from core.models.precision import Precision, check_precision, resolve
from core.nn.fast_linear import packs_weights
from core.nn.quantize import apply_precision, is_quantized
from core.takes.take import Take

log = logging.getLogger(__name__)


class Engine:
    """Loads models once and keeps them: switching back to a loaded model is instant.

    `precision` ("auto", "fp32", "bf16", "int8", "int4"; see core.models.precision) is the default of `load`;
    fp32 is the exact reference. One precision of a model is kept at a time: loading it in another one frees the
    first.
    """

    def __init__(self, device: str | torch.device = "cpu", precision: str = "fp32") -> None:
        self.device = parse_device(device)  # an unknown or absent device is a sentence, not a traceback
        self.precision = check_precision(precision)
        self._models: dict[str, LoadedModel] = {}
        self._shared = SharedModels()  # the T5 encoders and the stem separator, one copy for all models

    def load(
        self,
        ref: str | Path,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
        precision: str | None = None,
    ) -> LoadedModel:
        """The model `ref` in `precision` (default: the engine's), loaded on first use."""
        key = str(ref)
        model = self._models.get(key)
        folder = model.folder if model is not None else resolve_model_dir(key, progress, cancel)
        # the one record every step below reads (auto may pick int4 for a model verified for it)
        resolved = resolve(precision or self.precision, self.device, folder / "state_dict.bin")
        if model is None or model.precision != resolved.mode:
            self._models.pop(key, None)
            check_cancel(cancel)
            self._models[key] = LoadedModel.from_folder(key, folder, self.device, resolved, self._shared)
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
        precision: Precision | None = None,
    ) -> None:
        self.ref, self.folder, self.bundle, self.codec, self.device = ref, folder, bundle, codec, device
        self.record = precision or resolve("fp32", device)
        self.precision = self.record.mode  # what takes record: fp32, bf16, int8 or int4
        self.shared = shared if shared is not None else SharedModels()
        check_codec_matches(bundle, codec, folder)

    @classmethod
    def from_folder(
        cls,
        ref: str,
        folder: Path,
        device: torch.device,
        precision: Precision | str = "fp32",
        shared: SharedModels | None = None,
    ) -> LoadedModel:
        """Load in a precision (a `resolve`d record, or a mode to resolve), after checking it fits."""
        record = resolve(precision, device)
        precision = record.mode
        if device.type == "cpu":
            check_fits(ref, folder, precision)
            return_large_blocks_to_the_os()  # weights are converted and packed one at a time: free each for good
            load_facts.recall_kernel_probes()  # read, not probed again, on the same torch and CPU
        shared = shared if shared is not None else SharedModels()
        # quantized or packed straight from the file's tensors, never copied on the way
        from_file = is_quantized if record.quantized or packs_weights(precision, device) else None
        bundle = load_lm_bundle(folder / "state_dict.bin", record.dtype, shared.text_encoders, from_file)
        codec = wrap_for_lm(load_compression_model(folder / "compression_state_dict.bin"), bundle.cfg)
        bundle.lm.to(device)
        checkpoint = folder / "state_dict.bin"
        quantized = quantized_weights(bundle.lm, checkpoint, precision) if record.quantized else None
        if device.type == "cpu":
            load_facts.apply_precision_remembered(bundle.lm, checkpoint, precision, quantized)
        else:
            apply_precision(bundle.lm, precision, quantized)
        for module in bundle.conditioners.values():
            module.to(device)
        return cls(ref, folder, bundle, codec.to(device), device, shared, record)

    @property
    def capabilities(self) -> Capabilities:
        """What this model can do and its defaults, read from its checkpoint (one record for every caller)."""
        return self.bundle.capabilities

    # Shorthands every caller reads: the record's facts, and the codec's rate, channels and frame rate.
    family = property(lambda self: self.capabilities.family)
    max_duration = property(lambda self: self.capabilities.max_duration)
    autoregressive = property(lambda self: self.capabilities.autoregressive)
    default_params = property(lambda self: self.capabilities.defaults)
    sample_rate = property(lambda self: int(self.codec.sample_rate))
    channels = property(lambda self: int(self.codec.channels))
    frame_rate = property(lambda self: float(self.codec.frame_rate))

    def generate(
        self,
        request: GenerationRequest,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
        on_frames: Callable[[torch.Tensor], None] | None = None,
    ) -> Take:
        """Make one take (core.generation.generate.generate_takes, a batch of one); it depends only on the request
        (prompt, parameters, seed and audio inputs). `on_frames(codes [1, K, F])` sees its codes grow
        (autoregressive models)."""
        grow = (lambda _index, codes: on_frames(codes)) if on_frames is not None else None
        return generate_takes(self, request, None, progress, cancel, grow)[0]

    def separator(self, progress: Progress | None = None, cancel: CancelToken | None = None):
        """The melody conditioner's stem separator: the engine's one, loaded on first use."""
        return self.shared.get_separator(self.device, progress, cancel)

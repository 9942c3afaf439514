"""From a request to a take: conditions for the CFG batch, audio prompts, windows beyond the model's length.

Mirrors audiocraft's `MusicGen._generate_tokens`: a take longer than the model's window is generated window by
window, each continuing the last `max_duration - extend_stride` seconds of the previous one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import julius
import numpy as np
import torch

from core.cancel import CancelToken, Progress, report
from core.decoding.autoregressive import generate_codes
from core.errors import InvalidParameterError
from core.generation.melody import melody_cfg_chroma
from core.nn.conditioning import ChromaConditioner, T5Conditioner
from core.nn.lm import Conditions
from core.params import GenerationParams
from core.separation.htdemucs import shift_offset_for_seed
from core.takes.audio_io import AudioClip, convert_channels
from core.takes.take import Take


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


def to_model_audio(clip: AudioClip, sample_rate: int, channels: int) -> torch.Tensor:
    """audiocraft's convert_audio: resample (julius) then adapt channels. -> [1, C, N] float32"""
    wav = torch.from_numpy(np.ascontiguousarray(clip.samples, dtype=np.float32))[None]  # [1, C, N]
    if clip.sample_rate != sample_rate:
        wav = julius.resample_frac(wav, int(clip.sample_rate), int(sample_rate))
    return convert_channels(wav, channels, clip.path)


class ConditionBuilder:
    """Builds the `[conditional; null]` CFG batch of conditions for one prompt (and melody)."""

    def __init__(
        self,
        model,
        prompt: str,
        melody: torch.Tensor | None,
        separate: bool,
        shift_offset: int,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ):
        self.model, self.prompt, self.melody = model, prompt, melody  # melody [1, C, N] at model rate
        self.separate, self.shift_offset = separate, shift_offset
        self.progress, self.cancel = progress, cancel
        self._text: dict[str, torch.Tensor] = {}

    def __call__(self, melody_window: torch.Tensor | None = None) -> Conditions:
        bundle = self.model.bundle
        tensors = {}
        for name in bundle.condition_order:
            module = bundle.conditioners[name]
            if isinstance(module, T5Conditioner):
                tensors[name] = self._text_condition(name, module)
            else:
                wav = melody_window if melody_window is not None else self.melody
                tensors[name] = self._melody_condition(module, wav)
        return bundle.fuser.fuse(tensors, bundle.condition_order)

    def _text_condition(self, name: str, module: T5Conditioner) -> torch.Tensor:
        if name not in self._text:
            cond, _ = module.encode([self.prompt])  # [1, L, D]
            self._text[name] = torch.cat([cond, torch.zeros_like(cond)])  # null = '' -> all masked
        return self._text[name]

    @torch.inference_mode()
    def _melody_condition(self, module: ChromaConditioner, wav: torch.Tensor | None) -> torch.Tensor:
        """The chroma condition [2, T, D]; with separation, drums and bass go first (all model channels in)."""
        separator = self.model.separator(self.progress, self.cancel) if (wav is not None and self.separate) else None
        if wav is not None and separator is None:
            wav = convert_channels(wav, 1)  # [1, 1, N]
        chroma = melody_cfg_chroma(
            module.extractor, module.chroma_len, wav, separator, self.shift_offset, cancel=self.cancel
        )
        return module.project(chroma)


def _windows(duration: float, frame_rate: float, max_duration: float, stride: int, prompt_len: int) -> list[int]:
    """audiocraft's extension schedule: frames to generate (prompt included) in each window."""
    total = int(duration * frame_rate)
    if duration <= max_duration:
        return [total]
    windows, offset = [], 0
    while offset + prompt_len < total:
        chunk = min(duration - offset / frame_rate, max_duration)
        windows.append(int(chunk * frame_rate))
        prompt_len = windows[-1] - stride
        offset += stride
    return windows


def _steps(pattern, frames: int, prompt_len: int) -> int:
    return pattern.num_steps(frames) - pattern.first_step_with_frame(prompt_len)


def generate_ar_codes(
    model,
    build: ConditionBuilder,
    prompt: torch.Tensor,
    params,
    generator: torch.Generator | list[torch.Generator],
    progress: Progress | None,
    cancel: CancelToken | None,
    on_frames: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Autoregressive codes [B, K, int(duration * frame_rate)] (prompt [B, K, T0] included), window by window
    beyond the model's length. B > 1 decodes B takes of the same prompt together, one generator each.
    `on_frames(codes [B, K, F])`: the takes' frames complete so far (prompt included), as they grow."""
    fr, bundle = model.frame_rate, model.bundle
    stride = int(fr * params.extend_stride)
    if params.duration > model.max_duration and params.extend_stride >= model.max_duration:
        raise InvalidParameterError(
            f"Extend stride ({params.extend_stride} s) must be shorter than the model's "
            f"window ({model.max_duration} s)."
        )
    windows = _windows(params.duration, fr, model.max_duration, stride, prompt.shape[-1])
    lengths = [prompt.shape[-1]] + [n - stride for n in windows[:-1]]
    budget = sum(_steps(bundle.pattern, n, p) for n, p in zip(windows, lengths, strict=True))
    done, pieces = 0, ([prompt] if prompt.shape[-1] else [])
    for index, frames in enumerate(windows):
        step = _window_progress(progress, done, budget)
        cond = _per_take(build(_melody_window(model, build, index * stride, len(windows) > 1)), prompt.shape[0])
        grow = _window_frames(on_frames, pieces, prompt.shape[-1])
        codes = generate_codes(
            bundle.lm, bundle.pattern, cond, prompt, frames, params, generator, step, cancel, on_frames=grow
        )
        done += _steps(bundle.pattern, frames, prompt.shape[-1])
        pieces.append(codes[..., prompt.shape[-1] :])
        prompt = codes[..., stride:]
    report(progress, budget, budget)
    return torch.cat(pieces, dim=-1)


def _per_take(cond: Conditions, takes: int) -> Conditions:
    """The [conditional; null] pair of conditions [2, ...] tiled for `takes` takes: [2 * takes, ...]."""
    if takes == 1:
        return cond
    tile = lambda t: None if t is None else t.repeat(takes, *([1] * (t.dim() - 1)))  # noqa: E731
    return Conditions(cross=tile(cond.cross), prefix=tile(cond.prefix))


def _window_frames(on_frames, pieces: list[torch.Tensor], prompt_len: int):
    """A window's frames so far, put after the frames of the windows before it."""
    if on_frames is None:
        return None
    return lambda codes: on_frames(torch.cat([*pieces, codes[..., prompt_len:]], dim=-1) if pieces else codes)


def _window_progress(progress: Progress | None, done: int, budget: int) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda step, _total: progress(done + step, budget)


def _melody_window(model, build: ConditionBuilder, offset: int, long_form: bool) -> torch.Tensor | None:
    """In long-form generation the melody is extended periodically to one window from the current time."""
    if build.melody is None or not long_form:
        return None
    length = build.melody.shape[-1]
    start = int(offset / model.frame_rate * model.sample_rate)
    positions = torch.arange(start, start + int(model.max_duration * model.sample_rate))
    return build.melody[..., positions % length]


def generate_takes(
    model,
    request,
    seeds: list[int] | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    on_frames: Callable[[int, torch.Tensor], None] | None = None,
    first: int = 0,
) -> list[Take]:
    """The takes of `request`, one per seed (default: its own seed), decoded as one batch; one take is a batch of
    one. Several seeds need an autoregressive request without a melody (core.generation.variations.can_batch);
    each take equals the one its seed makes alone. `on_frames(first + b, codes [1, K, F])` sees take b's codes
    grow (autoregressive models). Each take records `elapsed_s`, the time its batch took."""
    seeds = [request.seed] if seeds is None else list(seeds)
    validate_request(model, request)
    assert len(seeds) == 1 or (model.autoregressive and request.melody is None), "only such requests are batched"
    started = time.perf_counter()
    params = request.params
    generators = [torch.Generator(device=model.device).manual_seed(int(seed)) for seed in seeds]
    build = _conditions(model, request, seeds[0], cancel)
    prompt = prompt_tokens(model, request.continuation, int(params.duration * model.frame_rate))
    if model.autoregressive:
        grow = _per_take_frames(on_frames, first)
        generator = generators[0] if len(seeds) == 1 else generators
        prompt = prompt.expand(len(seeds), -1, -1) if len(seeds) > 1 else prompt  # [B, K, T0]
        codes = generate_ar_codes(model, build, prompt, params, generator, progress, cancel, grow)  # [B, K, T]
    else:
        from core.decoding.masked import generate_magnet_codes

        codes = generate_magnet_codes(model, build(), params, generators[0], progress, cancel)
    extra = take_extra(model, request)
    takes = [decoded_take(model, codes[b : b + 1], request.prompt, s, params, dict(extra)) for b, s in enumerate(seeds)]
    elapsed = round(time.perf_counter() - started, 3)
    for take in takes:
        take.extra["elapsed_s"] = elapsed
    return takes


def _conditions(model, request, seed: int, cancel: CancelToken | None) -> ConditionBuilder:
    """The request's condition builder; a melody's stem separation shifts by the seed's offset."""
    melody = to_model_audio(request.melody, model.sample_rate, model.channels) if request.melody else None
    melody = melody.to(model.device) if melody is not None else None
    offset = request.shift_offset if request.shift_offset is not None else shift_offset_for_seed(seed)
    return ConditionBuilder(model, request.prompt, melody, request.separate_melody, offset, cancel=cancel)


def _per_take_frames(on_frames: Callable[[int, torch.Tensor], None] | None, first: int):
    """`on_frames(codes [B, K, F])` of the batch as one call per take: `on_frames(first + b, codes [1, K, F])`."""
    if on_frames is None:
        return None
    return lambda codes: [on_frames(first + b, codes[b : b + 1]) for b in range(codes.shape[0])]


def decoded_take(model, codes: torch.Tensor, prompt: str, seed: int, params, extra: dict) -> Take:
    """The take `model` made of codes [1, K, T]: its codec's audio, the tokens and what made them."""
    with torch.inference_mode():
        wav = model.codec.decode(codes)  # [1, C, N]
    return Take(
        prompt=prompt,
        model=model.ref,
        seed=int(seed),
        params=params,
        sample_rate=model.sample_rate,
        wav=wav[0].float().cpu().numpy().copy(),
        codes=codes[0].cpu().numpy().astype(np.int64),
        extra=extra,
    )


def prompt_tokens(model, clip: AudioClip | None, total: int) -> torch.Tensor:
    if clip is None:
        return torch.zeros(1, model.bundle.lm.cfg.n_q, 0, dtype=torch.long, device=model.device)
    with torch.inference_mode():
        tokens = model.codec.encode(to_model_audio(clip, model.sample_rate, model.channels).to(model.device)).clone()
    if tokens.shape[-1] >= total:
        raise InvalidParameterError(
            f"The audio to continue ({clip.duration:.2f} s) is as long as the take; ask for a longer duration."
        )
    return tokens


def validate_request(model, request) -> None:
    can = model.capabilities
    if request.melody is not None and not can.melody:
        raise InvalidParameterError(f"{model.ref} does not take a melody; choose a melody model.")
    if request.continuation is not None and not can.continuation:
        raise InvalidParameterError(f"{can.title} models cannot continue audio; choose MusicGen or AudioGen.")


def take_extra(model, request) -> dict:
    extra = {"family": model.family, "task": model.capabilities.task, "precision": model.precision}
    if request.melody is not None:
        extra["melody"] = request.melody.path
        extra["melody_separation"] = request.separate_melody
    if request.continuation is not None:
        extra["continuation"] = request.continuation.path
    return extra

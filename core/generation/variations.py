"""Variations of one prompt decoded together: B takes share each decoding step's weight reads (2B CFG rows).

Each take keeps its own generator (seeded with its own seed) and, through `core.decoding.autoregressive`,
never depends on the other takes in its batch: its tokens equal the take generated alone at the same
precision. Autoregressive models only, without a melody (a melody's stem separation draws a time shift per
seed, so the takes' conditions differ): those, and MAGNeT's masked decoding, are generated one by one.
Batches are chunks of `BATCH` takes, so the first takes of a long run arrive early.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import torch

from core.cancel import CancelToken, Progress
from core.generation.generate import (
    ConditionBuilder,
    decoded_take,
    generate_ar_codes,
    prompt_tokens,
    take_extra,
    validate_request,
)
from core.takes.take import Take

BATCH = 4


def can_batch(model, request) -> bool:
    """Whether the takes of `request` can be decoded together on `model`."""
    return bool(model.autoregressive) and request.melody is None


def chunks(seeds: list[int], size: int = BATCH) -> Iterator[list[int]]:
    for start in range(0, len(seeds), max(1, size)):
        yield seeds[start : start + size]


def generate_together(
    model,
    request,
    seeds: list[int],
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    on_frames: Callable[[int, torch.Tensor], None] | None = None,
    first: int = 0,
) -> list[Take]:
    """One take per seed of `request` (which must pass `can_batch`), decoded as one batch.

    `on_frames(first + b, codes [1, K, F])` sees take b's codes grow, as for a take made alone."""
    assert can_batch(model, request), "only autoregressive requests without a melody are batched"
    validate_request(model, request)
    started = time.perf_counter()
    params = request.params
    generators = [torch.Generator(device=model.device).manual_seed(int(seed)) for seed in seeds]
    build = ConditionBuilder(model, request.prompt, None, request.separate_melody, 0, cancel=cancel)
    total = int(params.duration * model.frame_rate)
    prompt = prompt_tokens(model, request.continuation, total).expand(len(seeds), -1, -1)  # [B, K, T0]
    grow = None
    if on_frames is not None:
        grow = lambda codes: [on_frames(first + b, codes[b : b + 1]) for b in range(codes.shape[0])]  # noqa: E731
    codes = generate_ar_codes(model, build, prompt, params, generators, progress, cancel, grow)  # [B, K, T]
    extra = take_extra(model, request)
    takes = [
        decoded_take(model, codes[b : b + 1], request.prompt, seed, params, dict(extra)) for b, seed in enumerate(seeds)
    ]
    elapsed = round(time.perf_counter() - started, 3)
    for take in takes:
        take.extra.update(elapsed_s=elapsed, batch_size=len(seeds))
    return takes


def offset_progress(progress: Progress | None, index: int, count: int) -> Callable[[int, int], None] | None:
    """Progress of part `index` of `count` equal parts, reported on the whole."""
    if progress is None:
        return None
    return lambda step, total: progress(index * total + step, count * total)

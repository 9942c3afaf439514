"""Variations of one prompt, the generation entry (`generate_variations`): B takes decoded together share each
decoding step's weight reads (2B CFG rows).

Each take keeps its own generator (seeded with its own seed) and, through `core.decoding.autoregressive`,
never depends on the other takes in its batch: its tokens equal the take generated alone at the same
precision. Autoregressive models only, without a melody (a melody's stem separation draws a time shift per
seed, so the takes' conditions differ): those, and MAGNeT's masked decoding, are generated one by one.
Batches are chunks of `BATCH` takes, so the first takes of a long run arrive early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import torch

from core.cancel import CancelToken, Progress
from core.errors import InvalidParameterError
from core.generation.generate import GenerationRequest, generate_takes
from core.takes.take import Take

BATCH = 4


def can_batch(model, request) -> bool:
    """Whether the takes of `request` can be decoded together on `model`."""
    return bool(model.autoregressive) and request.melody is None


def chunks(seeds: list[int], size: int = BATCH) -> Iterator[list[int]]:
    for start in range(0, len(seeds), max(1, size)):
        yield seeds[start : start + size]


def generate_variations(
    model,
    request: GenerationRequest,
    count: int,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    on_take: Callable[[Take], None] | None = None,
    batch: int | None = None,
    on_frames: Callable[[int, torch.Tensor], None] | None = None,
) -> list[Take]:
    """`count` takes with seeds S, S+1, ...; variation i equals the take generated alone from seed S+i.

    Autoregressive takes are decoded `batch` at a time (default `BATCH`) sharing each step's weight reads (each
    records its `batch_size`); the others one by one. `on_take(take)` runs as soon as each take exists (for a
    batch: when the batch ends), so a caller can write it before the next one starts: a cancel or a crash later
    loses only the unfinished takes. `on_frames(i, codes [1, K, F])` sees variation i's codes grow
    (autoregressive models), for a preview.
    """
    if count < 1:
        raise InvalidParameterError(f"The number of variations must be at least 1, got {count}.")
    batch = BATCH if batch is None else batch
    together = count > 1 and batch > 1 and can_batch(model, request)
    parts = list(chunks([request.seed + i for i in range(count)], batch if together else 1))
    done: list[Take] = []
    for index, part in enumerate(parts):
        step = offset_progress(progress, index, len(parts))
        first = len(done)
        part_request = request if part[0] == request.seed else replace(request, seed=part[0])
        for take in generate_takes(model, part_request, part, step, cancel, on_frames, first):
            if together:
                take.extra["batch_size"] = len(part)
            done.append(take)
            if on_take is not None:
                on_take(take)
    return done


def offset_progress(progress: Progress | None, index: int, count: int) -> Callable[[int, int], None] | None:
    """Progress of part `index` of `count` equal parts, reported on the whole."""
    if progress is None:
        return None
    return lambda step, total: progress(index * total + step, count * total)

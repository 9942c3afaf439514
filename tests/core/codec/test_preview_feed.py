"""The preview thread: chunks of every variation reach the sink from a lower-priority thread, in order, joined
into the final decode; a cancel drops what is queued; a failing decode ends the preview, not the generation."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.codec.preview_feed import PreviewFeed, lower_thread_priority
from core.engine import Engine, GenerationRequest, generate_variations

BOUND = 1e-4


@pytest.fixture(scope="module")
def model(fixtures_dir):
    return Engine().load(fixtures_dir / "musicgen")


def test_variations_stream_from_a_nicer_thread_into_their_final_decodes(model):
    received: dict[int, list[np.ndarray]] = {0: [], 1: []}
    seen: list[tuple[int, bool, int, str]] = []  # variation, last, niceness, thread name

    def sink(variation: int, samples: np.ndarray, rate: int, last: bool) -> None:
        received[variation].append(samples)
        nice = os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else 0
        seen.append((variation, last, nice, threading.current_thread().name))

    feed = PreviewFeed(model.codec, sink)
    request = GenerationRequest("rain", replace(model.default_params, duration=0.8), 5)
    takes = generate_variations(model, request, 2, on_frames=feed)
    for index, take in enumerate(takes):
        feed.finish(index, torch.from_numpy(take.codes)[None])
    feed.close()

    assert {name for *_, name in seen} == {"sounddesk-preview"}
    if sys.platform.startswith("linux"):  # the LM's thread keeps its priority, the preview's is lower
        assert feed.lowered and all(nice > os.getpriority(os.PRIO_PROCESS, 0) for _, _, nice, _ in seen)
    for variation, take in enumerate(takes):
        flags = [last for v, last, *_ in seen if v == variation]
        assert len(flags) >= 3 and flags[-1] and not any(flags[:-1])  # chunks while growing, then the last
        joined = np.concatenate(received[variation], axis=-1)
        assert joined.shape == take.wav.shape
        assert np.abs(joined - take.wav).max() < BOUND


def test_a_failing_sink_stops_only_the_preview(model):
    codes = torch.from_numpy(
        model.generate(GenerationRequest("wind", replace(model.default_params, duration=0.6), 1)).codes
    )[None]
    calls: list[int] = []

    def failing(variation: int, samples: np.ndarray, rate: int, last: bool) -> None:
        calls.append(variation)
        raise RuntimeError("a window that went away")

    feed = PreviewFeed(model.codec, failing, chunk=5)
    for frames in range(1, codes.shape[-1] + 1):
        feed(0, codes[..., :frames])
    feed.finish(0, codes)
    feed.close()  # the first failure ended the preview: no more calls, no exception here
    assert calls == [0]


def test_cancel_drops_what_is_queued(model):
    codes = torch.from_numpy(
        model.generate(GenerationRequest("wind", replace(model.default_params, duration=0.6), 1)).codes
    )[None]
    entered, release, calls = threading.Event(), threading.Event(), []

    def slow(variation: int, samples: np.ndarray, rate: int, last: bool) -> None:
        calls.append(last)
        entered.set()
        release.wait(30)

    feed = PreviewFeed(model.codec, slow, chunk=5)
    for frames in range(1, codes.shape[-1] + 1):  # 6 chunks queued; the first one blocks in the sink
        feed(0, codes[..., :frames])
    feed.finish(0, codes)
    assert entered.wait(60)
    feed.cancel()
    release.set()
    feed.close()
    assert calls == [False]


def test_lowering_the_priority_is_only_ever_for_the_calling_thread():
    before = os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else None
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(lower_thread_priority()))
    thread.start()
    thread.join()
    assert result == [sys.platform.startswith("linux")]
    if before is not None:
        assert os.getpriority(os.PRIO_PROCESS, 0) == before

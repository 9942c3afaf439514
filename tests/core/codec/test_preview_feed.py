"""The preview: chunks of every variation reach the sink between the LM's steps, on the generating thread, in order,
joined into the final decode; after a cancel nothing more is decoded; a failing decode ends the preview, not the
generation."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.codec.preview_feed import PreviewFeed
from core.engine import Engine, GenerationRequest, generate_variations

BOUND = 1e-4


@pytest.fixture(scope="module")
def model(fixtures_dir):
    return Engine().load(fixtures_dir / "musicgen")


def test_variations_stream_between_the_steps_into_their_final_decodes(model):
    received: dict[int, list[np.ndarray]] = {0: [], 1: []}
    seen: list[tuple[int, bool, str]] = []  # variation, last, thread name

    def sink(variation: int, samples: np.ndarray, rate: int, last: bool) -> None:
        received[variation].append(samples)
        seen.append((variation, last, threading.current_thread().name))

    feed = PreviewFeed(model.codec, sink)
    request = GenerationRequest("rain", replace(model.default_params, duration=0.8), 5)
    takes = generate_variations(model, request, 2, on_frames=feed)
    for index, take in enumerate(takes):
        feed.finish(index, torch.from_numpy(take.codes)[None])
    feed.close()

    assert {name for *_, name in seen} == {threading.current_thread().name}  # no thread beside the LM's
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


def test_nothing_is_decoded_after_a_cancel(model):
    codes = torch.from_numpy(
        model.generate(GenerationRequest("wind", replace(model.default_params, duration=0.6), 1)).codes
    )[None]
    calls: list[bool] = []
    feed = PreviewFeed(model.codec, lambda variation, samples, rate, last: calls.append(last), chunk=5)
    for frames in range(1, 6):
        feed(0, codes[..., :frames])
    assert calls == [False]  # the first chunk (5 frames) was heard
    feed.cancel()
    for frames in range(6, codes.shape[-1] + 1):
        feed(0, codes[..., :frames])
    feed.finish(0, codes)
    feed.close()
    assert calls == [False]

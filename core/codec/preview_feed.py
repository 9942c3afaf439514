"""Hearing takes while they generate, off the generation's back: growing codes in, audio chunks out, on a thread
of its own that runs at a lower OS priority than the language model.

`PreviewFeed(codec, sink)` is `on_frames(i, codes)` for `core.engine.generate_variations`. The generating thread
only puts the codes on a queue; a preview thread decodes them with one streaming `ChunkDecoder` per variation,
which waits for a chunk's worth of frames (codes older than what it decoded cost a comparison; after a wait for
the CPU it decodes all the new frames at once), and calls
`sink(variation, samples [C, n], sample_rate, last)`. `finish(i, codes)` queues a variation's last chunk,
`close()` lets the thread decode what is queued and joins it (after `cancel()` it drops it instead).
A failing decode is logged and ends the preview, never the generation.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable

import numpy as np

from core.codec.preview import ChunkDecoder

log = logging.getLogger(__name__)

PreviewSink = Callable[[int, np.ndarray, int, bool], None]
"""`sink(variation, samples [C, n], sample_rate, last)`: one more chunk of variation `variation` (0-based);
`last` marks its final chunk (possibly empty), sent when the take is complete."""

NICENESS = 10
"""How much nicer than the generation the preview thread runs (Linux; raising it never needs privileges)."""


def lower_thread_priority(step: int = NICENESS) -> bool:
    """Make the calling thread `step` nicer than it is, where the OS has per-thread priorities (Linux); else
    leave it. True when it was lowered. Threads it starts later (a torch thread pool) inherit the priority."""
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except OSError as exc:  # a sandbox that forbids it: run at the normal priority
        log.info("the preview keeps its priority: %s", exc)
        return False
    return True


class PreviewFeed:
    """Decodes the growing codes of each variation into chunks for `sink`, on a lower-priority thread."""

    def __init__(self, codec, sink: PreviewSink, **sizes: int) -> None:
        self.codec, self.sink, self.sizes = codec, sink, sizes  # sizes: ChunkDecoder's first / chunk frames
        self.rate, self.lowered = int(codec.sample_rate), False
        self._decoders: dict[int, ChunkDecoder] = {}  # preview thread only
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._drop = threading.Event()
        self._failed = False
        self._thread = threading.Thread(target=self._run, name="sounddesk-preview", daemon=True)
        self._thread.start()

    def __call__(self, variation: int, codes) -> None:  # codes [1, K, F], a tensor nobody writes to afterwards
        self._queue.put((variation, codes, False))

    def finish(self, variation: int, codes) -> None:
        """The variation is complete: its last chunk (codes [1, K, F] of the whole take)."""
        self._queue.put((variation, codes, True))

    def cancel(self) -> None:
        """Drop what is queued and whatever comes (from any thread); the chunk being decoded still arrives."""
        self._drop.set()

    def close(self) -> None:
        """Let the thread decode what is queued (unless cancelled) and end it."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        self.lowered = lower_thread_priority()
        while (item := self._queue.get()) is not None:
            if self._drop.is_set() or self._failed:
                continue
            try:
                self._decode(*item)
            except Exception:  # a preview that fails must not take the generation with it
                log.exception("the preview stopped: decoding a chunk failed")
                self._failed = True

    def _decode(self, variation: int, codes, last: bool) -> None:
        decoder = self._decoders.get(variation)
        if decoder is None:
            decoder = self._decoders[variation] = ChunkDecoder(self.codec, **self.sizes)
        if not last:
            chunk = decoder.feed(codes)
            if chunk is not None:
                self.sink(variation, chunk, self.rate, False)
            return
        del self._decoders[variation]
        chunk = decoder.finish(codes)
        if chunk is None:
            chunk = np.zeros((int(self.codec.channels), 0), np.float32)
        self.sink(variation, chunk, self.rate, True)

"""Hearing takes while they generate: growing codes in, audio chunks out, decoded between the LM's steps.

`PreviewFeed(codec, sink)` is `on_frames(i, codes)` for `core.engine.generate_variations`. One streaming
`ChunkDecoder` per variation waits for a chunk's worth of frames and decodes them on the generating thread,
between two decoding steps, with every thread torch computes with; it calls `sink(variation, samples [C, n],
sample_rate, last)`. `finish(i, codes)` hands out a variation's last chunk; after `cancel()` nothing more is
decoded. A failing decode or sink is logged and ends the preview, never the generation.

Why between the steps and not beside them: the LM's steps keep every core busy in short parallel regions, so a
decoder running beside them, even at a lower OS priority on a thread of its own, stalls each region it shares a
core with. Measured on 2 cores (`benchmarks/bench_preview.py`, musicgen-small size, int8, 5 s): preview beside
the LM +54 % generation time (+20-28 % with the decoder on one thread), between the steps +7-15 % (median
9.7 % of 6 runs; benchmarks/README.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from core.codec.preview import ChunkDecoder

log = logging.getLogger(__name__)

PreviewSink = Callable[[int, np.ndarray, int, bool], None]
"""`sink(variation, samples [C, n], sample_rate, last)`: one more chunk of variation `variation` (0-based);
`last` marks its final chunk (possibly empty), sent when the take is complete."""


class PreviewFeed:
    """Decodes the growing codes of each variation into chunks for `sink`, on the thread that generates them."""

    def __init__(self, codec, sink: PreviewSink, **sizes: int) -> None:
        self.codec, self.sink, self.sizes = codec, sink, sizes  # sizes: ChunkDecoder's first / chunk frames
        self.rate = int(codec.sample_rate)
        self._decoders: dict[int, ChunkDecoder] = {}
        self._stopped = False  # cancelled, or a decode failed

    def __call__(self, variation: int, codes) -> None:  # codes [1, K, F], a tensor nobody writes to afterwards
        self._guarded(variation, codes, False)

    def finish(self, variation: int, codes) -> None:
        """The variation is complete: its last chunk (codes [1, K, F] of the whole take)."""
        self._guarded(variation, codes, True)

    def cancel(self) -> None:
        """Decode nothing more."""
        self._stopped = True

    def close(self) -> None:
        """The generation is over: the decoders' state goes."""
        self._decoders.clear()

    def _guarded(self, variation: int, codes, last: bool) -> None:
        if self._stopped:
            return
        try:
            self._decode(variation, codes, last)
        except Exception:  # a preview that fails must not take the generation with it
            log.exception("the preview stopped: decoding a chunk failed")
            self._stopped = True

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

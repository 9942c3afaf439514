"""The worker's side of hearing a take while it is generated: growing codes in, decoded audio chunks out.

`PreviewFeed` is core's `on_frames(i, codes)` for `generate_variations`: it decodes with a ChunkDecoder per
variation (core.codec.preview) and hands each chunk to `sink(variation, samples [C, n], sample_rate)`, from
the worker thread; the GUI side (desktop.takes.preview) receives them through a queued signal.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.codec.preview import ChunkDecoder

PreviewSink = Callable[[int, np.ndarray, int, bool], None]
"""`sink(variation, samples [C, n], sample_rate, last)`: one more chunk of variation `variation` (0-based);
`last` marks its final chunk (possibly empty), sent when the take is complete."""


class PreviewFeed:
    """Decodes the growing codes of each variation into chunks for `sink` (runs on the worker thread)."""

    def __init__(self, codec, sink: PreviewSink) -> None:
        self.codec, self.sink = codec, sink
        self._decoders: dict[int, ChunkDecoder] = {}

    def __call__(self, variation: int, codes) -> None:  # codes [1, K, F]
        decoder = self._decoders.setdefault(variation, ChunkDecoder(self.codec))
        chunk = decoder.feed(codes)
        if chunk is not None:
            self.sink(variation, chunk, int(self.codec.sample_rate), False)

    def finish(self, variation: int, codes) -> None:
        """The variation is complete: its last chunk (codes [1, K, F] of the whole take)."""
        decoder = self._decoders.pop(variation, None)
        if decoder is None:
            return
        chunk = decoder.finish(codes)
        if chunk is None:
            chunk = np.zeros((int(self.codec.channels), 0), np.float32)
        self.sink(variation, chunk, int(self.codec.sample_rate), True)

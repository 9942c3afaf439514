"""Decoding a take's codes while they grow: audio in chunks whose joins match the decode of the whole take.

`ChunkDecoder` hands out the first chunk once `first` frames exist (soon: the user hears something), then one
each `chunk` new frames (few enough that redrawing the growing waveform stays cheap). It decodes them with a
`StreamingDecoder` (core.codec.streaming), which keeps each layer's left context, so a chunk costs only its own
frames and the joined chunks are the whole decode up to float rounding. A codec that cannot be streamed falls
back to decoding each chunk again with `context` frames on its left and `lookahead` frames held back on its right
(the decoder's LSTM and convolutions then settle within the context). `max_preview_error` measures the largest
sample difference between the joined chunks and one decode.
"""

from __future__ import annotations

import numpy as np
import torch

from core.codec.streaming import NotStreamable, StreamingDecoder

FIRST_CHUNK_FRAMES = 10
"""Frames of the first preview chunk (a fifth of a second at 50 Hz): streaming makes a small chunk cheap."""

CHUNK_FRAMES = 25
"""New frames per later preview chunk (half a second at 50 Hz)."""

CONTEXT_FRAMES = 25
"""Without streaming: frames decoded again on the left of each chunk so the decoder state has settled."""

LOOKAHEAD_FRAMES = 5
"""Without streaming: frames held back on the right until the next ones exist (the convolutions look ahead)."""


class ChunkDecoder:
    """Turns the growing codes [1, K, F] of one take into audio chunks [C, n] that join without seams."""

    def __init__(
        self,
        codec,
        chunk: int = CHUNK_FRAMES,
        context: int = CONTEXT_FRAMES,
        lookahead: int = LOOKAHEAD_FRAMES,
        streaming: bool = True,
        first: int = FIRST_CHUNK_FRAMES,
    ) -> None:
        self.codec, self.chunk, self.context, self.lookahead = codec, chunk, context, lookahead
        self.first = min(first, chunk)
        self.hop = int(round(codec.sample_rate / codec.frame_rate))
        self.done = 0  # frames decoded (streaming) or whose audio has been handed out (re-decoding)
        self.stream = _streaming(codec) if streaming else None

    def feed(self, codes: torch.Tensor) -> np.ndarray | None:
        """The next chunk [C, n] once `first` / `chunk` new frames are here (and, re-decoding, have their
        look-ahead)."""
        ready = codes.shape[-1] - (0 if self.stream is not None else self.lookahead)
        if ready - self.done < (self.first if self.done == 0 else self.chunk):
            return None
        if self.stream is not None:
            return self._stream(codes, last=False)
        return self._decode(codes, ready)

    def finish(self, codes: torch.Tensor) -> np.ndarray | None:
        """Everything not handed out yet (the take is complete: nothing more to wait for)."""
        if self.stream is not None:
            return self._stream(codes, last=True)
        return self._decode(codes, codes.shape[-1]) if codes.shape[-1] > self.done else None

    def _stream(self, codes: torch.Tensor, last: bool) -> np.ndarray:
        wav = self.stream.step(codes[..., self.done :])  # [1, C, m]
        self.done = codes.shape[-1]
        if last:
            wav = torch.cat([wav, self.stream.flush()], dim=-1)
        return _samples(wav)

    @torch.inference_mode()
    def _decode(self, codes: torch.Tensor, end: int) -> np.ndarray:
        start = max(0, self.done - self.context)
        stop = min(codes.shape[-1], end + self.lookahead)
        wav = self.codec.decode(codes[..., start:stop])  # [1, C, (stop - start) * hop]
        first, last = (self.done - start) * self.hop, (end - start) * self.hop
        self.done = end
        return _samples(wav[..., first:last])


def _streaming(codec) -> StreamingDecoder | None:
    try:
        return StreamingDecoder(codec)
    except NotStreamable:
        return None


def _samples(wav: torch.Tensor) -> np.ndarray:  # [1, C, n] -> [C, n] float32
    return wav[0].float().cpu().numpy().copy()


def preview_chunks(codec, codes: torch.Tensor, step: int = 1, **sizes) -> list[np.ndarray]:
    """The chunks a preview hands out when `codes` [1, K, F] grow `step` frames at a time."""
    decoder = ChunkDecoder(codec, **sizes)
    chunks = []
    for frames in range(step, codes.shape[-1] + 1, step):
        chunk = decoder.feed(codes[..., :frames])
        if chunk is not None:
            chunks.append(chunk)
    tail = decoder.finish(codes)
    return chunks + ([tail] if tail is not None else [])


def max_preview_error(codec, codes: torch.Tensor, **sizes) -> float:
    """Largest |joined chunks - decode of all codes| over the take's samples."""
    joined = np.concatenate(preview_chunks(codec, codes, **sizes), axis=-1)  # [C, N]
    with torch.inference_mode():
        whole = codec.decode(codes)[0].float().cpu().numpy()  # [C, N]
    return float(np.abs(joined - whole).max())

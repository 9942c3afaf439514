"""Decoding a take's codes while they grow: audio in chunks whose joins match the decode of the whole take.

EnCodec's decoder is convolutional (plus an LSTM), so the audio of frame t depends on a few frames on each side.
`ChunkDecoder` decodes each new chunk together with `context` frames to its left and holds back `lookahead`
frames on its right until they too have neighbours; the audio of the context frames is decoded again and
dropped. `max_preview_error` measures the largest sample difference between the joined chunks and one decode.
"""

from __future__ import annotations

import numpy as np
import torch

CHUNK_FRAMES = 25
"""New frames per preview chunk (half a second at 50 Hz)."""

CONTEXT_FRAMES = 25
"""Frames decoded again on the left of each chunk so the decoder state (LSTM, convolutions) has settled."""

LOOKAHEAD_FRAMES = 5
"""Frames held back on the right until the next ones exist (the decoder's convolutions look ahead)."""


class ChunkDecoder:
    """Turns the growing codes [1, K, F] of one take into audio chunks [C, n] that join without seams."""

    def __init__(
        self,
        codec,
        chunk: int = CHUNK_FRAMES,
        context: int = CONTEXT_FRAMES,
        lookahead: int = LOOKAHEAD_FRAMES,
    ) -> None:
        self.codec, self.chunk, self.context, self.lookahead = codec, chunk, context, lookahead
        self.hop = int(round(codec.sample_rate / codec.frame_rate))
        self.done = 0  # frames whose audio has been handed out

    def feed(self, codes: torch.Tensor) -> np.ndarray | None:
        """The next chunk [C, n] once `chunk` new frames have their look-ahead, else None."""
        ready = codes.shape[-1] - self.lookahead
        if ready - self.done < self.chunk:
            return None
        return self._decode(codes, ready)

    def finish(self, codes: torch.Tensor) -> np.ndarray | None:
        """Everything not handed out yet (the take is complete: nothing more to wait for)."""
        return self._decode(codes, codes.shape[-1]) if codes.shape[-1] > self.done else None

    @torch.inference_mode()
    def _decode(self, codes: torch.Tensor, end: int) -> np.ndarray:
        start = max(0, self.done - self.context)
        stop = min(codes.shape[-1], end + self.lookahead)
        wav = self.codec.decode(codes[..., start:stop])  # [1, C, (stop - start) * hop]
        first, last = (self.done - start) * self.hop, (end - start) * self.hop
        self.done = end
        return wav[0, :, first:last].float().cpu().numpy().copy()  # [C, (end - done) * hop]


def preview_chunks(codec, codes: torch.Tensor, step: int = 1, **sizes: int) -> list[np.ndarray]:
    """The chunks a preview hands out when `codes` [1, K, F] grow `step` frames at a time."""
    decoder = ChunkDecoder(codec, **sizes)
    chunks = []
    for frames in range(step, codes.shape[-1] + 1, step):
        chunk = decoder.feed(codes[..., :frames])
        if chunk is not None:
            chunks.append(chunk)
    tail = decoder.finish(codes)
    return chunks + ([tail] if tail is not None else [])


def max_preview_error(codec, codes: torch.Tensor, **sizes: int) -> float:
    """Largest |joined chunks - decode of all codes| over the take's samples."""
    joined = np.concatenate(preview_chunks(codec, codes, **sizes), axis=-1)  # [C, N]
    with torch.inference_mode():
        whole = codec.decode(codes)[0].float().cpu().numpy()  # [C, N]
    return float(np.abs(joined - whole).max())

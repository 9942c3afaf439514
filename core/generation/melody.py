"""The melody condition of MusicGen-melody: a user's clip -> drums and bass removed -> CFG batch chroma.

This is audiocraft's `ChromaStemConditioner` at evaluation (`match_len_on_eval=True`), before its trained
`output_proj` (core.nn.conditioning applies that): the melody is stemmed with HTDemucs (vocals + other), its
chroma is tiled or cut to the training length, and the null rows of classifier-free guidance get the chroma
of a zero waveform. Stemming a batch together with zero null rows, as audiocraft does, gives the same
stems for the real rows (HTDemucs normalises each row), so the null rows are computed directly.
"""

from __future__ import annotations

import torch

from core.cancel import CancelToken, Progress
from core.nn.chroma import ChromaExtractor, cfg_chroma
from core.separation.htdemucs import Separator, remove_drums_and_bass


def melody_cfg_chroma(
    extractor: ChromaExtractor,
    chroma_len: int,
    melody: torch.Tensor | None,
    separator: Separator | None,
    shift_offset: int | None,
    batch: int = 1,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """Chroma [2B, chroma_len, n_chroma] for the CFG batch [melody rows; null rows].

    `melody` [B, 1, T] at `extractor.sample_rate` (None: text only, `batch` rows); `separator` None skips the
    stemming (audiocraft's fixtures with an identity separator); `shift_offset` is demucs' time shift.
    """
    if melody is None:
        return cfg_chroma(extractor, None, chroma_len, batch)
    if separator is not None:
        melody = remove_drums_and_bass(
            separator, melody, shift_offset, extractor.sample_rate, progress, cancel
        )  # [B, 1, T]
    return cfg_chroma(extractor, extractor(melody), chroma_len)

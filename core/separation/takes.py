"""Splitting a music take into drums, bass, other and vocals with demucs' htdemucs, each stem a take."""

from __future__ import annotations

import dataclasses

import torch

from core.cancel import CancelToken, Progress
from core.separation.htdemucs import Separator, load_separator, separate, shift_offset_for_seed
from core.takes.audio_io import convert_channels
from core.takes.take import Take


def separate_take(
    take: Take, separator: Separator | None = None, progress: Progress | None = None, cancel: CancelToken | None = None
) -> list[Take]:
    """One take per source, in the separator's order, at the take's rate, channels and length.

    The demucs time shift is drawn from the take's seed, so separating a take twice gives the same stems.
    """
    separator = separator or load_separator(progress=progress, cancel=cancel)
    wav = torch.from_numpy(take.wav)[None]  # [1, C, N]
    with torch.inference_mode():
        stems = separate(separator, wav, take.sample_rate, shift_offset_for_seed(take.seed), progress, cancel)
    return [_stem_take(take, name, stem[0].numpy()) for name, stem in stems.items()]


def _stem_take(take: Take, name: str, wav) -> Take:
    wav = convert_channels(wav, take.channels)  # demucs is stereo: a mono take gets its mono stem back
    wav = wav[:, : take.wav.shape[-1]].astype("float32", copy=True)
    extra = {**take.extra, "stem": name, "stem_of": take.prompt}
    return dataclasses.replace(take, prompt=f"{take.prompt} ({name})", wav=wav, extra=extra)

"""Audio files in: read a user's file into an AudioClip and conform it to a model's rate and channels.

Every problem a user can cause (a missing, damaged, empty, silent or non-finite file, an extension we do not
read) raises `AudioFileError` with one sentence naming the file. A file longer than `max_seconds` is not an
error: it is cut, and the clip's `notice` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import soundfile as sf
import soxr

from core.errors import AudioFileError

if TYPE_CHECKING:
    import torch

Samples = TypeVar("Samples", np.ndarray, "torch.Tensor")

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".wav", ".aif", ".aiff", ".flac", ".ogg", ".mp3")

SILENCE_PEAK = 1e-7
"""A clip whose absolute peak stays below this (about -140 dBFS) holds no usable audio."""

RESAMPLE_QUALITY = "VHQ"


@dataclass(frozen=True, eq=False)
class AudioClip:
    """Decoded audio: `samples` [C, N] float32 at `sample_rate`; `notice` tells the user what was changed."""

    samples: np.ndarray  # [C, N] float32
    sample_rate: int
    path: str | None = None
    notice: str | None = None

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_frames / self.sample_rate


def load_audio(path: str | Path, max_seconds: float | None = None) -> AudioClip:
    """Read `path` as float32 [C, N]; keep at most `max_seconds` (setting `notice` when the file was cut)."""
    path = Path(path)
    _check_path(path)
    data, sample_rate = _read(path, max_seconds)  # [N, C], at most one frame past max_seconds
    samples = np.ascontiguousarray(data.T, dtype=np.float32)  # [C, N]
    return shorten(AudioClip(samples=samples, sample_rate=sample_rate, path=str(path)), max_seconds)


def shorten(clip: AudioClip, max_seconds: float | None) -> AudioClip:
    """`clip` cut to at most `max_seconds` (its `notice` then says so), checked to hold usable samples."""
    name = Path(clip.path).name if clip.path else "The audio"
    samples, notice = clip.samples, clip.notice
    limit = _frame_limit(max_seconds, clip.sample_rate)
    if limit is not None and samples.shape[1] > limit:
        samples = np.ascontiguousarray(samples[:, :limit])
        notice = f"{name} was cut to {max_seconds:.1f} s (the model uses at most {max_seconds:.1f} s of audio)."
    _check_samples(name, samples)
    return AudioClip(samples=samples, sample_rate=clip.sample_rate, path=clip.path, notice=notice)


def conform(clip: AudioClip, sample_rate: int, channels: int) -> np.ndarray:
    """Return `clip` as float32 [channels, N'] at `sample_rate` (channel rules of audiocraft, soxr VHQ)."""
    samples = convert_channels(clip.samples, channels, clip.path)  # [channels, N]
    if clip.sample_rate != sample_rate:
        # soxr wants [N, C]; its output length is round(N * sample_rate / clip.sample_rate).
        samples = soxr.resample(samples.T, clip.sample_rate, sample_rate, quality=RESAMPLE_QUALITY).T
    return np.ascontiguousarray(samples, dtype=np.float32)


def _check_path(path: Path) -> None:
    if not path.exists():
        raise AudioFileError(f"The audio file {path} does not exist.")
    if path.is_dir():
        raise AudioFileError(f"{path} is a folder, not an audio file.")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        names = ", ".join(SUPPORTED_EXTENSIONS)
        raise AudioFileError(f"{path.name} is not a supported audio file (supported: {names}).")


def _frame_limit(max_seconds: float | None, sample_rate: int) -> int | None:
    return None if max_seconds is None else max(1, int(round(max_seconds * sample_rate)))


def _read(path: Path, max_seconds: float | None) -> tuple[np.ndarray, int]:
    """Frames [N, C] float32 and the rate (one frame past `max_seconds` is read, to see that there is more)."""
    try:
        with sf.SoundFile(str(path)) as audio:
            sample_rate = int(audio.samplerate)
            limit = _frame_limit(max_seconds, sample_rate)
            data = audio.read(-1 if limit is None else limit + 1, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioFileError(_unreadable(path)) from exc
    return data, sample_rate


def _unreadable(path: Path) -> str:
    if path.stat().st_size == 0:
        return f"{path.name} is an empty file (0 bytes)."
    # libsndfile's own wording is often misleading ("File does not exist" for a text file named .mp3).
    return f"{path.name} could not be read as audio: it is damaged or is not really a {path.suffix} file."


def _check_samples(name: str, samples: np.ndarray) -> None:
    if samples.size == 0:
        raise AudioFileError(f"{name} contains no audio samples.")
    if not np.isfinite(samples).all():
        raise AudioFileError(f"{name} contains invalid samples (NaN or infinity).")
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise AudioFileError(f"{name} is silent: it holds no audible samples.")


def convert_channels(wav: Samples, channels: int | None, source: str | None = None) -> Samples:
    """audiocraft's and demucs' `convert_audio` channel rule on [..., C, N] samples, numpy or torch alike.

    None or the same count -> as is; to mono -> the mean; mono -> duplicated; more -> fewer: the first `channels`.
    Anything else (2 -> 3) raises `AudioFileError` naming `source` (a file path) when there is one.
    """
    have = wav.shape[-2]
    if channels is None or have == channels:
        return wav
    if channels == 1:
        return wav.mean(axis=-2, keepdims=True)  # numpy and torch both take axis / keepdims
    if have == 1:
        return wav[..., [0] * channels, :]  # a copy, contiguous in both
    if have > channels:
        return wav[..., :channels, :]
    name = Path(source).name if source else "The audio"
    raise AudioFileError(f"{name} has {have} channels and cannot be turned into {channels} channels.")

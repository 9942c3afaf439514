"""What an export produces: the table of file formats and ExportSettings, which holds the defaults."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidParameterError
from core.takes.naming import DEFAULT_PATTERN, UcsFields, validate_pattern


@dataclass(frozen=True)
class AudioFormat:
    """One entry of the format menu: container, libsndfile subtype, PCM word length (None: float/lossy)."""

    key: str
    label: str
    container: str  # soundfile format: "WAV" | "FLAC" | "OGG"
    subtype: str
    extension: str
    bits: int | None  # PCM bits; None for float or lossy
    lossy: bool = False


FORMATS: dict[str, AudioFormat] = {
    f.key: f
    for f in (
        AudioFormat("wav16", "WAV 16-bit PCM", "WAV", "PCM_16", ".wav", 16),
        AudioFormat("wav24", "WAV 24-bit PCM", "WAV", "PCM_24", ".wav", 24),
        AudioFormat("wav32f", "WAV 32-bit float", "WAV", "FLOAT", ".wav", None),
        AudioFormat("flac16", "FLAC 16-bit", "FLAC", "PCM_16", ".flac", 16),
        AudioFormat("flac24", "FLAC 24-bit", "FLAC", "PCM_24", ".flac", 24),
        AudioFormat("ogg", "OGG Vorbis", "OGG", "VORBIS", ".ogg", None, lossy=True),
    )
}
SAMPLE_RATES = (44100, 48000, 96000)  # or None: as generated
LEVEL_MODES = ("none", "peak", "loudness", "audiocraft")
DEFAULT_TARGETS = {"peak": -1.0, "loudness": -14.0, "audiocraft": -14.0}  # dBFS, LUFS, LUFS
IF_EXISTS = ("suffix", "error", "overwrite")


@dataclass(frozen=True)
class ExportSettings:
    """How takes are written for a DAW. The defaults are the app's export defaults (WAV 24-bit, 48 kHz).

    `level`: "none"; "peak" normalises the sample peak to `target` dBFS; "loudness" normalises the
    integrated loudness (ITU-R BS.1770, pyloudnorm) to `target` LUFS; "audiocraft" reproduces audiocraft's
    `audio_write(strategy='loudness', loudness_compressor=True)` with target = -loudness_headroom_db.
    `trim_silence`: threshold in dBFS below which leading and trailing samples are cut (None: keep).
    `if_exists`: "suffix" adds -2, -3 ... to the name (default), "error" refuses, "overwrite" replaces.
    """

    format: str = "wav24"
    sample_rate: int | None = 48000  # None: the take's own rate
    channels: int | None = None  # None: as generated; 1 averages stereo, 2 duplicates mono
    level: str = "none"
    target: float | None = None  # None: DEFAULT_TARGETS[level]
    fade_in: float = 0.0  # seconds
    fade_out: float = 0.0
    trim_silence: float | None = None
    naming: str = DEFAULT_PATTERN
    ucs: UcsFields | None = None
    if_exists: str = "suffix"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise InvalidParameterError(f"Unknown export format {self.format!r}; use one of {', '.join(FORMATS)}.")
        if self.sample_rate is not None and self.sample_rate not in SAMPLE_RATES:
            rates = ", ".join(str(r) for r in SAMPLE_RATES)
            raise InvalidParameterError(f"Export sample rate must be {rates} or as generated, got {self.sample_rate}.")
        if self.channels not in (None, 1, 2):
            raise InvalidParameterError(f"Export channels must be 1 (mono) or 2 (stereo), got {self.channels}.")
        if self.level not in LEVEL_MODES:
            raise InvalidParameterError(f"Level mode must be one of {', '.join(LEVEL_MODES)}, got {self.level!r}.")
        if self.target is not None and not (math.isfinite(self.target) and -70.0 <= self.target <= 0.0):
            raise InvalidParameterError(f"The level target must lie between -70 and 0 dB, got {self.target}.")
        for name in ("fade_in", "fade_out"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise InvalidParameterError(f"Fade lengths are seconds of 0 or more, got {value}.")
        if self.trim_silence is not None and not -120.0 <= self.trim_silence < 0.0:
            raise InvalidParameterError(
                f"The trim threshold must lie between -120 and 0 dBFS, got {self.trim_silence}."
            )
        if self.if_exists not in IF_EXISTS:
            raise InvalidParameterError(f"if_exists must be one of {', '.join(IF_EXISTS)}, got {self.if_exists!r}.")
        validate_pattern(self.naming)

    @property
    def audio_format(self) -> AudioFormat:
        return FORMATS[self.format]

    @property
    def level_target(self) -> float | None:
        """The target in dBFS / LUFS for the chosen level mode (None when the mode is "none")."""
        if self.level == "none":
            return None
        return DEFAULT_TARGETS[self.level] if self.target is None else self.target

    def replace(self, **changes: Any) -> ExportSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if isinstance(kwargs.get("ucs"), dict):
            kwargs["ucs"] = UcsFields(**kwargs["ucs"])
        return cls(**kwargs)

"""The catalog of Meta's released audiocraft models: a dict of ids to frozen specs, plus one lookup."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.params import GenerationParams

LICENCE = "CC-BY-NC-4.0"

# Sampling defaults are audiocraft's `set_generation_params` keyword defaults; durations are what its
# MusicGen / AudioGen constructors set when a model is loaded (15 s and 5 s).
MUSICGEN_DEFAULTS = GenerationParams(
    duration=15.0, top_k=250, top_p=0.0, temperature=1.0, cfg_coef=3.0, extend_stride=18.0
)
AUDIOGEN_DEFAULTS = GenerationParams(
    duration=5.0, top_k=250, top_p=0.0, temperature=1.0, cfg_coef=3.0, extend_stride=2.0
)
MAGNET_DEFAULTS = GenerationParams(duration=10.0, top_k=0, top_p=0.9, temperature=3.0).replace(
    max_cfg_coef=10.0, min_cfg_coef=1.0, decoding_steps=(20, 10, 10, 10), span_arrangement="nonoverlap"
)


@dataclass(frozen=True)
class ModelSpec:
    """What a user needs to know about a released model before downloading it."""

    id: str
    family: str  # "musicgen" | "audiogen" | "magnet"
    task: str  # "music" | "sound"
    size: str  # "small" | "medium" | "large"
    sample_rate: int
    channels: int
    parameters: int  # LM parameter count, from the model card
    max_duration: float  # seconds one window of the model covers
    melody: bool = False
    licence: str = LICENCE
    defaults: GenerationParams = field(default_factory=GenerationParams)

    @property
    def autoregressive(self) -> bool:
        return self.family != "magnet"

    @property
    def label(self) -> str:
        count = f"{self.parameters / 1e9:.1f}B" if self.parameters >= 1e9 else f"{self.parameters // 10**6}M"
        return f"{self.id.split('/')[-1]} ({self.task}, {count}, {self.sample_rate // 1000} kHz)"


def _musicgen(name: str, size: str, params: int, channels: int = 1, melody: bool = False) -> ModelSpec:
    return ModelSpec(
        f"facebook/{name}",
        "musicgen",
        "music",
        size,
        32000,
        channels,
        params,
        30.0,
        melody=melody,
        defaults=MUSICGEN_DEFAULTS,
    )


def _magnet(name: str, task: str, size: str, params: int, seconds: float) -> ModelSpec:
    rate = 32000 if task == "music" else 16000
    return ModelSpec(
        f"facebook/{name}",
        "magnet",
        task,
        size,
        rate,
        1,
        params,
        seconds,
        defaults=MAGNET_DEFAULTS.replace(duration=seconds),
    )


_SPECS = [
    _musicgen("musicgen-small", "small", 300_000_000),
    _musicgen("musicgen-medium", "medium", 1_500_000_000),
    _musicgen("musicgen-large", "large", 3_300_000_000),
    _musicgen("musicgen-melody", "medium", 1_500_000_000, melody=True),
    _musicgen("musicgen-stereo-small", "small", 300_000_000, channels=2),
    _musicgen("musicgen-stereo-medium", "medium", 1_500_000_000, channels=2),
    _musicgen("musicgen-stereo-large", "large", 3_300_000_000, channels=2),
    _musicgen("musicgen-stereo-melody", "medium", 1_500_000_000, channels=2, melody=True),
    ModelSpec(
        "facebook/audiogen-medium",
        "audiogen",
        "sound",
        "medium",
        16000,
        1,
        1_500_000_000,
        10.0,
        defaults=AUDIOGEN_DEFAULTS,
    ),
    _magnet("magnet-small-10secs", "music", "small", 300_000_000, 10.0),
    _magnet("magnet-medium-10secs", "music", "medium", 1_500_000_000, 10.0),
    _magnet("magnet-small-30secs", "music", "small", 300_000_000, 30.0),
    _magnet("magnet-medium-30secs", "music", "medium", 1_500_000_000, 30.0),
    _magnet("audio-magnet-small", "sound", "small", 300_000_000, 10.0),
    _magnet("audio-magnet-medium", "sound", "medium", 1_500_000_000, 10.0),
]

CATALOG: dict[str, ModelSpec] = {spec.id: spec for spec in _SPECS}

"""What a model can do, decided once: one frozen record per model, read from its checkpoint's xp.cfg.

Every caller (engine, generation, explain, CLI, model picker, parameter panel, explain panel) asks this record
instead of re-deriving rules. A model not on disk yet gets the same record from its catalog entry
(`Capabilities.from_spec`); once loaded, `Capabilities.from_config` reads the release's own config.

Adding a model family: one entry in `FAMILIES` (its name, task, decoding and defaults), a decoding module in
`core/decoding/`, and catalog entries for its released checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import CheckpointError
from core.models.catalog import AUDIOGEN_DEFAULTS, MAGNET_DEFAULTS, MUSICGEN_DEFAULTS, ModelSpec
from core.params import GenerationParams

if TYPE_CHECKING:  # the window reads catalog records without importing torch (checkpoint.py needs it)
    from omegaconf import DictConfig


@dataclass(frozen=True)
class Family:
    """Facts shared by every model of one family."""

    name: str  # "musicgen" | "audiogen" | "magnet"
    title: str  # how the window names it
    masked: bool  # MAGNeT's non-autoregressive decoding
    defaults: GenerationParams
    longest_take: float | None = None  # seconds, window by window; None: one window (masked decoding)


FAMILIES: dict[str, Family] = {
    "musicgen": Family("musicgen", "MusicGen", False, MUSICGEN_DEFAULTS, longest_take=600.0),
    "audiogen": Family("audiogen", "AudioGen", False, AUDIOGEN_DEFAULTS, longest_take=300.0),
    "magnet": Family("magnet", "MAGNeT", True, MAGNET_DEFAULTS),
}
LONGEST_TAKE = max(family.longest_take or 0.0 for family in FAMILIES.values())
"""The longest take any model makes (seconds): what a duration control offers before a model is chosen."""

# audiocraft's `solver` in xp.cfg names what a checkpoint was trained as: (family, task).
_SOLVERS = {
    "musicgen": ("musicgen", "music"),
    "audiogen": ("audiogen", "sound"),
    "magnet": ("magnet", "music"),
    "audio_magnet": ("magnet", "sound"),
}


@dataclass(frozen=True)
class Capabilities:
    """One model's abilities and defaults; `why_not_*` give the sentence a user sees when one is missing."""

    family: str
    task: str  # "music" | "sound"
    sample_rate: int
    channels: int
    max_duration: float  # seconds one window covers
    melody: bool  # conditioned on a chromagram of a tune
    defaults: GenerationParams

    @property
    def title(self) -> str:
        return FAMILIES[self.family].title

    @property
    def masked(self) -> bool:
        return FAMILIES[self.family].masked

    @property
    def autoregressive(self) -> bool:
        return not self.masked

    @property
    def text(self) -> bool:
        return True  # every released family is conditioned on T5 text

    @property
    def continuation(self) -> bool:
        """Continuing a recording and takes longer than one window need autoregressive decoding."""
        return self.autoregressive

    @property
    def longest_take(self) -> float:
        """The longest take SoundDesk makes with this model: window by window, or its one window (MAGNeT)."""
        return FAMILIES[self.family].longest_take or self.max_duration

    @property
    def explainable(self) -> bool:
        return self.why_not_explainable() is None

    @property
    def separable(self) -> bool:
        return self.task == "music"

    def why_not_explainable(self) -> str | None:
        if self.masked:
            return (
                "MAGNeT takes cannot be explained: AudioGenX follows the decoding steps of an autoregressive "
                "model (MusicGen, AudioGen)."
            )
        if self.melody:
            return (
                "Melody takes cannot be explained: melody models put the text in front of the audio instead of "
                "attending to it, and AudioGenX works on that attention."
            )
        return None

    def why_not_separable(self) -> str | None:
        if self.separable:
            return None
        return "Sound-effect takes have no drums, bass and vocals to split: separation works on music takes."

    @classmethod
    def from_config(cls, cfg: DictConfig, melody: bool, source: str = "state_dict.bin") -> Capabilities:
        """Read from a release's xp.cfg; `melody` is whether it declares a chroma conditioner."""
        from core.models.checkpoint import cfg_get

        solver = cfg_get(cfg, "solver", None)
        if solver not in _SOLVERS:
            known = ", ".join(sorted(_SOLVERS))
            raise CheckpointError(f"{source}: solver {solver!r} is not a model family SoundDesk runs ({known}).")
        family, task = _SOLVERS[solver]
        masked_lm = cfg_get(cfg, "lm_model", "transformer_lm") == "transformer_lm_magnet"
        if masked_lm != FAMILIES[family].masked:
            raise CheckpointError(f"{source}: a {solver} checkpoint with a {cfg_get(cfg, 'lm_model')} LM.")
        window = float(cfg_get(cfg, "dataset.segment_duration"))
        cfg_coef = float(cfg_get(cfg, "classifier_free_guidance.inference_coef", 3.0))
        defaults = _defaults(FAMILIES[family], window, cfg_coef)
        rate, channels = int(cfg_get(cfg, "sample_rate")), int(cfg_get(cfg, "channels", 1))
        return cls(family, task, rate, channels, window, melody, defaults)

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> Capabilities:
        """The catalog's promise for a model not downloaded yet (the same record its checkpoint gives)."""
        return cls(
            spec.family, spec.task, spec.sample_rate, spec.channels, spec.max_duration, spec.melody, spec.defaults
        )


def _defaults(family: Family, window: float, cfg_coef: float) -> GenerationParams:
    """audiocraft's defaults for a freshly loaded model: MAGNeT fills its window; others cap theirs to it."""
    if family.masked:
        return family.defaults.replace(duration=window)
    return family.defaults.replace(cfg_coef=cfg_coef, duration=min(family.defaults.duration, window))

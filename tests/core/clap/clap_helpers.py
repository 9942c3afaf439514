"""CLAP test helpers: the tiny fixture CLAPs loaded straight from transformers, and synthetic takes."""

from __future__ import annotations

import numpy as np
import soxr
import torch
import torch.nn.functional as F

from core.params import GenerationParams
from core.takes.take import Take

MUSIC = "laion/larger_clap_music"
GENERAL = "laion/larger_clap_general"


class Reference:
    """CLAP computed directly with transformers' ClapModel / ClapProcessor (not through core.clap)."""

    def __init__(self, name: str) -> None:
        from transformers import ClapModel, ClapProcessor

        self.model = ClapModel.from_pretrained(name, local_files_only=True).eval()
        self.processor = ClapProcessor.from_pretrained(name, local_files_only=True)

    @torch.no_grad()
    def text(self, prompt: str) -> torch.Tensor:
        inputs = self.processor(text=[prompt], return_tensors="pt", padding=True)
        out = self.model.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        return F.normalize(out.pooler_output, dim=-1)[0]

    @torch.no_grad()
    def audio(self, mono48k: np.ndarray) -> torch.Tensor:
        inputs = self.processor(audio=[mono48k], sampling_rate=48000, return_tensors="pt")
        out = self.model.get_audio_features(input_features=inputs["input_features"], is_longer=inputs["is_longer"])
        return F.normalize(out.pooler_output, dim=-1)[0]

    def cosine(self, prompt: str, wav: np.ndarray, rate: int) -> float:
        """wav [N, C] as soundfile reads it -> cosine of prompt and (one window of) audio."""
        mono = wav.mean(axis=1).astype(np.float32)
        mono48 = soxr.resample(mono, rate, 48000, quality="VHQ").astype(np.float32)
        return float(self.text(prompt) @ self.audio(mono48))


def make_take(wav: np.ndarray, rate: int = 16000, prompt: str = "dog barking", model: str = "facebook/audiogen-medium"):
    """A take with given audio [C, N] (codes are a placeholder: CLAP reads only the audio)."""
    return Take(
        prompt=prompt,
        model=model,
        seed=0,
        params=GenerationParams(duration=wav.shape[-1] / rate),
        sample_rate=rate,
        wav=np.asarray(wav, dtype=np.float32),
        codes=np.zeros((4, 1), dtype=np.int64),
    )


def noise(seconds: float, rate: int = 16000, seed: int = 0, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal((channels, int(seconds * rate)))).astype(np.float32)  # [C, N]

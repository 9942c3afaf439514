"""A loaded CLAP: text and audio embeddings, and the text match (cosine) of a take's audio with its prompt.

Audio is mixed to mono and resampled with soxr to the processor's rate (48 kHz). CLAP sees a fixed window
(10 s for the LAION checkpoints): a shorter take is repeat-padded by the processor, a longer one is cut into
windows spread evenly from start to end (the last one ends with the take, so no window is mostly padding)
and its embedding is the mean of the window embeddings. With unit window embeddings a_i and a unit text
embedding t, `t . mean(a_i)` is the mean of the per-window cosines, which is how a long take is scored.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
import torch.nn.functional as F

from core.cancel import CancelToken, Progress, check_cancel
from core.errors import AudioFileError

RESAMPLE_QUALITY = "VHQ"
WINDOW_BATCH = 8


class ClapScorer:
    """One CLAP model with its processor; embeddings are float32 numpy vectors."""

    def __init__(self, name: str, model, processor, device: str | torch.device = "cpu") -> None:
        self.name = name
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.processor = processor
        extractor = processor.feature_extractor
        self.sample_rate = int(extractor.sampling_rate)
        self.window = int(extractor.nb_max_samples)  # samples per CLAP window at `sample_rate`

    @classmethod
    def load(
        cls,
        name: str,
        device: str | torch.device = "cpu",
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> ClapScorer:
        from core.clap.loading import load_clap

        model, processor = load_clap(name, progress, cancel)
        return cls(name, model, processor, device)

    @property
    def dim(self) -> int:
        return int(self.model.config.projection_dim)

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """texts -> unit embeddings [B, D]."""
        tokens = self.processor.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        out = self.model.get_text_features(**tokens.to(self.device))
        return _unit(out)

    def embed_text(self, text: str) -> np.ndarray:
        return self.embed_texts([text])[0]  # [D]

    def windows(self, wav: np.ndarray, sample_rate: int) -> list[np.ndarray]:
        """Audio [C, N] or [N] -> mono windows at the processor's rate, each at most one CLAP window long."""
        mono = np.asarray(wav, dtype=np.float32)
        mono = mono.mean(axis=0) if mono.ndim == 2 else mono  # [N]
        if sample_rate != self.sample_rate and mono.size:
            mono = soxr.resample(mono, sample_rate, self.sample_rate, quality=RESAMPLE_QUALITY)
        mono = np.nan_to_num(np.ascontiguousarray(mono, dtype=np.float32))
        if mono.size == 0:
            mono = np.zeros(1, dtype=np.float32)
        count = max(1, math.ceil(mono.size / self.window))
        if count == 1:
            return [mono]
        starts = np.linspace(0, mono.size - self.window, count).round().astype(int)
        return [mono[s : s + self.window] for s in starts]

    @torch.inference_mode()
    def embed_audio(self, wav: np.ndarray, sample_rate: int, cancel: CancelToken | None = None) -> np.ndarray:
        """Audio [C, N] -> the mean of its unit window embeddings [D] (unit length for takes within one window)."""
        windows = self.windows(wav, sample_rate)
        parts = []
        for i in range(0, len(windows), WINDOW_BATCH):
            check_cancel(cancel)
            features = self.processor.feature_extractor(
                windows[i : i + WINDOW_BATCH], sampling_rate=self.sample_rate, return_tensors="pt"
            )
            parts.append(_unit(self.model.get_audio_features(**features.to(self.device))))  # [b, D]
        return np.concatenate(parts).mean(axis=0).astype(np.float32)  # [D]

    def embed_file(self, path: str | Path, cancel: CancelToken | None = None) -> np.ndarray:
        """The audio embedding of a WAV (or any file soundfile reads); silence is fine."""
        if not Path(path).is_file():
            raise AudioFileError(f"The audio file {path} does not exist.")
        try:
            data, rate = sf.read(str(path), dtype="float32", always_2d=True)  # [N, C]
        except (OSError, RuntimeError, ValueError) as exc:
            raise AudioFileError(f"Cannot read the audio of {path}: {exc}.") from exc
        return self.embed_audio(data.T, rate, cancel)

    def text_match(self, prompt: str, wav: np.ndarray, sample_rate: int) -> float:
        """Cosine of the prompt's text embedding with the audio (mean over windows for long audio)."""
        return float(self.embed_text(prompt) @ self.embed_audio(wav, sample_rate))


def _unit(out) -> np.ndarray:
    """A `get_*_features` result (a tensor, or an output whose pooler_output is the projection) -> unit rows."""
    features = out if isinstance(out, torch.Tensor) else out.pooler_output  # [B, D]
    return F.normalize(features.float(), dim=-1).cpu().numpy().astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (0 for a zero vector)."""
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0

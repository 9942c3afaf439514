"""Ranking takes by text match: score takes in memory or on disk, write the score into their JSON, sort.

A take's score is stored as `"text_match"` (a float) in its JSON sidecar (rewritten atomically, so a crash
leaves the old or the new sidecar, never half of one) and, for a take of a library, in its history row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from core.cancel import CancelToken, Progress, check_cancel, report
from core.clap.loading import clap_for_model
from core.clap.scorer import ClapScorer
from core.errors import ExportError
from core.takes.atomic import write_files
from core.takes.naming import TakeFiles
from core.takes.take import Take

TEXT_MATCH = "text_match"
ScorerFor = Callable[[str], ClapScorer]
"""`scorer_for(clap_name)`: the loaded CLAP of that name (Engine.clap does this)."""


@dataclass(frozen=True)
class Scored:
    """One ranked take: its score and where it is (a sidecar path, or an index into the caller's list)."""

    score: float
    path: Path | None = None
    index: int = -1


def score_takes(
    takes: Sequence[Take],
    scorer_for: ScorerFor,
    clap: str | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> list[float]:
    """Score each take against its prompt and store the score in `take.extra["text_match"]`.

    `clap` forces one CLAP for all takes; by default each take's model decides (core.clap.loading). A cancel
    leaves the takes scored so far with their scores and the others untouched.
    """
    scores = []
    for i, take in enumerate(takes):
        check_cancel(cancel)
        scorer = scorer_for(clap or clap_for_model(take.model, take.sample_rate, take.extra.get("task")))
        score = scorer.text_match(take.prompt, take.wav, take.sample_rate)
        take.extra[TEXT_MATCH] = round(score, 6)
        scores.append(score)
        report(progress, i + 1, len(takes))
    return scores


def best_first(scores: Sequence[float]) -> list[int]:
    """Indices of `scores` from the highest score to the lowest (ties keep their order)."""
    return sorted(range(len(scores)), key=lambda i: -scores[i])


def read_sidecar(sidecar: str | Path) -> dict:
    sidecar = Path(sidecar)
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"Cannot read the take {sidecar}: {exc}.") from exc
    if not isinstance(data, dict) or "prompt" not in data:
        raise ExportError(f"{sidecar} is not a SoundDesk take (no prompt in it).")
    return data


def score_take_file(sidecar: str | Path, scorer_for: ScorerFor, clap: str | None = None) -> float:
    """Score the take `sidecar` describes and write `"text_match"` into that JSON atomically."""
    sidecar = Path(sidecar)
    data = read_sidecar(sidecar)
    wav_path = TakeFiles.of_sidecar(sidecar).wav
    if not wav_path.is_file():
        raise ExportError(f"Cannot read the take {sidecar}: its audio file {wav_path.name} is missing.")
    try:
        wav, rate = sf.read(str(wav_path), dtype="float32", always_2d=True)  # [N, C]
    except (OSError, RuntimeError, ValueError) as exc:
        raise ExportError(f"Cannot read the audio of the take {sidecar}: {exc}.") from exc
    scorer = scorer_for(clap or clap_for_model(str(data.get("model", "")), int(rate)))
    score = scorer.text_match(str(data["prompt"]), np.ascontiguousarray(wav.T), int(rate))
    write_text_match(sidecar, score, data)
    return score


def write_text_match(sidecar: Path, score: float, data: dict | None = None) -> None:
    """Set `"text_match"` in a take's JSON, replacing the file atomically."""
    data = dict(read_sidecar(sidecar) if data is None else data)
    data[TEXT_MATCH] = round(float(score), 6)
    write_files([(sidecar, json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))], overwrite=True)


def rank_take_files(
    sidecars: Sequence[str | Path],
    scorer_for: ScorerFor,
    clap: str | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> list[Scored]:
    """Score every take file (writing each score as it is known), best first."""
    scored = []
    for i, sidecar in enumerate(sidecars):
        check_cancel(cancel)
        scored.append(Scored(score_take_file(sidecar, scorer_for, clap), Path(sidecar), i))
        report(progress, i + 1, len(sidecars))
    return [scored[i] for i in best_first([s.score for s in scored])]


def rank_written_takes(
    takes: Sequence[Take],
    sidecars: Sequence[Path],
    scorer_for: ScorerFor,
    search_clap: str | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> list:
    """Score takes already written (each JSON gets its `text_match` as soon as it is known) and, with
    `search_clap`, compute their embeddings for the library's search index.

    Returns one embedding (or None) per take. A cancel raises GenerationCancelled; the takes stay on disk,
    those scored so far with their score.
    """
    embeddings: list = [None] * len(takes)
    for i, (take, sidecar) in enumerate(zip(takes, sidecars, strict=True)):
        check_cancel(cancel)
        name = clap_for_model(take.model, take.sample_rate, take.extra.get("task"))
        scorer = scorer_for(name)
        audio = scorer.embed_audio(take.wav, take.sample_rate, cancel)  # [D], mean over windows
        score = float(scorer.embed_text(take.prompt) @ audio)
        write_text_match(sidecar, score)
        take.extra[TEXT_MATCH] = round(score, 6)
        if search_clap is not None:
            same = search_clap == name
            embeddings[i] = audio if same else scorer_for(search_clap).embed_audio(take.wav, take.sample_rate, cancel)
        report(progress, i + 1, len(takes))
    return embeddings

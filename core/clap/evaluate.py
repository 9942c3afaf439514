"""Objective evaluation of a model as its model card reports it: one take per prompt, the mean CLAP text match,
and with a folder of real audio the Fréchet distance between the CLAP audio embeddings of both sets.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.cancel import CancelToken, Progress, check_cancel, report
from core.clap.frechet import frechet_distance
from core.clap.loading import clap_for_model
from core.errors import AudioFileError, InvalidParameterError
from core.params import GenerationParams
from core.takes.atomic import ensure_folder, write_files
from core.takes.audio_io import SUPPORTED_EXTENSIONS, load_audio
from core.takes.naming import TakeFiles, evaluation_stem

REPORT_NAME = "evaluation.json"


@dataclass
class PromptResult:
    prompt: str
    seed: int
    text_match: float
    wav: str | None = None


@dataclass
class EvaluationReport:
    model: str
    clap: str
    results: list[PromptResult]
    mean_text_match: float
    frechet_distance: float | None = None
    reference_dir: str | None = None
    reference_clips: int = 0
    created: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        return asdict(self)


def read_prompts(path: str | Path) -> list[str]:
    """One prompt per non-empty line; lines starting with # are comments."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameterError(f"Cannot read the prompts file {path}: {exc}.") from exc
    prompts = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise InvalidParameterError(f"The prompts file {path} holds no prompt (one per line).")
    return prompts


def reference_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidParameterError(f"The reference folder {folder} does not exist.")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUPPORTED_EXTENSIONS and p.is_file())
    if len(files) < 2:
        raise InvalidParameterError(f"The reference folder {folder} needs at least 2 audio files, it has {len(files)}.")
    return files


def evaluate(
    engine,
    model_ref: str,
    prompts: list[str],
    params: GenerationParams | None = None,
    seed: int = 0,
    reference_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    clap: str | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    overwrite: bool = False,
) -> EvaluationReport:
    """Generate one take per prompt (seed, seed+1, ...), score them, and compare with the reference set.

    An `out_dir` that already holds this run's files (an earlier evaluation) is refused before any work unless
    `overwrite`."""
    from core.generation.generate import GenerationRequest
    from core.takes.take import save_take

    references = reference_files(reference_dir) if reference_dir is not None else []
    if references and len(prompts) < 2:
        raise InvalidParameterError("The Fréchet distance needs at least 2 prompts (one take each).")
    if out_dir is not None and not overwrite:
        refuse_earlier_run(Path(out_dir), prompts, seed)
    model = engine.load(model_ref)
    scorer = engine.clap(clap or clap_for_model(model_ref, model.sample_rate, model.capabilities.task))
    params = params or model.default_params
    total = len(prompts) + len(references)
    results, generated = [], []
    for i, prompt in enumerate(prompts):
        take = model.generate(GenerationRequest(prompt, params, seed + i), cancel=cancel)
        embedding = scorer.embed_audio(take.wav, take.sample_rate, cancel)  # [D]
        score = float(scorer.embed_text(prompt) @ embedding)
        take.extra["text_match"] = round(score, 6)
        wav = None
        if out_dir is not None:
            wav = str(
                save_take(take, ensure_folder(Path(out_dir)), evaluation_stem(i, prompt, take.seed), overwrite).wav
            )
        results.append(PromptResult(prompt, take.seed, score, wav))
        generated.append(embedding)
        report(progress, i + 1, total)
    distance = None
    if references:
        real = []
        for j, path in enumerate(references):
            check_cancel(cancel)
            clip = _load_reference(path)
            real.append(scorer.embed_audio(clip.samples, clip.sample_rate, cancel))
            report(progress, len(prompts) + j + 1, total)
        distance = frechet_distance(np.stack(generated), np.stack(real))
    result = EvaluationReport(
        model=model_ref,
        clap=scorer.name,
        results=results,
        mean_text_match=float(np.mean([r.text_match for r in results])),
        frechet_distance=distance,
        reference_dir=None if reference_dir is None else str(reference_dir),
        reference_clips=len(references),
    )
    if out_dir is not None:
        write_report(result, Path(out_dir) / REPORT_NAME, overwrite)
    return result


def refuse_earlier_run(folder: Path, prompts: list[str], seed: int) -> None:
    """Raise InvalidParameterError naming the first file of this run that `folder` already holds."""
    stems = [evaluation_stem(i, prompt, seed + i) for i, prompt in enumerate(prompts)]
    paths = [folder / REPORT_NAME] + [
        path for stem in stems for path in TakeFiles.named(folder, stem).by_suffix().values()
    ]
    found = [path.name for path in paths if path.exists()]
    if found:
        raise InvalidParameterError(
            f"{folder} already holds an evaluation ({found[0]}{' and more' if len(found) > 1 else ''}): "
            "choose another --out folder, or pass --overwrite to replace its files."
        )


def _load_reference(path: Path):
    try:
        return load_audio(path)
    except AudioFileError as exc:
        raise AudioFileError(f"A reference clip cannot be used: {exc}") from exc


def write_report(result: EvaluationReport, path: Path, overwrite: bool = False) -> Path:
    """The report as JSON, written atomically (an existing file only replaced with `overwrite`)."""
    ensure_folder(path.parent)
    text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False).encode("utf-8")
    write_files([(path, text)], overwrite=overwrite)
    return path


def format_table(result: EvaluationReport) -> str:
    """A plain-text table: one row per prompt, then the summary lines."""
    width = max([len("prompt")] + [len(r.prompt) for r in result.results])
    lines = [f"{'prompt':<{width}}  seed  text_match", f"{'-' * width}  ----  ----------"]
    lines += [f"{r.prompt:<{width}}  {r.seed:>4}  {r.text_match:>10.4f}" for r in result.results]
    lines.append(f"mean CLAP text match ({result.clap}): {result.mean_text_match:.4f}")
    if result.frechet_distance is not None:
        lines.append(
            f"Fréchet distance of CLAP embeddings to {result.reference_clips} reference clips: "
            f"{result.frechet_distance:.4f}"
        )
    return "\n".join(lines)

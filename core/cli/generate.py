"""`generate`: prompts -> takes on disk (NAME.wav, NAME.codes.npy, NAME.json), one WAV path printed per take."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

from core import options
from core.cli.main import progress_printer
from core.errors import GenerationCancelled, InvalidParameterError
from core.loops.meter import Meter
from core.loops.tempo_prompt import TempoRequest
from core.models import precision_option
from core.params import GenerationParams
from core.takes.interrupts import exit_code, shielded
from core.takes.naming import generated_stem


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate takes from text prompts")
    p.add_argument("prompts", nargs="+", metavar="PROMPT", help="text prompt(s); one take each")
    p.add_argument("--model", required=True, help="catalog/hub id (facebook/musicgen-small) or local model folder")
    options.add_arguments(p)
    p.add_argument("--bpm", type=float, help="tempo: with --bars, the duration is exactly that many bars")
    p.add_argument("--bars", type=int, help="length in bars at --bpm (instead of --duration)")
    p.add_argument("--meter", default="4/4", help="time signature for --bars (default 4/4; BPM counts quarters)")
    p.add_argument("--no-tempo-in-prompt", action="store_true", help="do not append ', BPM bpm' to the prompt")
    p.add_argument("--out", default=".", help="output folder (default: current folder)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--rank", action="store_true", help="score each take by CLAP text match; print best first")
    precision_option.add_argument(p)
    p.set_defaults(run=run)


def _params(args: argparse.Namespace, defaults: GenerationParams) -> GenerationParams:
    return defaults.replace(**options.param_changes(args))


def tempo_request(args: argparse.Namespace) -> TempoRequest | None:
    """The --bpm / --bars / --meter request, or None; sets args.duration to the bars' length."""
    if args.bpm is None and args.bars is None:
        return None
    if args.bpm is None or args.bars is None:
        raise InvalidParameterError("--bpm and --bars go together: the length is that many bars at that tempo.")
    if args.duration is not None:
        raise InvalidParameterError("Give either --duration or --bars, not both (--bars sets the duration).")
    tempo = TempoRequest(args.bpm, args.bars, Meter.parse(args.meter), not args.no_tempo_in_prompt)
    args.duration = tempo.duration
    return tempo


def run(args: argparse.Namespace) -> int:
    """Check the request, load the model, check the request against it, then generate and write each take."""
    tempo = tempo_request(args)
    out = _check_before_loading(args)
    engine, model, clips = _load(args)
    params, seed = _check_against_model(args, model, out)
    writer = _TakeWriter(args, engine, model, out, tempo)
    from core.nn.decode_step import quick_start

    seconds = (params.duration or 0.0) * args.variations * len(args.prompts)
    try:
        with quick_start(seconds):
            _generate_all(args, model, params, seed, tempo, clips, writer)
    except (GenerationCancelled, KeyboardInterrupt) as exc:
        print(f"cancelled: {len(writer.taken)} finished take(s) kept, the unfinished one dropped.", file=sys.stderr)
        return exit_code(exc)
    finally:
        writer.print_ranked()
    return 0


def _generate_all(args, model, params, seed, tempo, clips, writer) -> None:
    """Every prompt's variations, each take written as it is finished."""
    from core.engine import GenerationRequest, generate_variations

    for prompt in args.prompts:
        request = GenerationRequest(
            tempo.prompt(prompt) if tempo else prompt,
            params,
            seed,
            melody=clips["melody"],
            separate_melody=not args.no_melody_separation,
            continuation=clips["continuation"],
        )
        generate_variations(model, request, args.variations, progress_printer(args.verbose), on_take=writer)


def _check_before_loading(args: argparse.Namespace) -> Path:
    """What can be checked without the model (an unwritable folder is found before minutes of compute)."""
    from core.checks import check_output, check_seed  # the checks, like the rest, are imported when a take is asked

    if args.duration is not None and not args.duration > 0:
        raise InvalidParameterError(f"Duration must be a positive number of seconds, got {args.duration}.")
    if args.variations < 1:
        raise InvalidParameterError(f"--variations must be at least 1, got {args.variations}.")
    if args.seed is not None:
        check_seed(args.seed, args.variations)
    return check_output(Path(args.out), 0)


def _load(args: argparse.Namespace) -> tuple[Any, Any, dict]:
    """(engine, model, {"melody", "continuation": AudioClip | None}); a bad audio file fails before the model loads."""
    from core.checks import parse_device
    from core.engine import Engine
    from core.takes.audio_io import load_audio, shorten

    device = parse_device(args.device)  # imports torch
    continuation = load_audio(args.continuation) if args.continuation else None
    melody = load_audio(args.melody) if args.melody else None
    engine = Engine(device=device, precision=args.precision)
    model = engine.load(args.model)
    if args.verbose:
        print(f"precision: {model.precision}" + (" (auto)" if args.precision == "auto" else ""), file=sys.stderr)
    if melody is not None:
        melody = shorten(melody, model.max_duration)
    for clip in (melody, continuation):
        if clip is not None and clip.notice:
            print(f"note: {clip.notice}", file=sys.stderr)
    return engine, model, {"melody": melody, "continuation": continuation}


def _check_against_model(args: argparse.Namespace, model, out: Path) -> tuple[GenerationParams, int]:
    """(params, first seed): options the model takes, its duration limit, room for the takes, long-work note."""
    from core.checks import LONG_WORK_S, check_duration, check_options_apply, check_output, check_seed, estimate

    check_options_apply(model, options.given_fields(args))
    params = _params(args, model.default_params)
    check_duration(model, params)
    count = args.variations * len(args.prompts)
    cost = estimate(model, params)
    check_output(out, cost.output_bytes * count)
    if cost.seconds * count > LONG_WORK_S:
        print(f"note: {count} take(s): {cost.sentence(count)}.", file=sys.stderr, flush=True)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    check_seed(seed, args.variations)
    return params, seed


class _TakeWriter:
    """`on_take` for generate_variations: writes each take (all three files) as soon as it exists, so a stop later
    loses only the unfinished one; prints its path (or, with --rank, keeps it to print best first at the end)."""

    def __init__(self, args: argparse.Namespace, engine, model, out: Path, tempo: TempoRequest | None) -> None:
        self.args, self.engine, self.model, self.out, self.tempo = args, engine, model, out, tempo
        self.taken: list[str] = []
        self.ranked: list[tuple[float, Path]] = []

    def __call__(self, take) -> None:
        from core.takes.claim import save_new_take

        stem = generated_stem(take.prompt, self.args.model, take.seed)
        if self.tempo:
            take.extra.update(self.tempo.record())
        score = _text_match(self.engine, take) if self.args.rank else None  # stored in the JSON as text_match
        with shielded():  # a stop arriving now waits until the take is written, counted and printed
            files = save_new_take(take, self.out, stem, self.taken)
            self.taken.append(files.wav.name[: -len(".wav")])
            if score is None:
                print(files.wav, flush=True)
            else:
                self.ranked.append((score, files.wav))

    def print_ranked(self) -> None:
        for score, wav in sorted(self.ranked, key=lambda item: -item[0]):
            print(f"{score:.4f}\t{wav}", flush=True)


def _text_match(engine, take) -> float:
    """Score the take (CLAP text match) into its extra facts, so its JSON carries `text_match`."""
    from core.clap.ranking import score_takes

    return score_takes([take], engine.clap)[0]

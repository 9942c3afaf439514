"""`generate`: prompts -> takes on disk (NAME.wav, NAME.codes.npy, NAME.json), one WAV path printed per take."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from core.cli import magnet_options as magnet_cli
from core.cli.main import progress_printer
from core.errors import InvalidParameterError
from core.takes.audio_io import load_audio
from core.takes.naming import model_label, prompt_words, sanitize, unique_stem
from core.takes.take import save_take

TAKE_SUFFIXES = (".wav", ".codes.npy", ".json")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate takes from text prompts")
    p.add_argument("prompts", nargs="+", metavar="PROMPT", help="text prompt(s); one take each")
    p.add_argument("--model", required=True, help="catalog/hub id (facebook/musicgen-small) or local model folder")
    p.add_argument("--duration", type=float, help="seconds per take (default: the model's default)")
    p.add_argument("--seed", type=int, help="random seed (default: random; recorded in the sidecar)")
    p.add_argument("--variations", type=int, default=1, help="takes per prompt, seeds S, S+1, ...")
    p.add_argument("--greedy", action="store_true", help="argmax decoding instead of sampling")
    p.add_argument("--top-k", type=int, help="sample from the k most likely tokens")
    p.add_argument("--top-p", type=float, help="nucleus sampling mass (takes precedence over top-k)")
    p.add_argument("--temperature", type=float, help="sampling temperature")
    p.add_argument("--cfg", type=float, help="classifier-free guidance coefficient")
    p.add_argument("--extend-stride", type=float, help="seconds each window advances beyond the model length")
    p.add_argument("--continue", dest="continuation", metavar="AUDIO_FILE", help="audio to continue")
    p.add_argument("--melody", metavar="AUDIO_FILE", help="melody to follow (melody models)")
    p.add_argument(
        "--no-melody-separation", action="store_true", help="use the melody file as is (skip removing drums and bass)"
    )
    p.add_argument("--out", default=".", help="output folder (default: current folder)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--rank", action="store_true", help="score each take by CLAP text match; print best first")
    magnet_cli.add_arguments(p)
    p.set_defaults(run=run)


def _params(args: argparse.Namespace, defaults):
    changes = {
        "duration": args.duration,
        "top_k": args.top_k,
        "top_p": args.top_p,
        "temperature": args.temperature,
        "cfg_coef": args.cfg,
        "extend_stride": args.extend_stride,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.greedy:
        changes["use_sampling"] = False
    for name, value in extra_params(args).items():
        changes[name] = value
    return defaults.replace(**changes)


def extra_params(args: argparse.Namespace) -> dict:
    """Parameters added by other decoders' flags (MAGNeT); empty when none are given."""
    return magnet_cli.params_from_args(args)


def run(args: argparse.Namespace) -> int:
    if args.duration is not None and not args.duration > 0:
        raise InvalidParameterError(f"Duration must be a positive number of seconds, got {args.duration}.")
    if args.variations < 1:
        raise InvalidParameterError(f"--variations must be at least 1, got {args.variations}.")
    from core.engine import Engine, GenerationRequest, generate_variations  # torch: only when generating

    continuation = load_audio(args.continuation) if args.continuation else None
    melody = load_audio(args.melody) if args.melody else None
    engine = Engine(device=args.device)
    model = engine.load(args.model)
    if melody is not None:
        melody = load_audio(args.melody, max_seconds=model.max_duration)
    for clip in (melody, continuation):
        if clip is not None and clip.notice:
            print(f"note: {clip.notice}", file=sys.stderr)
    params = _params(args, model.default_params)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    out = Path(args.out)
    taken: list[str] = []
    written: list[tuple[float, Path]] = []
    for prompt in args.prompts:
        request = GenerationRequest(
            prompt,
            params,
            seed,
            melody=melody,
            separate_melody=not args.no_melody_separation,
            continuation=continuation,
        )
        for take in generate_variations(model, request, args.variations, progress_printer(args.verbose)):
            stem = unique_stem(
                out,
                sanitize(f"{prompt_words(prompt, 60, '_')}_{model_label(args.model)}_s{take.seed}"),
                TAKE_SUFFIXES,
                taken,
            )
            taken.append(stem)
            if args.rank:
                written.append((_text_match(engine, take), save_take(take, out, stem).wav))
            else:
                print(save_take(take, out, stem).wav, flush=True)
    for score, wav in sorted(written, key=lambda item: -item[0]):
        print(f"{score:.4f}\t{wav}", flush=True)
    return 0


def _text_match(engine, take) -> float:
    """Score the take (CLAP text match) into its extra facts, so its JSON carries `text_match`."""
    from core.clap.ranking import score_takes

    return score_takes([take], engine.clap)[0]

"""`generate`: prompts -> takes on disk (NAME.wav, NAME.codes.npy, NAME.json), one WAV path printed per take."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from core.cli import magnet_options as magnet_cli
from core.cli.main import progress_printer
from core.errors import InvalidParameterError
from core.loops.meter import Meter
from core.loops.tempo_prompt import TempoRequest
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
    p.add_argument("--bpm", type=float, help="tempo: with --bars, the duration is exactly that many bars")
    p.add_argument("--bars", type=int, help="length in bars at --bpm (instead of --duration)")
    p.add_argument("--meter", default="4/4", help="time signature for --bars (default 4/4; BPM counts quarters)")
    p.add_argument("--no-tempo-in-prompt", action="store_true", help="do not append ', BPM bpm' to the prompt")
    p.add_argument("--out", default=".", help="output folder (default: current folder)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
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
    tempo = tempo_request(args)
    if args.duration is not None and not args.duration > 0:
        raise InvalidParameterError(f"Duration must be a positive number of seconds, got {args.duration}.")
    if args.variations < 1:
        raise InvalidParameterError(f"--variations must be at least 1, got {args.variations}.")
    from core.engine import Engine, GenerationRequest, generate_variations  # torch: only when generating

    continuation = load_audio(args.continuation) if args.continuation else None
    melody = load_audio(args.melody) if args.melody else None
    model = Engine(device=args.device).load(args.model)
    if melody is not None:
        melody = load_audio(args.melody, max_seconds=model.max_duration)
    for clip in (melody, continuation):
        if clip is not None and clip.notice:
            print(f"note: {clip.notice}", file=sys.stderr)
    params = _params(args, model.default_params)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    out = Path(args.out)
    taken: list[str] = []
    for prompt in args.prompts:
        request = GenerationRequest(
            tempo.prompt(prompt) if tempo else prompt,
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
            if tempo:
                take.extra.update(tempo.record())
            print(save_take(take, out, stem).wav, flush=True)
    return 0

"""A random-weight checkpoint of a released model's size, in the release format, for timing `main.py generate`.

    python benchmarks/random_release.py --size musicgen-small|musicgen-medium|audiogen-medium --out DIR

Starts from the tiny fixture of the same family (`../shared/fixtures/musicgen` or `audiogen`): its `xp.cfg`
with the LM sizes of the release (dim, heads, layers, card), LM weights drawn N(0, 0.02) (norms 1 / 0) and
saved float32 as `audiocraft.utils.export.export_lm` does; its EnCodec with the RVQ codebooks grown to the card
(the SEANet stays the fixture's tiny one, so the LM dominates the time, as with the real models on a CPU). The
text encoder named in the config resolves as for the fixture (the tiny T5 in the fixtures' hub cache).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"

from benchmarks.common import random_init  # noqa: E402
from core.models.loader import _lm_config  # noqa: E402
from core.nn.lm import LMModel  # noqa: E402

SIZES = {  # family fixture, LM sizes of the release
    "musicgen-small": ("musicgen", dict(dim=1024, num_heads=16, num_layers=24, card=2048)),
    "musicgen-medium": ("musicgen", dict(dim=1536, num_heads=24, num_layers=48, card=2048)),
    "audiogen-medium": ("audiogen", dict(dim=1536, num_heads=24, num_layers=48, card=2048)),
}
_COND = "condition_provider.conditioners."


def _lm_state(cfg, fixture_state: dict, seed: int) -> dict[str, torch.Tensor]:
    lm_cfg = _lm_config(cfg, cross=bool(OmegaConf.select(cfg, "fuser.cross", default=[])))
    lm = random_init(LMModel, lm_cfg, seed)
    state = dict(lm.state_dict())
    dim = lm_cfg.transformer.dim
    for key, value in fixture_state.items():  # the conditioners' output projections, re-sized to the LM
        if key.startswith(_COND):
            shape = (dim, value.shape[1]) if value.dim() == 2 else (dim,)
            state[key] = torch.randn(shape) * 0.02 if value.dim() == 2 else torch.zeros(shape)
    return state


def _codec(package: dict, card: int, seed: int) -> dict:
    cfg = OmegaConf.create(package["xp.cfg"])
    cfg.rvq.bins = card
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in package["best_state"].items():
        if "_codebook." in key and value.dim() >= 1 and key.rsplit(".", 1)[1] in ("embed", "embed_avg", "cluster_size"):
            shape = (card, *value.shape[1:])
            value = torch.randn(shape, generator=generator) * value.std() if value.dim() == 2 else torch.ones(shape)
        state[key] = value
    return {**package, "best_state": state, "xp.cfg": OmegaConf.to_yaml(cfg)}


def write_release(size: str, out: Path, seed: int = 0) -> Path:
    """Write `state_dict.bin` and `compression_state_dict.bin` of a random `size` model into `out`."""
    family, sizes = SIZES[size]
    source = FIXTURES / family
    lm_package = torch.load(source / "state_dict.bin", weights_only=True)
    cfg = OmegaConf.create(lm_package["xp.cfg"])
    for key, value in sizes.items():
        cfg.transformer_lm[key] = value
    out.mkdir(parents=True, exist_ok=True)
    state = _lm_state(cfg, lm_package["best_state"], seed)
    package = {**lm_package, "best_state": state, "xp.cfg": OmegaConf.to_yaml(cfg)}
    torch.save(package, out / "state_dict.bin")
    del state, package
    codec = _codec(torch.load(source / "compression_state_dict.bin", weights_only=True), sizes["card"], seed)
    torch.save(codec, out / "compression_state_dict.bin")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = write_release(args.size, args.out, args.seed)
    params = sum(
        v.numel() for v in torch.load(folder / "state_dict.bin", weights_only=True, mmap=True)["best_state"].values()
    )
    print(f"{args.size}: {params / 1e6:.0f} M LM parameters written to {folder}")


if __name__ == "__main__":
    main()

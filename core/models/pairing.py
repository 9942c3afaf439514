"""A language model and its codec must be a pair: same codebooks, code range, sample rate, channels, frame rate.

A mismatched pair fails late or silently: a MusicGen LM beside the 16 kHz AudioGen codec only after
generating, an AudioGen LM beside the 32 kHz codec with a take labelled with the wrong family and rate. So the
check runs at load time and names both files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import CheckpointError

LM_FILE = "state_dict.bin"
CODEC_FILE = "compression_state_dict.bin"


def check_codec_matches(bundle: Any, codec: Any, folder: Path) -> None:
    """Raise CheckpointError unless the codec (`compression_state_dict.bin`) fits the LM (`state_dict.bin`)."""
    lm = bundle.lm.cfg
    facts = [
        ("codebooks", codec.num_codebooks, lm.n_q),
        ("codes per codebook", codec.cardinality, lm.card),
        ("sample rate (Hz)", codec.sample_rate, bundle.capabilities.sample_rate),
        ("channels", codec.channels, bundle.capabilities.channels),
    ]
    frame_rate = _lm_frame_rate(bundle)
    if frame_rate is not None:
        facts.append(("frame rate (Hz)", float(codec.frame_rate), frame_rate))
    wrong = [f"{what} {have:g} vs {want:g}" for what, have, want in facts if float(have) != float(want)]
    if wrong:
        raise CheckpointError(
            f"The codec {Path(folder) / CODEC_FILE} does not belong to the language model {Path(folder) / LM_FILE} "
            f"({'; '.join(wrong)}, codec vs model); put the model's own codec beside it."
        )


def _lm_frame_rate(bundle: Any) -> float | None:
    from core.models.checkpoint import cfg_get

    value = cfg_get(bundle.cfg, "transformer_lm.compression_model_framerate", None)
    return float(value) if value is not None else None

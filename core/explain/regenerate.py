"""Hear an explanation: regenerate a take with its text attention scaled by the mask M, or by 1 - M.

As AudioGenX does after training (explain.py:134-152, `generate_with_mask(..., mask=reparams)` and
`mask=1-reparams`): the same prompt, generation parameters and seed as the take, with the conditional rows'
cross-attention weights at decoding step t multiplied by M[t] (factual: what the important words make) or by
1 - M[t] (counterfactual: what is left without them). An all-ones mask gives the take back.
"""

from __future__ import annotations

import numpy as np
import torch

from core.cancel import CancelToken, Progress
from core.decoding.autoregressive import generate_codes
from core.errors import InvalidParameterError
from core.explain.explainer import Explanation, text_conditioner
from core.generation.generate import ConditionBuilder, decoded_take
from core.takes.take import Take


def regenerate_take(
    model,
    take: Take,
    explanation: Explanation,
    counterfactual: bool = False,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> Take:
    """The factual (M) or counterfactual (1 - M) version of `take`, made by `model` with the take's seed."""
    text_conditioner(model)
    if "continuation" in take.extra:
        raise InvalidParameterError(
            "This take continues an audio file; only takes made from text alone can be "
            "regenerated with their explanation."
        )
    mask = explanation.mask
    frames = int(np.asarray(take.codes).shape[-1])
    if frames != explanation.timing.frames or take.prompt != explanation.text.prompt:
        raise InvalidParameterError("This explanation was made for another take.")
    chosen = 1 - mask if counterfactual else mask
    return masked_take(model, take, chosen, "counterfactual" if counterfactual else "factual", progress, cancel)


def masked_take(
    model,
    take: Take,
    mask: torch.Tensor,
    label: str,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> Take:
    """Generate the take again with the text's cross-attention weights scaled by mask [S, L] at every step."""
    bundle = model.bundle
    frames = int(np.asarray(take.codes).shape[-1])
    cond = ConditionBuilder(model, take.prompt, None, True, 0)()  # [cond; null] text conditions
    weights = mask.to(device=model.device, dtype=torch.float32)[None]  # [1, S, L]
    generator = torch.Generator(device=model.device).manual_seed(int(take.seed))
    prompt = torch.zeros(1, bundle.lm.cfg.n_q, 0, dtype=torch.long, device=model.device)
    codes = generate_codes(
        bundle.lm,
        bundle.pattern,
        cond,
        prompt,
        frames,
        take.params,
        generator,
        progress,
        cancel,
        cross_weight_mask=weights,
    )  # [1, K, T]
    extra = {"family": model.family, "precision": model.precision, "explained": label, "source_seed": int(take.seed)}
    return decoded_take(model, codes, take.prompt, take.seed, take.params, extra)

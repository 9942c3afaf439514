"""The AudioGenX explainer network: per decoding step, a small MLP maps each text token to a mask value.

AudioGenX (github.com/hjkng/audiogenX) builds one `MaskGenerator` per decoding step (explain.py:97-98:
`ModuleList([MaskGenerator(L, D) for _ in range(audio_range)])`, audio_range = number of steps); each is
`Linear(D, 512) -> PReLU -> Linear(512, 1) -> Sigmoid` (audiocraft/models/mask.py:22-30) applied to the T5
condition of the prompt after `output_proj` ([L, D]). Here the step networks are stacked along a leading step
axis and evaluated with one einsum: the same numbers, one call. The mask is made differentiable with
Gumbel-softmax over (1 - p, p) at tau 1 (mask.py:11, 37-41), soft unless `hard`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from core.explain.settings import HIDDEN

GUMBEL_EPS = 1e-9  # mask.py:40 `torch.log(total_mask_prob + 1e-9)`
PRELU_INIT = 0.25  # torch.nn.PReLU's default slope


def _uniform(shape: tuple[int, ...], fan_in: int, generator: torch.Generator) -> nn.Parameter:
    """nn.Linear's default initialisation (weights and bias uniform in +-1/sqrt(fan_in)), seeded."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=generator))


class StepMaskExplainer(nn.Module):
    """`steps` independent MLPs D -> hidden -> PReLU -> 1 -> sigmoid: tokens [L, D] -> probabilities [steps, L]."""

    def __init__(self, steps: int, dim: int, hidden: int = HIDDEN, generator: torch.Generator | None = None):
        super().__init__()
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.w1 = _uniform((steps, hidden, dim), dim, generator)  # [S, H, D]
        self.b1 = _uniform((steps, hidden), dim, generator)  # [S, H]
        self.slope = nn.Parameter(torch.full((steps,), PRELU_INIT))  # [S]: one PReLU slope per step network
        self.w2 = _uniform((steps, hidden), hidden, generator)  # [S, H]
        self.b2 = _uniform((steps,), hidden, generator)  # [S]

    @staticmethod
    def parameter_count(steps: int, dim: int, hidden: int = HIDDEN) -> int:
        return steps * (hidden * dim + 2 * hidden + 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [L, D] -> mask probabilities [S, L] in (0, 1)."""
        h = torch.einsum("ld,shd->slh", tokens, self.w1) + self.b1[:, None, :]  # [S, L, H]
        h = torch.where(h >= 0, h, self.slope[:, None, None] * h)
        out = torch.einsum("slh,sh->sl", h, self.w2) + self.b2[:, None]  # [S, L]
        return torch.sigmoid(out)


def gumbel_mask(probs: torch.Tensor, tau: float, hard: bool, generator: torch.Generator) -> torch.Tensor:
    """mask.py `reparameterize`: Gumbel-softmax over log(1 - p, p), keep the "on" channel.  # [S, L] -> [S, L]

    The noise is drawn on the CPU from `generator` (torch's `F.gumbel_softmax` draws from the global RNG), so a
    seed gives the same mask on any device.
    """
    logits = torch.log(torch.stack([1 - probs, probs], dim=-1) + GUMBEL_EPS)  # [S, L, 2]
    exp = torch.empty(logits.shape, dtype=torch.float32).exponential_(generator=generator)
    gumbels = -exp.log().to(device=logits.device, dtype=logits.dtype)
    soft = F.softmax((logits + gumbels) / tau, dim=-1)
    if hard:  # straight-through: the forward value is one-hot, the gradient is the soft one's
        index = soft.argmax(dim=-1, keepdim=True)
        one_hot = torch.zeros_like(soft).scatter_(-1, index, 1.0)
        soft = one_hot - soft.detach() + soft
    return soft[..., 1]


def mask_norms(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """explain.py:121-122: `l1 = abs(params).sum()`, `l2 = sqrt((params ** 2).sum())` of the probabilities."""
    return probs.abs().sum(), torch.sqrt((probs**2).sum())

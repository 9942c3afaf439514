"""The explainer's settings (AudioGenX's defaults), apart from its torch code: the CLI builds its options from them."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidParameterError
from core.explain.words import MERGES

HIDDEN = 512  # mask.py:22 `self.hidden_dim = 512`


@dataclass(frozen=True)
class ExplainSettings:
    """AudioGenX's defaults (hjkng/audiogenX): explain.py:33-38 and :102, mask.py:11 and :22, explainer.py:21-24."""

    epochs: int = 50  # explain.py:35
    lr: float = 1e-3  # explain.py:34
    weight_decay: float = 1e-3  # explain.py:102 `optim.Adam(..., lr=lr, weight_decay=1e-3)`
    beta: float = 1e-3  # explain.py:37, weight of |M|_1
    gamma: float = 1e-1  # explain.py:38, weight of |M|_2
    tau: float = 1.0  # mask.py:11, Gumbel-softmax temperature
    hard: bool = False  # explain.py:33 `--hard` default False (the demo sets `mask_gen.hard = False`)
    hidden: int = HIDDEN  # mask.py:22
    seed: int = 42  # explainer.py:21-24 seed everything with 42
    word_merge: str = "max"  # our choice: the repository scores pieces only (core.explain.words)

    def __post_init__(self) -> None:
        """Settings are checked once, when made: every function that takes them can trust them."""
        checks = [
            (self.epochs >= 1, f"epochs must be 1 or more (an untrained explainer scores nothing), got {self.epochs}"),
            (self.lr > 0, f"the learning rate must be positive, got {self.lr}"),
            (self.weight_decay >= 0, f"weight decay must be 0 or more, got {self.weight_decay}"),
            (self.beta >= 0 and self.gamma >= 0, f"beta and gamma must be 0 or more ({self.beta}, {self.gamma})"),
            (self.tau > 0, f"tau must be positive, got {self.tau}"),
            (self.hidden >= 1, f"the explainer needs at least 1 hidden unit, got {self.hidden}"),
            (self.word_merge in MERGES, f"word_merge must be one of {MERGES}, got {self.word_merge!r}"),
        ]
        for ok, sentence in checks:
            if not ok:
                raise InvalidParameterError(f"Explain settings: {sentence}.")

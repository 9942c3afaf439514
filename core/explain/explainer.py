"""Explain a take with AudioGenX: which words of the prompt made this sound, as a mask over the text tokens.

Method and defaults from the paper's code (github.com/hjkng/audiogenX, explain.py and audiocraft/models):
for every decoding step t an explainer network (core.explain.mask) turns each text token into a mask value
M[t, l]; the LM replays the take's codes with the text's cross-attention weights scaled by M (factual) and by
1 - M (counterfactual), and the explainer is trained with Adam to keep the factual hidden states close to the
recorded ones z_t while pushing the counterfactual ones away (explain.py:118-124):

    loss = -sum_t cos(z_t, z_t^F) + sum_t cos(z_t, z_t^CF) + beta * |M|_1 + gamma * |M|_2

A token's score is its mask averaged over the steps of a time window (the whole take by default), as the
repository reads it out (AudioGenX_demo.ipynb cell 21, example/exmaple.ipynb cell 9: `mask[start:end].mean(0)`);
`Explanation.rescore` re-reads another window from the same mask without training again.

One deliberate difference: the repository replays each step as a one-token batch row without its past
(explain.py:112 `ori_sequence[:, :, :-1].permute(2, 1, 0)`); here one causal pass over the pattern sequence
replays every step with its real context, so an all-ones mask reproduces the recorded z_t exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from core.cancel import CancelToken, Progress, check_cancel, report
from core.errors import InvalidParameterError
from core.explain.mask import StepMaskExplainer, gumbel_mask, mask_norms
from core.explain.replay import (
    StepTiming,
    frozen,
    input_steps,
    masked_hidden,
    record_hidden,
    text_keys,
    timing_of,
)
from core.explain.settings import ExplainSettings
from core.explain.words import PromptPieces, split_prompt, word_scores
from core.nn.conditioning import T5Conditioner
from core.nn.delay_pattern import DelayPattern
from core.nn.lm import LMModel
from core.takes.take import Take

COSINE_EPS = 1e-6  # explain.py:77 `nn.CosineSimilarity(dim=-1, eps=1e-6)`
MAX_EXPLAINER_BYTES = 8 * 1024**3  # parameters, gradients and Adam's two moments, float32
DEFAULT_SETTINGS = ExplainSettings()


@dataclass(frozen=True)
class EpochLoss:
    """One optimisation step: the loss and its parts; similarities are means of cos over the steps."""

    loss: float
    factual: float
    counterfactual: float
    l1: float
    l2: float


@dataclass(frozen=True)
class Explanation:
    """Scores in [0, 1] for the prompt's words and T5 pieces, read from the trained mask over `window`."""

    text: PromptPieces
    mask: torch.Tensor  # [S, L] the mask read out (a Gumbel-softmax sample of `probs`, as the repository)
    probs: torch.Tensor  # [S, L] the explainer's probabilities
    timing: StepTiming
    settings: ExplainSettings
    losses: list[EpochLoss]
    factual_similarity: float  # mean over steps of cos(z_t, z_t^F) with the read-out mask
    counterfactual_similarity: float  # same with 1 - mask
    window: tuple[float, float] | None = None
    token_scores: list[float] = field(default_factory=list)  # one per piece (incl. '</s>')
    words: list[tuple[str, float]] = field(default_factory=list)  # one per prompt word, in prompt order

    @property
    def pieces(self) -> list[str]:
        return self.text.pieces

    def rescore(self, window: tuple[float, float] | None) -> Explanation:
        """The same mask read over another time window (seconds; None = the whole take), without training."""
        s0, s1 = self.timing.window_steps(window)
        scores = self.mask[s0:s1].mean(dim=0).tolist()  # [L]
        words = word_scores(self.text, scores, self.settings.word_merge)
        return replace(self, window=window, token_scores=scores, words=words)


def explain_take(
    model,
    take: Take,
    settings: ExplainSettings | None = None,
    window: tuple[float, float] | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> Explanation:
    """Train AudioGenX's explainer on one take of `model` (a core.engine.LoadedModel) and score its words.

    `settings` None: AudioGenX's defaults (`ExplainSettings()`).
    """
    settings = settings or ExplainSettings()
    conditioner = text_conditioner(model)
    codes = _take_codes(model, take)
    text = split_prompt(conditioner.tokenizer, take.prompt)
    cross, _ = conditioner.encode([take.prompt])  # [1, L, D]
    if cross.shape[1] != len(text.pieces):
        raise InvalidParameterError("The prompt's tokens do not match the text encoder's output.")
    bundle = model.bundle
    return explain_codes(
        bundle.lm, bundle.pattern, cross, codes, text, model.frame_rate, settings, window, progress, cancel
    )


def explain_codes(
    lm: LMModel,
    pattern: DelayPattern,
    cross: torch.Tensor,
    codes: torch.Tensor,
    text: PromptPieces,
    frame_rate: float,
    settings: ExplainSettings = DEFAULT_SETTINGS,
    window: tuple[float, float] | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> Explanation:
    """The method on its inputs: the text condition cross [1, L, D] (after output_proj), codes [K, T]."""
    timing = timing_of(pattern, codes.shape[-1], frame_rate)
    timing.window_steps(window)  # a bad window fails before the training, not after
    device = next(lm.parameters()).device
    _check_size(timing.steps, cross.shape[-1], settings.hidden)
    with frozen(lm):
        cross = cross.detach().clone().to(device)  # a normal tensor: T5 ran in inference mode
        tokens = cross[0].float()  # [L, D] the explainer's input
        sequence = input_steps(lm, pattern, codes.to(device))  # [1, K, S]
        kv = text_keys(lm, cross)
        reference = record_hidden(lm, sequence, kv)  # [S, D]
        init = torch.Generator().manual_seed(int(settings.seed))
        explainer = StepMaskExplainer(timing.steps, tokens.shape[-1], settings.hidden, init).to(device)
        noise = torch.Generator().manual_seed(int(settings.seed) + 1)
        replay = _Replay(lm, sequence, kv, reference)
        losses = _train(explainer, tokens, replay, settings, noise, progress, cancel)
        with torch.no_grad():
            probs = explainer(tokens)  # [S, L]
            mask = gumbel_mask(probs, settings.tau, settings.hard, noise)
            sims = replay.similarities(mask)
    result = Explanation(
        text,
        mask.detach().cpu(),
        probs.detach().cpu(),
        timing,
        settings,
        losses,
        float(sims[0].mean()),
        float(sims[1].mean()),
    )
    return result.rescore(window)


@dataclass
class _Replay:
    """The LM, the take and its recorded hidden states: masks in, similarities cos(z_t, z_t^F | CF) out."""

    lm: LMModel
    sequence: torch.Tensor  # [1, K, S]
    kv: list
    reference: torch.Tensor  # [S, D]

    def similarities(self, mask: torch.Tensor) -> torch.Tensor:
        """mask [S, L] -> cos with the reference of the factual and counterfactual replays: [2, S]."""
        masks = torch.stack([mask, 1 - mask])  # [2, S, L]
        hidden = masked_hidden(self.lm, self.sequence, self.kv, masks)  # [2, S, D]
        return F.cosine_similarity(hidden, self.reference[None], dim=-1, eps=COSINE_EPS)


def _train(
    explainer: StepMaskExplainer,
    tokens: torch.Tensor,
    replay: _Replay,
    settings: ExplainSettings,
    noise: torch.Generator,
    progress: Progress | None,
    cancel: CancelToken | None,
) -> list[EpochLoss]:
    """explain.py:102-128: Adam on the explainer, one factual and one counterfactual replay per epoch."""
    optimizer = torch.optim.Adam(explainer.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    explainer.train()
    losses = []
    for epoch in range(settings.epochs):
        check_cancel(cancel)
        probs = explainer(tokens)  # [S, L]
        sims = replay.similarities(gumbel_mask(probs, settings.tau, settings.hard, noise))  # [2, S]
        l1, l2 = mask_norms(probs)
        loss = -sims[0].sum() + sims[1].sum() + settings.beta * l1 + settings.gamma * l2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(_epoch_loss(loss, sims, l1, l2))
        report(progress, epoch + 1, settings.epochs)
    explainer.eval()
    return losses


def text_conditioner(model) -> T5Conditioner:
    """The T5 conditioner the LM cross-attends to; refuse models AudioGenX cannot perturb."""
    bundle = model.bundle
    why_not = model.capabilities.why_not_explainable()
    if why_not is not None:
        raise InvalidParameterError(why_not)
    if not bundle.fuser.cross:
        raise InvalidParameterError(
            f"{model.ref} puts the text in front of the audio instead of attending to it (no cross-attention); "
            "AudioGenX scales cross-attention weights, so it cannot explain this model's takes."
        )
    names = [n for n in bundle.fuser.cross if isinstance(bundle.conditioners.get(n), T5Conditioner)]
    if len(bundle.fuser.cross) != 1 or not names:
        raise InvalidParameterError(
            f"{model.ref} attends to {bundle.fuser.cross}; only one text condition can be explained."
        )
    return bundle.conditioners[names[0]]


def _take_codes(model, take: Take) -> torch.Tensor:
    if take.extra.get("codes_applicable") is False:  # a loop: cut (and stretched) after decoding
        raise InvalidParameterError(
            "This take was cut from another take (a loop), so no tokens describe it; explain its source take."
        )
    codes = np.asarray(take.codes)
    n_q = model.bundle.lm.cfg.n_q
    if codes.ndim != 2 or codes.shape[0] != n_q or codes.shape[1] < 1:
        raise InvalidParameterError(f"The take's codes have shape {codes.shape}; {model.ref} needs [{n_q}, T].")
    if not take.prompt.strip():
        raise InvalidParameterError("The take has no prompt: there are no words to explain.")
    if codes.shape[1] > int(model.max_duration * model.frame_rate):
        raise InvalidParameterError(
            f"The take ({codes.shape[1] / model.frame_rate:.1f} s) is longer than {model.ref}'s window "
            f"({model.max_duration:g} s); only takes made in one window can be explained."
        )
    if codes.min() < 0 or codes.max() >= model.bundle.lm.cfg.card:
        raise InvalidParameterError(f"The take's codes are not tokens of {model.ref}: was it made by another model?")
    return torch.from_numpy(codes.astype(np.int64))


def _check_size(steps: int, dim: int, hidden: int) -> None:
    needed = 16 * StepMaskExplainer.parameter_count(steps, dim, hidden)
    if needed > MAX_EXPLAINER_BYTES:
        raise InvalidParameterError(
            f"Explaining this take needs about {needed / 1024**3:.1f} GiB for its {steps} step networks "
            f"(AudioGenX trains one per decoding step); explain a shorter take."
        )


def _epoch_loss(loss: torch.Tensor, sims: torch.Tensor, l1: torch.Tensor, l2: torch.Tensor) -> EpochLoss:
    sims = sims.detach().mean(dim=1)  # [2]
    return EpochLoss(loss.item(), sims[0].item(), sims[1].item(), l1.item(), l2.item())

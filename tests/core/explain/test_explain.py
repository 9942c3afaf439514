"""AudioGenX explanations on the fixture models: scores per word, the method's defaults, windows, audio, CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.cancel import CancelToken
from core.decoding.sampling import apply_cfg
from core.engine import Engine, GenerationRequest
from core.errors import GenerationCancelled, InvalidParameterError
from core.explain.explainer import ExplainSettings, explain_codes, explain_take
from core.explain.regenerate import masked_take, regenerate_take
from core.explain.replay import StepTiming, frozen, input_steps, masked_hidden, record_hidden, text_keys
from core.explain.words import PromptPieces, _by_word_starts, split_prompt, word_scores
from core.takes.take import save_take

PROMPT = "a dog barking loudly in the rain"
FAST = ExplainSettings(epochs=3)
# On the random-weight fixtures the text barely moves the LM's hidden states (removing it entirely keeps
# cos(z, z') ~ 0.99), so the fidelity terms sum to < 1 while gamma * |M|_2 starts near 1.4: with the default
# penalties the optimisation only shrinks the mask. Tests about what the LM responds to switch them off.
FIDELITY = ExplainSettings(epochs=10, beta=0.0, gamma=0.0)


@pytest.fixture(scope="module")
def engine(fixtures_dir):
    return Engine()


@pytest.fixture(scope="module", params=["audiogen", "musicgen"])
def made(request, engine, fixtures_dir):
    """(model, a 1 s greedy take of PROMPT) for each text-to-audio fixture."""
    model = engine.load(str(fixtures_dir / request.param))
    params = model.default_params.replace(duration=1.0, use_sampling=False)
    return model, model.generate(GenerationRequest(PROMPT, params, seed=0))


@pytest.fixture(scope="module")
def audiogen(engine, fixtures_dir):
    model = engine.load(str(fixtures_dir / "audiogen"))
    params = model.default_params.replace(duration=1.0, use_sampling=True, top_k=10)
    return model, model.generate(GenerationRequest(PROMPT, params, seed=5))


def test_defaults_are_the_repository_values():
    # hjkng/audiogenX explain.py:33-38 (--hard False, --lr 1E-3, --epochs 50, --beta 1E-3, --gamma 1E-1),
    # explain.py:102 (Adam weight_decay=1e-3), mask.py:11 (tau=1.0), mask.py:22 (hidden_dim = 512),
    # explainer.py:21-24 (seed 42).
    s = ExplainSettings()
    assert (s.epochs, s.lr, s.weight_decay, s.beta, s.gamma) == (50, 1e-3, 1e-3, 1e-3, 1e-1)
    assert (s.tau, s.hard, s.hidden, s.seed) == (1.0, False, 512, 42)


def test_one_score_per_word_in_prompt_order(made):
    model, take = made
    explanation = explain_take(model, take, FAST)
    assert [w for w, _ in explanation.words] == PROMPT.split()
    assert all(0.0 <= s <= 1.0 for _, s in explanation.words)
    assert len(explanation.token_scores) == len(explanation.pieces) and explanation.pieces[-1] == "</s>"
    steps = explanation.timing.steps
    assert explanation.mask.shape == (steps, len(explanation.pieces)) == (50 + 3, 14)
    assert [(l.loss > 0) for l in explanation.losses] == [True] * 3


def test_hard_masks_are_zeros_and_ones(audiogen):
    model, take = audiogen
    explanation = explain_take(model, take, ExplainSettings(epochs=2, hard=True))
    assert set(explanation.mask.unique().tolist()) <= {0.0, 1.0}
    assert 0.0 < explanation.mask.mean() < 1.0
    assert all(0.0 <= s <= 1.0 for _, s in explanation.words)


def test_a_seed_reproduces_the_explanation(audiogen):
    model, take = audiogen
    first = explain_take(model, take, FAST)
    again = explain_take(model, take, FAST)
    other = explain_take(model, take, ExplainSettings(epochs=3, seed=7))
    assert torch.equal(first.mask, again.mask) and first.words == again.words
    assert first.losses == again.losses
    assert not torch.equal(first.mask, other.mask)


def test_after_optimisation_the_factual_replay_is_closer_than_the_counterfactual(made):
    model, take = made
    explanation = explain_take(model, take, FIDELITY)
    start, end = explanation.losses[0], explanation.losses[-1]
    assert abs(start.factual - start.counterfactual) < 2e-3  # the mask starts near 0.5: both replays alike
    assert explanation.factual_similarity > explanation.counterfactual_similarity
    assert end.factual > start.factual and end.counterfactual < start.counterfactual


@pytest.mark.parametrize("word", [1, 2, 6])  # dog, barking, rain
def test_a_word_that_cannot_reach_the_lm_is_never_the_most_important(made, word):
    model, take = made
    t5 = model.bundle.conditioners["description"]
    text = split_prompt(t5.tokenizer, PROMPT)
    cross, _ = t5.encode([PROMPT])
    cross = cross.clone()  # [1, L, D]
    rows = [i for i, owner in enumerate(text.word_of_piece) if owner == word]
    cross[:, rows] = 0.0  # zero keys and values: the mask on these rows cannot change the LM's output
    codes = torch.from_numpy(take.codes)
    explanation = explain_codes(model.bundle.lm, model.bundle.pattern, cross, codes, text, model.frame_rate, FIDELITY)
    scores = [s for _, s in explanation.words]
    assert scores[word] < max(scores)
    assert sorted(scores, reverse=True).index(scores[word]) >= 3


def test_progress_per_epoch_and_cancel(audiogen):
    model, take = audiogen
    flags = [p.requires_grad for p in model.bundle.lm.parameters()]
    seen = []
    explain_take(model, take, ExplainSettings(epochs=4), progress=lambda step, total: seen.append((step, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    token, steps = CancelToken(), []

    def cancel_after_two(step, total):
        steps.append(step)
        if step == 2:
            token.cancel()

    with pytest.raises(GenerationCancelled):
        explain_take(model, take, ExplainSettings(epochs=50), progress=cancel_after_two, cancel=token)
    assert steps == [1, 2]
    assert [p.requires_grad for p in model.bundle.lm.parameters()] == flags  # the LM is given back as it was
    assert any(flags)


def test_recorded_hidden_states_predict_the_greedy_take(made):
    # The teacher-forced pass is the generation's conditional branch: with the null branch, CFG argmax of the
    # heads gives back every token of the greedy take.
    model, take = made
    lm, pattern = model.bundle.lm, model.bundle.pattern
    cross, _ = model.bundle.conditioners["description"].encode([PROMPT])
    codes = torch.from_numpy(take.codes)
    with frozen(lm):
        sequence = input_steps(lm, pattern, codes)  # [1, K, S]
        rows = [record_hidden(lm, sequence, text_keys(lm, c)) for c in (cross.clone(), torch.zeros_like(cross))]
        masked = masked_hidden(lm, sequence, text_keys(lm, cross.clone()), torch.ones(1, *sequence.shape[-1:], 14))
    assert torch.allclose(masked[0], rows[0], atol=1e-5)
    logits = lm.heads(torch.stack(rows))  # [2, K, S, card]
    logits = torch.cat([logits, torch.full_like(logits[:, :, :1], float("nan"))], dim=2)  # the last step
    aligned, valid = pattern.revert_logits(logits, codes.shape[-1])  # [2, K, T, card]
    guided = apply_cfg(aligned[0], aligned[1], take.params.cfg_coef).argmax(-1)  # [K, T]
    assert valid.all() and torch.equal(guided, codes)


def test_window_to_steps_follows_the_delay_pattern():
    timing = StepTiming(frame_rate=50.0, frames=50, lead=1, delays=(0, 1, 2, 3))
    assert timing.steps == 53
    assert timing.window_steps(None) == (0, 53)
    assert timing.window_steps((0.0, 0.5)) == (0, 28)  # frames 0..24: codebook 3 of frame 24 at step 27
    assert timing.window_steps((0.2, 0.4)) == (10, 23)
    assert timing.window_steps((0.9, 5.0)) == (45, 53)
    for bad in [(0.5, 0.5), (-1.0, 0.2), (1.5, 2.0), (0.0, math.nan)]:
        with pytest.raises(InvalidParameterError):
            timing.window_steps(bad)


def test_rescore_reads_a_window_of_the_same_mask(audiogen):
    model, take = audiogen
    whole = explain_take(model, take, FAST)
    part = explain_take(model, take, FAST, window=(0.2, 0.4))
    assert torch.equal(whole.mask, part.mask)
    assert whole.rescore((0.2, 0.4)).words == part.words
    assert part.token_scores == pytest.approx(whole.mask[10:23].mean(dim=0).tolist())
    assert part.words != whole.words and part.rescore(None).words == whole.words
    with pytest.raises(InvalidParameterError):
        explain_take(model, take, FAST, window=(3.0, 4.0))


def test_regenerated_takes_use_the_mask_and_the_take_seed(audiogen):
    model, take = audiogen
    same = masked_take(model, take, torch.ones(53, 14), "ones")
    assert np.array_equal(same.codes, take.codes)  # an all-ones mask is the model as trained
    explanation = explain_take(model, take, FIDELITY)
    factual = regenerate_take(model, take, explanation)
    counter = regenerate_take(model, take, explanation, counterfactual=True)
    assert factual.codes.shape == counter.codes.shape == take.codes.shape
    assert not np.array_equal(factual.codes, counter.codes)
    assert (factual.extra["explained"], counter.extra["explained"]) == ("factual", "counterfactual")
    assert np.array_equal(regenerate_take(model, take, explanation).codes, factual.codes)
    assert factual.wav.shape == take.wav.shape


def test_models_without_text_cross_attention_are_refused(engine, fixtures_dir, audiogen):
    _, take = audiogen
    for name, words in [("musicgen-melody", "Melody takes cannot be explained"), ("magnet", "MAGNeT")]:
        model = engine.load(str(fixtures_dir / name))
        with pytest.raises(InvalidParameterError, match=words):
            explain_take(model, take, FAST)


def test_bad_takes_and_settings_are_refused(audiogen):
    model, take = audiogen
    from dataclasses import replace

    with pytest.raises(InvalidParameterError, match="codes"):
        explain_take(model, replace(take, codes=take.codes[:2]), FAST)
    with pytest.raises(InvalidParameterError, match="no prompt"):
        explain_take(model, replace(take, prompt="  "), FAST)
    with pytest.raises(InvalidParameterError, match="longer"):
        explain_take(model, replace(take, codes=np.zeros((4, 501), dtype=np.int64)), FAST)
    with pytest.raises(InvalidParameterError, match="tau"):
        explain_take(model, take, ExplainSettings(tau=0.0))


def test_pieces_are_placed_in_the_words_the_user_typed(engine, fixtures_dir):
    tokenizer = engine.load(str(fixtures_dir / "audiogen")).bundle.conditioners["description"].tokenizer
    text = split_prompt(tokenizer, "ticktocks, hello-world")
    assert text.words == ["ticktocks,", "hello-world"]
    assert text.pieces[-1] == "</s>" and text.word_of_piece[-1] is None
    assert "<unk>" in text.pieces  # '-' is not in the vocabulary, yet the piece stays in its word
    assert text.word_of_piece[:-1] == [0] * 8 + [1] * 8
    # the sentencepiece fallback for tokenizers without offsets
    assert _by_word_starts(["▁a", "▁do", "g", "▁", "in", "</s>"], [False] * 5 + [True], 3) == [0, 1, 1, 2, 2, None]


def test_word_scores_take_the_max_or_mean_of_their_pieces():
    text = PromptPieces("big dogs", ["big", "dogs"], ["▁big", "▁do", "gs", "</s>"], [0, 1, 1, None])
    assert word_scores(text, [0.2, 0.9, 0.3, 1.0]) == [("big", 0.2), ("dogs", 0.9)]
    assert word_scores(text, [0.2, 0.9, 0.3, 1.0], "mean") == [("big", 0.2), ("dogs", pytest.approx(0.6))]
    lonely = PromptPieces("a ∅", ["a", "∅"], ["▁a", "</s>"], [0, None])
    assert word_scores(lonely, [0.5, 0.7]) == [("a", 0.5), ("∅", 0.0)]


def test_cli_prints_one_word_and_score_per_line(audiogen, tmp_path, capsys):
    from core.cli.main import main

    model, take = audiogen
    files = save_take(take, tmp_path, "take")
    assert main(["explain", str(files.sidecar), "--epochs", "2", "--seed", "3", "--window", "0", "0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == PROMPT.split()
    scores = [float(line.split("\t")[1]) for line in lines]
    expected = explain_take(model, take, ExplainSettings(epochs=2, seed=3), window=(0.0, 0.5))
    assert scores == pytest.approx([s for _, s in expected.words], abs=1e-4)
    assert main(["explain", str(files.sidecar), "--window", "1", "0"]) == 2

"""The engine against audiocraft's recorded references: conditioner, LM logits with CFG, greedy takes,
continuation and the sampling distributions (tiny fixture checkpoints in the release format)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from core.decoding.sampling import apply_cfg, logits_to_probs
from core.engine import Engine, GenerationRequest, generate_variations
from core.nn.lm import Conditions
from core.params import GenerationParams
from core.takes.audio_io import AudioClip

PROMPTS = ["dog barking", "sirens of an emergency vehicle", "footsteps in a corridor"]
GREEDY = GenerationParams(duration=1.0, use_sampling=False, cfg_coef=3.0)
AR_FOLDERS = ["musicgen", "audiogen", "musicgen-hfcodec", "musicgen-stereo"]


@pytest.fixture(scope="module")
def engine():
    return Engine()


def _refs(fixtures_dir, folder, name="reference_single.npz"):
    return np.load(fixtures_dir / folder / name, allow_pickle=False)


@pytest.mark.parametrize("folder", ["musicgen", "audiogen"])
def test_text_conditioner_matches_audiocraft(engine, fixtures_dir, folder):
    ref = _refs(fixtures_dir, folder, "reference_outputs.npz")
    model = engine.load(fixtures_dir / folder)
    cond, mask = model.bundle.conditioners["description"].encode(PROMPTS + [""])
    np.testing.assert_array_equal(mask.numpy(), ref["text.cond_mask"])
    np.testing.assert_allclose(cond.numpy(), ref["text.cond"], atol=1e-5)


@pytest.mark.parametrize("folder", ["musicgen", "audiogen", "musicgen-stereo"])
def test_lm_logits_and_cfg_match_audiocraft(engine, fixtures_dir, folder):
    ref = _refs(fixtures_dir, folder, "reference_outputs.npz")
    bundle = engine.load(fixtures_dir / folder).bundle
    codes = torch.from_numpy(ref["lm.codes"]).long()
    sequence, mask = bundle.pattern.build(codes, bundle.lm.special_token, valid_only=True)
    np.testing.assert_array_equal(sequence.numpy(), ref["lm.pattern_sequence"])
    np.testing.assert_array_equal(mask.numpy(), ref["lm.pattern_mask"])
    cond = Conditions(cross=torch.from_numpy(ref["lm.cfg_cond.description"]))
    with torch.inference_mode():
        logits = bundle.lm(torch.cat([sequence, sequence]), cond)
    np.testing.assert_allclose(logits.numpy(), ref["lm.forward_logits"], atol=1e-5)
    pred, pred_mask = bundle.pattern.revert_logits(logits, codes.shape[-1])
    np.testing.assert_array_equal(pred_mask.numpy(), ref["lm.pred_mask"][0])
    np.testing.assert_allclose(pred.numpy(), ref["lm.pred_logits"], atol=1e-5, equal_nan=True)
    if "lm.pred_logits_cfg" in ref:
        guided = apply_cfg(pred[:3], pred[3:], 3.0)
        np.testing.assert_allclose(guided.numpy(), ref["lm.pred_logits_cfg"], atol=1e-4, equal_nan=True)


@pytest.mark.parametrize("folder", AR_FOLDERS)
@pytest.mark.parametrize("index", [0, 1, 2])
def test_greedy_take_of_each_prompt_alone_matches_audiocraft(engine, fixtures_dir, folder, index):
    ref = _refs(fixtures_dir, folder)
    take = engine.load(fixtures_dir / folder).generate(GenerationRequest(PROMPTS[index], GREEDY, seed=0))
    np.testing.assert_array_equal(take.codes, ref[f"gen1.{index}.tokens"][0])
    assert take.codes.dtype == np.int64
    np.testing.assert_allclose(take.wav, ref[f"gen1.{index}.wav"][0], atol=1e-4)
    assert take.sample_rate == (16000 if folder == "audiogen" else 32000)


@pytest.mark.parametrize("folder", ["musicgen", "musicgen-hfcodec", "musicgen-stereo"])
@pytest.mark.parametrize("index", [0, 1, 2])
def test_greedy_continuation_matches_audiocraft(engine, fixtures_dir, folder, index):
    ref, batched = _refs(fixtures_dir, folder), _refs(fixtures_dir, folder, "reference_outputs.npz")
    clip = AudioClip(batched["cont.prompt_wav"][index], 32000)
    take = engine.load(fixtures_dir / folder).generate(GenerationRequest(PROMPTS[index], GREEDY, 0, continuation=clip))
    np.testing.assert_array_equal(take.codes[:, :25], ref[f"cont1.{index}.prompt_tokens"][0])
    np.testing.assert_array_equal(take.codes, ref[f"cont1.{index}.tokens"][0])
    if f"cont1.{index}.wav" in ref:
        np.testing.assert_allclose(take.wav, ref[f"cont1.{index}.wav"][0], atol=1e-4)


@pytest.mark.parametrize("folder", ["musicgen", "audiogen"])
def test_sampling_distributions_match_audiocraft(engine, fixtures_dir, folder):
    """Teacher-forced on the greedy take, the top-k / top-p vectors at the first 5 steps equal audiocraft's."""
    ref = _refs(fixtures_dir, folder)
    model = engine.load(fixtures_dir / folder)
    bundle = model.bundle
    codes = torch.from_numpy(ref["gen1.0.tokens"]).long()
    sequence, _ = bundle.pattern.build(codes, bundle.lm.special_token)
    text, _ = bundle.conditioners["description"].encode([PROMPTS[0]])
    cond = Conditions(cross=torch.cat([text, torch.zeros_like(text)]))
    with torch.inference_mode():
        logits = bundle.lm(torch.cat([sequence[..., :5], sequence[..., :5]]), cond)  # [2, K, 5, card]
    for step in range(5):
        guided = apply_cfg(logits[:1, :, step], logits[1:, :, step], 3.0)
        np.testing.assert_allclose(guided.numpy(), ref[f"sample.{step}.logits_cfg"], atol=1e-4)
        topk = logits_to_probs(guided, 1.0, top_k=10)
        topp = logits_to_probs(guided, 1.0, top_k=10, top_p=0.9)
        np.testing.assert_allclose(topk.numpy(), ref[f"sample.{step}.probs_topk"], atol=1e-5)
        np.testing.assert_allclose(topp.numpy(), ref[f"sample.{step}.probs_topp"], atol=1e-5)


def test_sampled_take_is_reproducible_from_its_seed(engine, fixtures_dir):
    model = engine.load(fixtures_dir / "musicgen")
    params = GenerationParams(duration=0.5, top_k=10, temperature=1.0)
    a = model.generate(GenerationRequest("dog barking", params, seed=7))
    b = model.generate(GenerationRequest("dog barking", params, seed=7))
    c = model.generate(GenerationRequest("dog barking", params, seed=8))
    np.testing.assert_array_equal(a.codes, b.codes)
    assert not np.array_equal(a.codes, c.codes)


def test_variation_equals_the_take_regenerated_alone_from_its_seed(engine, fixtures_dir):
    model = engine.load(fixtures_dir / "audiogen")
    params = GenerationParams(duration=0.5, top_k=10)
    takes = generate_variations(model, GenerationRequest("sirens", params, seed=100), 3)
    assert [t.seed for t in takes] == [100, 101, 102]
    alone = model.generate(GenerationRequest("sirens", params, seed=102))
    np.testing.assert_array_equal(takes[2].codes, alone.codes)


def test_take_does_not_depend_on_other_prompts(engine, fixtures_dir):
    """The longest prompt's batched reference equals it alone; the short one must not be padded by others."""
    model = engine.load(fixtures_dir / "musicgen")
    short = model.generate(GenerationRequest(PROMPTS[0], GREEDY, 0))
    model.generate(GenerationRequest(PROMPTS[1], GREEDY, 0))
    again = model.generate(GenerationRequest(PROMPTS[0], GREEDY, 0))
    np.testing.assert_array_equal(short.codes, again.codes)


def test_progress_and_cancel(engine, fixtures_dir):
    from core.cancel import CancelToken
    from core.errors import GenerationCancelled

    model = engine.load(fixtures_dir / "musicgen")
    seen: list[tuple[int, int]] = []
    model.generate(GenerationRequest("dog", GREEDY, 0), progress=lambda s, t: seen.append((s, t)))
    assert seen[0] == (1, 53) and seen[-1] == (53, 53)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    token = CancelToken()

    def cancel_at_10(step, total):
        if step == 10:
            token.cancel()

    calls: list[int] = []
    with pytest.raises(GenerationCancelled):
        model.generate(
            GenerationRequest("dog", GREEDY, 0),
            progress=lambda s, t: (calls.append(s), cancel_at_10(s, t)),
            cancel=token,
        )
    assert max(calls) == 10  # stopped within one decoding step


def test_long_form_generation_uses_windows(engine, fixtures_dir):
    """Beyond the model's window, takes are extended by sliding-window continuation (extend_stride)."""
    model = engine.load(fixtures_dir / "audiogen")
    full = model.bundle.capabilities
    model.bundle.capabilities = dataclasses.replace(full, max_duration=1.0)  # a 1 s window: cheap windowing
    try:
        params = GenerationParams(duration=2.2, use_sampling=False, extend_stride=0.6)
        seen: list[tuple[int, int]] = []
        take = model.generate(GenerationRequest("engine", params, 0), progress=lambda s, t: seen.append((s, t)))
    finally:
        model.bundle.capabilities = full
    assert take.codes.shape == (4, 110)
    assert take.wav.shape == (1, 110 * 320)
    assert seen[-1][0] == seen[-1][1] and len({t for _, t in seen}) == 1
    first_window = model.generate(GenerationRequest("engine", params.replace(duration=1.0), 0))
    np.testing.assert_array_equal(take.codes[:, :50], first_window.codes)


def test_models_of_one_engine_share_one_text_encoder(fixtures_dir):
    engine = Engine()
    musicgen = engine.load(fixtures_dir / "musicgen").bundle.conditioners["description"]
    magnet = engine.load(fixtures_dir / "magnet").bundle.conditioners["description"]
    assert musicgen.t5 is magnet.t5  # both name t5-base: one copy in memory
    assert musicgen.output_proj is not magnet.output_proj  # each model keeps its own trained projection
    engine.unload()
    again = engine.load(fixtures_dir / "musicgen").bundle.conditioners["description"]
    assert again.t5 is not musicgen.t5  # freeing every model frees the shared encoders too

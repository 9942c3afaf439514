"""MAGNeT masked decoding against audiocraft's recordings: stage logits, schedule, every step, whole takes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.cancel import CancelToken
from core.decoding.masked import MaskedContext, apply_remask, decode_step
from core.decoding.schedule import stage_plan
from core.decoding.spans import least_probable_spans, remask, restricted_attention_mask
from core.engine import Engine, GenerationRequest
from core.errors import GenerationCancelled, InvalidParameterError
from core.generation.generate import ConditionBuilder
from core.nn.lm import Conditions
from core.params import GenerationParams

FOLDERS = ["magnet", "audio-magnet"]
PROMPTS = ["dog barking", "sirens of an emergency vehicle", "footsteps in a corridor"]
NEAR_TIE = 1e-4  # a top1-top2 margin below this may legitimately flip under float noise
GREEDY = GenerationParams(
    use_sampling=False,
    top_k=0,
    top_p=0.0,
    temperature=3.0,
    max_cfg_coef=10.0,
    min_cfg_coef=1.0,
    decoding_steps=(20, 10, 10, 10),
    span_arrangement="nonoverlap",
    duration=10.0,
)
FAST = GenerationParams(duration=2.0, top_k=0, top_p=0.9, temperature=3.0, decoding_steps=(2, 2, 1, 1))


def _npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return dict(npz)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture(scope="module", params=FOLDERS)
def folder(request, fixtures_dir) -> Path:
    return fixtures_dir / request.param


@pytest.fixture(scope="module")
def magnet(engine, fixtures_dir):
    return engine.load(fixtures_dir / "magnet")


def schedule(decoding_steps, units: int, temperature: float, max_cfg: float, min_cfg: float) -> list:
    """All steps of a generation, stage after stage, as core.decoding.masked plans them."""
    plans = (
        stage_plan(stage, steps, units, temperature, max_cfg, min_cfg) for stage, steps in enumerate(decoding_steps)
    )
    return [plan for stage in plans for plan in stage]


def _plans(folder: Path, model) -> list:
    units = int(model.max_duration * model.frame_rate) // model.bundle.span_len
    return schedule(GREEDY.decoding_steps, units, GREEDY.temperature, GREEDY.max_cfg_coef, GREEDY.min_cfg_coef)


# --- forward pass and schedule -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", range(4))
def test_stage_logits_match_audiocraft(engine, folder, stage):
    """Non-causal attention at stage 0, |i-j| <= subcodes_context (additive, xformers semantics) above it."""
    lm = engine.load(folder).bundle.lm
    refs = _npz(folder / "reference_outputs.npz")
    cond = Conditions(cross=torch.from_numpy(refs["lm.cfg_cond.description"]))  # [6, L, D]
    seq = torch.from_numpy(refs[f"lm.stage{stage}.sequence"])  # [3, K, 100]
    ctx = MaskedContext.build(lm, cond, seq.shape[-1], span_len=3, arrangement="nonoverlap")
    with torch.inference_mode():
        hidden = lm.hidden(torch.cat([seq, seq]), cond, attn_mask=ctx.local_mask if stage else None)
        logits = lm.head(stage, hidden)  # [6, 100, card]
    np.testing.assert_allclose(logits.numpy(), refs[f"lm.stage{stage}.logits"], atol=2e-5, rtol=0)


def test_restricted_attention_window():
    mask = restricted_attention_mask(5, 1, torch.device("cpu"), torch.float32)
    inf = float("-inf")
    expected = [
        [0, 0, inf, inf, inf],
        [0, 0, 0, inf, inf],
        [inf, 0, 0, 0, inf],
        [inf, inf, 0, 0, 0],
        [inf, inf, inf, 0, 0],
    ]
    assert mask.tolist() == expected
    assert restricted_attention_mask(5, None, torch.device("cpu"), torch.float32) is None


def test_schedule_matches_audiocraft(engine, folder):
    model = engine.load(folder)
    recorded = json.loads((folder / "reference_outputs.json").read_text())["summary"]["gen"]["schedule"]
    plans = _plans(folder, model)
    assert len(plans) == len(recorded) == 50
    for plan, ref in zip(plans, recorded, strict=True):
        assert (plan.stage, plan.num_masked) == (ref["stage"], ref["num_masked_chunks"])
        assert plan.mask_p == ref["mask_p"] and plan.cfg_coef == ref["cfg_coef"]
        assert plan.temperature == ref["temperature"]
        assert plan.softmax_temperature == ref["softmax_temperature"]


# --- masking ---------------------------------------------------------------------------------------------------


def test_nonoverlap_remask_takes_the_least_confident_spans():
    scores = torch.tensor([[0.1, 0.7, 0.4], [0.9, -1e4, 0.2]])
    mask = remask(scores, 2, span_len=3, arrangement="nonoverlap")
    assert mask.int().tolist() == [[0, 0, 0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 1, 1, 1]]


def test_stride1_masks_least_probable_overlapping_spans():
    # Frame scores (-log p); span sums by start frame: 8.6, 5.6, 2.7, 2.0, 3.9, 5.7, 3.7, 1.8.
    scores = torch.tensor([3.0, 2.9, 2.7, 0.0, 0.0, 2.0, 1.9, 1.8, 0.0, 0.0])
    # target 5: search 1..3 spans, tries 2 (starts 0, 5: 6 frames > 5), then stops at 2.
    assert least_probable_spans(scores, 5, span_len=3).int().tolist() == [[1, 1, 1, 0, 0, 1, 1, 1, 0, 0]]
    # target 6: tries 3 spans (starts 0, 5, 1: 7 frames > 6) and, as audiocraft, keeps that last try.
    assert least_probable_spans(scores, 6, span_len=3).int().tolist() == [[1, 1, 1, 1, 0, 1, 1, 1, 0, 0]]


# --- step by step (teacher forcing) -----------------------------------------------------------------------------


def _stage_codes(tokens: torch.Tensor, row: torch.Tensor, stage: int, mask_id: int) -> torch.Tensor:
    """LM input of a step: codebooks < stage decided, `row` [B, T] at stage, mask above. -> [B, K, T]"""
    codes = torch.full_like(tokens, mask_id)
    codes[:, :stage] = tokens[:, :stage]
    codes[:, stage] = row
    return codes


def _teacher_forced(model, cond: Conditions, tokens: np.ndarray, inputs: np.ndarray, margin: np.ndarray) -> None:
    """For every recorded step input, our step + re-masking must give the next recorded input.

    tokens [B, K, T] final codes, inputs [steps, B, T] stage rows fed to the LM, margin [steps, B, T].
    Differences are allowed only in spans holding a near-tie of that step.
    """
    bundle = model.bundle
    lm, span = bundle.lm, bundle.span_len
    tokens_t = torch.from_numpy(tokens)
    plans = schedule(
        GREEDY.decoding_steps, tokens.shape[-1] // span, GREEDY.temperature, GREEDY.max_cfg_coef, GREEDY.min_cfg_coef
    )
    ctx = MaskedContext.build(lm, cond, tokens.shape[-1], span, "nonoverlap")
    with torch.inference_mode():
        for j, plan in enumerate(plans):
            codes = _stage_codes(tokens_t, torch.from_numpy(inputs[j].astype(np.int64)), plan.stage, lm.special_token)
            scores = decode_step(ctx, codes, plan.stage, plan, GREEDY, None)
            if j + 1 < len(plans) and plans[j + 1].stage == plan.stage:
                apply_remask(ctx, codes, plan.stage, scores, plans[j + 1].num_masked)
                expected = inputs[j + 1]
            else:
                expected = tokens[:, plan.stage]
            differs = codes[:, plan.stage].numpy() != expected  # [B, T]
            near = (margin[j] < NEAR_TIE).reshape(len(expected), -1, span).any(-1).repeat(span, -1)
            assert not (differs & ~near).any(), f"step {j} (stage {plan.stage}): {np.argwhere(differs & ~near)[:5]}"


# All three prompts of magnet; audio-magnet's prompt 1 has the most near-ties (8 steps below 1e-4).
@pytest.mark.parametrize("name, index", [("magnet", 0), ("magnet", 1), ("magnet", 2), ("audio-magnet", 1)])
def test_every_step_matches_audiocraft_single_prompt(engine, fixtures_dir, name, index):
    folder = fixtures_dir / name
    model = engine.load(folder)
    refs = _npz(folder / "reference_single.npz")
    cond = ConditionBuilder(model, PROMPTS[index], None, True, 0)()
    key = f"gen1.{index}"
    _teacher_forced(
        model,
        cond,
        refs[f"{key}.tokens"],
        refs[f"{key}.trace.stage_inputs"],
        refs[f"{key}.trace.margin"].astype(np.float32),
    )


def test_every_step_matches_audiocraft_batched(magnet, fixtures_dir):
    refs = _npz(fixtures_dir / "magnet" / "reference_outputs.npz")
    cond = Conditions(cross=torch.from_numpy(refs["lm.cfg_cond.description"]))  # [3 prompts; 3 null]
    _teacher_forced(
        magnet, cond, refs["gen.tokens"], refs["gen.trace.stage_inputs"], refs["gen.trace.margin"].astype(np.float32)
    )


# --- whole takes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(3))
def test_greedy_take_equals_audiocraft(engine, folder, index):
    """Tokens equal audiocraft's; a near-tie step may flip only its own codebook and the ones after it."""
    model = engine.load(folder)
    refs = _npz(folder / "reference_single.npz")
    key = f"gen1.{index}"
    take = model.generate(GenerationRequest(PROMPTS[index], GREEDY, seed=0))
    expected = refs[f"{key}.tokens"][0]  # [K, 498]
    assert take.codes.shape == expected.shape == (4, 498)
    near_steps = np.nonzero(refs[f"{key}.trace.min_margin"][:, 0] < NEAR_TIE)[0]
    first_free = _plans(folder, model)[near_steps[0]].stage if len(near_steps) else 4
    np.testing.assert_array_equal(take.codes[:first_free], expected[:first_free])
    if not np.array_equal(take.codes, expected):
        pytest.xfail(f"tokens differ after a recorded near-tie (margin < {NEAR_TIE}) in codebook {first_free}")
    if index == 0:
        np.testing.assert_allclose(take.wav, refs[f"{key}.wav"][0], atol=1e-6, rtol=0)


def test_sampling_is_reproducible_from_the_seed(magnet):
    for params in (FAST, FAST.replace(top_p=0.0, top_k=10)):  # top-p (MAGNeT's default) and top-k draws
        first = magnet.generate(GenerationRequest("dog barking", params, seed=7))
        again = magnet.generate(GenerationRequest("dog barking", params, seed=7))
        np.testing.assert_array_equal(first.codes, again.codes)
        assert first.codes.shape == (4, 100) and first.codes.max() < 64 and first.codes.min() >= 0
    other = magnet.generate(GenerationRequest("dog barking", params, seed=8))
    assert not np.array_equal(first.codes, other.codes)


def test_shorter_take_is_the_start_of_the_segment(magnet):
    full = magnet.generate(GenerationRequest("dog barking", FAST.replace(duration=10.0), seed=3))
    short = magnet.generate(GenerationRequest("dog barking", FAST.replace(duration=1.5), seed=3))
    assert full.codes.shape == (4, 498) and short.codes.shape == (4, 75)
    np.testing.assert_array_equal(short.codes, full.codes[:, :75])
    assert short.wav.shape[-1] == 75 * 640


def test_refuses_a_longer_duration_and_wrong_step_counts(magnet):
    with pytest.raises(InvalidParameterError, match="at most 10 s"):
        magnet.generate(GenerationRequest("dog barking", FAST.replace(duration=12.0), seed=0))
    with pytest.raises(InvalidParameterError, match="4 decoding step counts"):
        magnet.generate(GenerationRequest("dog barking", FAST.replace(decoding_steps=(3, 2)), seed=0))


def test_progress_counts_every_step_and_cancel_stops(magnet):
    seen = []
    magnet.generate(GenerationRequest("dog barking", FAST, seed=1), progress=lambda s, t: seen.append((s, t)))
    assert seen == [(s, 6) for s in range(1, 7)]

    token = CancelToken()

    def cancel_at_four(step: int, total: int) -> None:
        if step == 4:
            token.cancel()

    calls = []
    with pytest.raises(GenerationCancelled):
        magnet.generate(
            GenerationRequest("dog barking", FAST, seed=1),
            progress=lambda s, t: (calls.append(s), cancel_at_four(s, t)),
            cancel=token,
        )
    assert calls == [1, 2, 3, 4]


def test_stride1_decodes_the_whole_segment(magnet):
    params = GREEDY.replace(span_arrangement="stride1", decoding_steps=(3, 2, 2, 2))
    take = magnet.generate(GenerationRequest("dog barking", params, seed=0))
    again = magnet.generate(GenerationRequest("dog barking", params, seed=0))
    assert take.codes.shape == (4, 500)  # no trimming to a multiple of the span length
    assert take.codes.min() >= 0 and take.codes.max() < 64
    np.testing.assert_array_equal(take.codes, again.codes)
    sampled = magnet.generate(GenerationRequest("dog barking", FAST.replace(span_arrangement="stride1"), seed=2))
    assert sampled.codes.shape == (4, 100) and sampled.codes.max() < 64


# --- command line -----------------------------------------------------------------------------------------------


def test_cli_magnet_flags_reach_the_take(fixtures_dir, tmp_path, capsys):
    from core.cli.main import main

    args = [
        "generate",
        "dog barking",
        "--model",
        str(fixtures_dir / "magnet"),
        "--duration",
        "1",
        "--seed",
        "4",
        "--decoding-steps",
        "3,2,2,1",
        "--max-cfg",
        "6",
        "--min-cfg",
        "2",
        "--span-arrangement",
        "stride1",
        "--precision",
        "fp32",  # the exact mode, remade below (auto's pick is measured per session)
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    wav = Path(capsys.readouterr().out.strip())
    meta = json.loads(wav.with_suffix(".json").read_text())
    assert meta["parameters"]["decoding_steps"] == [3, 2, 2, 1]
    assert (meta["parameters"]["max_cfg_coef"], meta["parameters"]["min_cfg_coef"]) == (6.0, 2.0)
    assert meta["parameters"]["span_arrangement"] == "stride1"
    codes = np.load(wav.parent / meta["codes"])
    params = GenerationParams.from_dict(meta["parameters"])
    assert meta["precision"] == "fp32"
    model = Engine(precision="fp32").load(fixtures_dir / "magnet")
    take = model.generate(GenerationRequest("dog barking", params, seed=4))
    np.testing.assert_array_equal(codes, take.codes)


def test_cli_rejects_bad_decoding_steps(fixtures_dir, capsys):
    from core.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "x", "--model", str(fixtures_dir / "magnet"), "--decoding-steps", "20,ten"])
    assert exit_info.value.code == 2
    assert "--decoding-steps" in capsys.readouterr().err
    assert main(["generate", "x", "--model", str(fixtures_dir / "magnet"), "--decoding-steps", "3,2"]) == 2
    assert "4 decoding step counts" in capsys.readouterr().err

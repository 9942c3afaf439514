"""Our T5 text encoder and tokenizer against transformers' (imported here only: the app's path never imports it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.errors import ModelNotFoundError
from core.models.loader import load_t5
from core.models.text_encoder import load_text_encoder

PROMPTS = [
    "dog barking",
    "",
    "Rain, on a tin roof!!  (heavy) -- 120 bpm; 4/4?",
    "café — naïve 東京 🎵 Straße",
    "  leading and trailing   spaces\tand\ttabs\nnewline  ",
    "<extra_id_0> a sentinel, and a literal </s> and <pad>",
    "thunder rolling over distant hills " * 40,  # 200+ tokens
]
NAMES = ["t5-base", "t5-large", "tiny-t5"]


def _name(fixtures_dir: Path, name: str) -> str:
    return str(fixtures_dir / name) if name == "tiny-t5" else name


@pytest.fixture(scope="module", params=NAMES)
def both(request, fixtures_dir):
    """(ours, transformers') tokenizer and encoder of one fixture T5 (hub names resolve through the fixture cache)."""
    from transformers import AutoTokenizer, T5EncoderModel

    name = _name(fixtures_dir, request.param)
    theirs = (
        AutoTokenizer.from_pretrained(name, local_files_only=True),
        T5EncoderModel.from_pretrained(name, local_files_only=True, dtype=torch.float32).eval(),
    )
    return load_text_encoder(name), theirs


def _assert_same_tokens(ours, theirs, prompts=PROMPTS):
    a = ours(prompts, return_tensors="pt", padding=True, verbose=False)
    b = theirs(prompts, return_tensors="pt", padding=True, verbose=False)
    assert torch.equal(a["input_ids"], b["input_ids"])
    assert torch.equal(a["attention_mask"], b["attention_mask"])
    return a


def test_tokens_and_mask_are_transformers(both):
    (ours, _), (theirs, _) = both
    _assert_same_tokens(ours, theirs)
    for prompt in PROMPTS:  # one prompt at a time, as the explainer asks: ids, pieces and character spans
        a, b = ours(prompt, return_offsets_mapping=True), theirs(prompt, return_offsets_mapping=True)
        assert a["input_ids"] == b["input_ids"] and a["attention_mask"] == b["attention_mask"]
        assert a["offset_mapping"] == [tuple(span) for span in b["offset_mapping"]]
        assert ours.convert_ids_to_tokens(a["input_ids"]) == theirs.convert_ids_to_tokens(b["input_ids"])
    assert (ours.model_max_length, ours.unk_token_id) == (theirs.model_max_length, theirs.unk_token_id)
    assert set(ours.all_special_ids) == set(theirs.all_special_ids)


def test_hidden_states_are_transformers(both):
    (tokenizer, ours), (_, theirs) = both
    tokens = tokenizer(PROMPTS, return_tensors="pt", padding=True)
    mask = tokens["attention_mask"].clone()
    mask[1] = 0  # the empty prompt: every key masked, as the conditioner does for the null condition
    with torch.inference_mode():
        a = ours(input_ids=tokens["input_ids"], attention_mask=mask).last_hidden_state
        b = theirs(input_ids=tokens["input_ids"], attention_mask=mask).last_hidden_state
    assert torch.isfinite(a).all()
    rows = [i for i in range(len(PROMPTS)) if i != 1]
    assert (a[rows] - b[rows]).abs().max() <= 1e-5


def test_gated_gelu_t5_and_bin_weights_match_transformers(tmp_path, fixtures_dir):
    """A T5 v1.1-style encoder (gated GELU feed-forward) stored as pytorch_model.bin."""
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        vocab_size=384, d_model=32, d_kv=8, d_ff=48, num_layers=3, num_heads=4, feed_forward_proj="gated-gelu"
    )
    torch.manual_seed(0)
    theirs = T5EncoderModel(config).eval()
    folder = tmp_path / "t5-gated"
    theirs.save_pretrained(folder)
    weights = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(weights, folder / "pytorch_model.bin")
    for part in ("tokenizer.json", "tokenizer_config.json", "spiece.model"):
        shutil.copy(fixtures_dir / "tiny-t5" / part, folder / part)
    tokenizer, ours = load_text_encoder(str(folder))
    tokens = tokenizer(PROMPTS, return_tensors="pt", padding=True)
    with torch.inference_mode():
        a = ours(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).last_hidden_state
        b = theirs(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).last_hidden_state
    assert (a - b).abs().max() <= 1e-5


def test_without_tokenizer_json_sentencepiece_gives_the_same_tokens(tmp_path, fixtures_dir):
    from transformers import AutoTokenizer

    folder = tmp_path / "t5-spiece"
    shutil.copytree(fixtures_dir / "tiny-t5", folder)
    (folder / "tokenizer.json").unlink()
    ours, _ = load_text_encoder(str(folder))
    theirs = AutoTokenizer.from_pretrained(str(fixtures_dir / "tiny-t5"), local_files_only=True)
    ordinary = [p for p in PROMPTS if "<" not in p and "  " not in p and "\t" not in p]
    tokens = _assert_same_tokens(ours, theirs, ordinary)
    assert tokens["input_ids"].shape[0] == len(ordinary)
    with pytest.raises(NotImplementedError):  # the explainer then places pieces by their word starts
        ours("dog", return_offsets_mapping=True)


def test_a_missing_text_encoder_is_a_readable_error(tmp_path, fixtures_dir):
    with pytest.raises(ModelNotFoundError, match="neither in the local Hugging Face cache"):
        load_t5("google-t5/t5-not-there")
    empty = tmp_path / "text_encoder"
    shutil.copytree(fixtures_dir / "tiny-t5", empty)
    (empty / "model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match="folder does not hold a readable Hugging Face T5"):
        load_t5(str(empty))

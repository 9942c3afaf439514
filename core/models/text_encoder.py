"""Loads a T5 text encoder and its tokenizer from a Hugging Face model folder or hub id, without transformers.

`load_text_encoder(name)` reads config.json + model.safetensors (or pytorch_model.bin) into `core.nn.t5.T5Encoder`
and the tokenizer from tokenizer.json (the `tokenizers` library), or from spiece.model (sentencepiece) when there
is no tokenizer.json. `T5Tokenizer` answers the calls the app makes of transformers' T5 tokenizer, with the
same ids and attention mask: `tok(texts, return_tensors="pt", padding=True)`, `tok(text,
return_offsets_mapping=True)`, `convert_ids_to_tokens`, `model_max_length`, `all_special_ids`, `unk_token_id`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import torch

from core.errors import CheckpointError
from core.models.pretrained import pretrained_file, read_config, read_weights
from core.nn.t5 import T5Config, T5Encoder

MAX_LENGTH_UNKNOWN = 512  # T5's training length, when tokenizer_config.json does not say


class TokenBatch(dict):
    """`input_ids`, `attention_mask` (and `offset_mapping` when asked): lists, or tensors [B, L] for "pt"."""

    def to(self, device) -> TokenBatch:
        return TokenBatch({k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.items()})


class T5Tokenizer:
    """A T5 tokenizer: text -> piece ids with `</s>` appended; batches padded on the right with `<pad>`."""

    def __init__(self, tokenizer_file: Path, config: dict) -> None:
        self.model_max_length = int(config.get("model_max_length") or MAX_LENGTH_UNKNOWN)
        if tokenizer_file.suffix == ".json":
            self._backend = _FastBackend(tokenizer_file)
        else:
            self._backend = _SentencePieceBackend(tokenizer_file)
        self.pad_token_id = self._backend.token_id(str(config.get("pad_token") or "<pad>"), 0)
        self.unk_token_id = self._backend.token_id(str(config.get("unk_token") or "<unk>"), 2)
        self.all_special_ids = self._backend.special_ids()

    def __call__(self, texts, return_tensors=None, padding=False, return_offsets_mapping=False, **_ignored):
        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        if return_offsets_mapping and not hasattr(self._backend, "offsets"):
            raise NotImplementedError("this tokenizer (sentencepiece) gives no character offsets")
        ids = [self._backend.encode(text) for text in batch]
        longest = max((len(row) for row in ids), default=0) if padding else 0
        out = TokenBatch(
            input_ids=[row + [self.pad_token_id] * (longest - len(row)) for row in ids],
            attention_mask=[[1] * len(row) + [0] * (longest - len(row)) for row in ids],
        )
        if return_offsets_mapping:
            out["offset_mapping"] = [
                self._backend.offsets(text) + [(0, 0)] * (longest - n)
                for text, n in zip(batch, map(len, ids), strict=True)
            ]
        if return_tensors == "pt":
            out = TokenBatch({k: torch.tensor(v, dtype=torch.long) for k, v in out.items()})
        elif single:
            out = TokenBatch({k: v[0] for k, v in out.items()})
        return out

    def convert_ids_to_tokens(self, ids) -> list[str]:
        return [self._backend.piece(int(i)) for i in ids]


class _FastBackend:
    """tokenizer.json through the `tokenizers` library (what transformers' fast T5 tokenizer runs)."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        try:
            self.tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises its own Exception for unreadable files
            raise CheckpointError(f"{path} is not a readable tokenizer ({exc}).") from exc
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self._as_transformers_t5()

    def _as_transformers_t5(self) -> None:
        """The pipeline transformers' T5 tokenizer (5.x) rebuilds around the file's vocabulary: the file's
        sentencepiece character map alone as normaliser (its strip / multi-space rules dropped), then words split
        on whitespace, each prefixed with `▁`. Same pieces for ordinary text; spans that start on the word."""
        from tokenizers import normalizers, pre_tokenizers

        spec = json.loads(self.tokenizer.to_str()).get("normalizer") or {}
        steps = spec.get("normalizers", []) if spec.get("type") == "Sequence" else [spec]
        charsmap = next((s["precompiled_charsmap"] for s in steps if s.get("type") == "Precompiled"), None)
        if charsmap is not None:
            self.tokenizer.normalizer = normalizers.Precompiled(base64.b64decode(charsmap))
        self.tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.WhitespaceSplit(),
                pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
            ]
        )

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return [tuple(span) for span in self.tokenizer.encode(text).offsets]

    def piece(self, index: int) -> str:
        return self.tokenizer.id_to_token(index)

    def token_id(self, token: str, default: int) -> int:
        found = self.tokenizer.token_to_id(token)
        return default if found is None else found

    def special_ids(self) -> list[int]:
        return sorted(index for index, token in self.tokenizer.get_added_tokens_decoder().items() if token.special)


class _SentencePieceBackend:
    """spiece.model through sentencepiece (transformers' slow T5 tokenizer): pieces, then `</s>`."""

    def __init__(self, path: Path) -> None:
        import sentencepiece

        try:
            self.sp = sentencepiece.SentencePieceProcessor(model_file=str(path))
        except (OSError, RuntimeError) as exc:
            raise CheckpointError(f"{path} is not a readable sentencepiece model ({exc}).") from exc

    def encode(self, text: str) -> list[int]:
        return list(self.sp.encode(text)) + [self.sp.eos_id()]

    def piece(self, index: int) -> str:
        size = self.sp.get_piece_size()
        return self.sp.id_to_piece(index) if index < size else f"<extra_id_{index - size}>"

    def token_id(self, token: str, default: int) -> int:
        found = self.sp.piece_to_id(token)
        return default if found == self.sp.unk_id() and token != self.sp.id_to_piece(found) else found

    def special_ids(self) -> list[int]:
        return sorted({self.sp.pad_id(), self.sp.eos_id(), self.sp.unk_id()} - {-1})


def t5_config(raw: dict, source: str) -> T5Config:
    try:
        return T5Config(
            vocab_size=int(raw["vocab_size"]),
            d_model=int(raw["d_model"]),
            d_kv=int(raw["d_kv"]),
            d_ff=int(raw["d_ff"]),
            num_layers=int(raw["num_layers"]),
            num_heads=int(raw["num_heads"]),
            relative_attention_num_buckets=int(raw.get("relative_attention_num_buckets", 32)),
            relative_attention_max_distance=int(raw.get("relative_attention_max_distance", 128)),
            layer_norm_epsilon=float(raw.get("layer_norm_epsilon", 1e-6)),
            feed_forward_proj=str(raw.get("feed_forward_proj", "relu")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"The T5 config of {source} is incomplete ({exc}).") from exc


def load_encoder_weights(config: T5Config, weights: dict[str, torch.Tensor], source: str) -> T5Encoder:
    """A `T5Encoder` holding the encoder half of a T5 checkpoint (a full T5's decoder and head are left out)."""
    state = {
        k: v.float() for k, v in weights.items() if k.startswith("encoder.") and k != "encoder.embed_tokens.weight"
    }
    state["shared.weight"] = weights.get("shared.weight", weights.get("encoder.embed_tokens.weight"))
    if state["shared.weight"] is None:
        raise CheckpointError(f"The T5 weights of {source} have no token embedding.")
    state["shared.weight"] = state["shared.weight"].float()
    try:
        with torch.device("meta"):
            model = T5Encoder(config)
        model.load_state_dict(state, strict=True, assign=True)
    except (RuntimeError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:400]
        raise CheckpointError(f"The T5 weights of {source} do not match its config: {detail}") from exc
    return model.eval().requires_grad_(False)


def load_text_encoder(name: str) -> tuple[T5Tokenizer, T5Encoder]:
    """(tokenizer, frozen encoder) of the T5 `name`; OSError when a file is missing, CheckpointError when unreadable."""
    files = {
        "config": pretrained_file(name, "config.json"),
        "weights": pretrained_file(name, "model.safetensors", "pytorch_model.bin"),
        "tokenizer": pretrained_file(name, "tokenizer.json", "spiece.model"),
    }
    missing = [what for what, path in files.items() if path is None]
    if missing:
        raise OSError(f"no {' or '.join(missing)} file found for '{name}'")
    tokenizer_config = pretrained_file(name, "tokenizer_config.json")
    extra = json.loads(tokenizer_config.read_text(encoding="utf-8")) if tokenizer_config else {}
    tokenizer = T5Tokenizer(files["tokenizer"], extra if isinstance(extra, dict) else {})
    config = t5_config(read_config(files["config"]), name)
    return tokenizer, load_encoder_weights(config, read_weights(files["weights"]), name)

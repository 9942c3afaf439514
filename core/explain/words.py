"""From T5 pieces back to the prompt's words: which piece belongs to which word, and word scores from pieces.

A word is a run of non-space characters of the prompt, as the user typed it ("ticktocks," is one word). Each
T5 piece is placed in the word its character span falls in (the tokenizer's offset mapping, which survives
`<unk>` pieces and normalisation); tokenizers without offsets fall back to the sentencepiece rule that a piece
starting with '▁' starts a word. The final '</s>' belongs to no word (AudioGenX's own read-out zips the
pieces without it with the mask, AudioGenX_demo.ipynb cell 21).

The repository prints piece scores only; a word's score here is the largest score of its pieces ("max"): a
word matters as much as its most important piece, and the score stays a mask value in [0, 1]. "mean" is the
alternative. A word with no piece of its own (nothing the tokenizer kept) scores 0: it never reached the LM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MERGES = ("max", "mean")


@dataclass(frozen=True)
class PromptPieces:
    """The prompt's words and its T5 pieces (one per condition row), each piece with its word or None."""

    prompt: str
    words: list[str]
    pieces: list[str]
    word_of_piece: list[int | None]


def word_spans(prompt: str) -> list[tuple[str, int, int]]:
    """Whitespace-separated words with their character spans, in prompt order."""
    return [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", prompt)]


def split_prompt(tokenizer, prompt: str) -> PromptPieces:
    """Tokenize `prompt` as the T5 conditioner does and place every piece in a word."""
    words = word_spans(prompt)
    try:
        encoded = tokenizer(prompt, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
    except (NotImplementedError, KeyError, TypeError):
        encoded, offsets = tokenizer(prompt), None
    ids = encoded["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    if offsets is not None:  # special pieces ('</s>') have an empty span
        owners = [_word_at(words, span) for span in offsets]
    else:  # '<unk>' stands for characters of the prompt: it belongs to a word
        special = set(getattr(tokenizer, "all_special_ids", [])) - {getattr(tokenizer, "unk_token_id", None)}
        owners = _by_word_starts(pieces, [i in special for i in ids], len(words))
    return PromptPieces(prompt, [w for w, _, _ in words], pieces, owners)


def _word_at(words: list[tuple[str, int, int]], span: tuple[int, int]) -> int | None:
    start, end = span
    if end <= start:
        return None
    for index, (_, w_start, w_end) in enumerate(words):
        if start < w_end and end > w_start:
            return index
    return None


def _by_word_starts(pieces: list[str], special: list[bool], n_words: int) -> list[int | None]:
    owners: list[int | None] = []
    word = -1
    for piece, is_special in zip(pieces, special, strict=True):
        if is_special:
            owners.append(None)
            continue
        if piece.startswith("▁") or word < 0:
            word += 1
        owners.append(word if word < n_words else None)
    return owners


def word_scores(text: PromptPieces, piece_scores: list[float], merge: str = "max") -> list[tuple[str, float]]:
    """One (word, score) per prompt word, in prompt order, from one score per piece."""
    grouped: list[list[float]] = [[] for _ in text.words]
    for owner, score in zip(text.word_of_piece, piece_scores, strict=True):
        if owner is not None:
            grouped[owner].append(score)
    combine = max if merge == "max" else (lambda xs: sum(xs) / len(xs))
    return [(word, float(combine(s)) if s else 0.0) for word, s in zip(text.words, grouped, strict=True)]

"""CLAP scores in words a sound designer reads: places ("closest of 12", "best fit of 3") with a small meter,
and tooltips that say what the number behind them means.

A CLAP similarity (about -1 to 1) has no fixed scale: 0.2 can be the best match of one prompt and the worst of
another. So rows show a take's place among the takes it is compared with, never the bare number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from core.clap.ranking import TEXT_MATCH
from core.takes.library import TakeRecord

METER_CELLS = 5
EMPTY_GAP = 0.2
"""A CLAP similarity this far below the best of a comparison shows as the shortest bar (CLAP similarities of
takes that sound alike lie within a few hundredths; a tenth is a clearly weaker match)."""
NOT_INDEXED = "not indexed yet: not ranked"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def meter(fraction: float) -> str:
    """▰▰▰▱▱: one to five cells, full for the best of a comparison."""
    full = 1 + round(max(0.0, min(1.0, fraction)) * (METER_CELLS - 1))
    return "▰" * full + "▱" * (METER_CELLS - full)


def places(scores: Sequence[float]) -> list[tuple[int, float]]:
    """Per score: its place (1 = highest; ties share one) and how close it comes to the highest (1: as high,
    0: EMPTY_GAP or more below it), so that near-equal takes show near-equal bars."""
    if not scores:
        return []
    high = max(scores)
    return [(1 + sum(other > s for other in scores), max(0.0, 1.0 - (high - s) / EMPTY_GAP)) for s in scores]


def search_label(place: int, count: int, fraction: float) -> str:
    where = "closest" if place == 1 else f"{ordinal(place)} closest"
    return f"{meter(fraction)} {where} of {count}"


def search_tip(title: str, place: int, count: int, score: float) -> str:
    return (
        f"{title}: {ordinal(place)} of the {count} ranked takes. The bar compares this take with the closest one "
        f"(full bar). CLAP similarity {score:.3f}: higher is closer; it only compares the takes of one search."
    )


def fit_label(place: int, count: int, fraction: float) -> str:
    if count == 1:
        return "fits its prompt: the only scored take of it"
    return f"{meter(fraction)} {'best' if place == 1 else ordinal(place)} fit of {count}"


def fit_tip(place: int, count: int, score: float) -> str:
    return (
        f"How well the sound fits the words of its prompt: {ordinal(place)} of the {count} scored takes of this "
        f"prompt. CLAP text match {score:.3f}: higher fits better; it only compares takes of the same prompt."
    )


def prompt_fits(records: Iterable[TakeRecord]) -> dict[int, tuple[int, int, float, float]]:
    """Take id -> (place, count, text match, closeness to the best) among the scored takes of the same prompt
    in `records`."""
    by_prompt: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for record in records:
        score = record.extra.get(TEXT_MATCH)
        if isinstance(score, int | float) and not isinstance(score, bool):
            by_prompt[record.prompt].append((record.id, float(score)))
    fits = {}
    for group in by_prompt.values():
        for (take_id, score), (place, fraction) in zip(group, places([s for _, s in group]), strict=True):
            fits[take_id] = (place, len(group), score, fraction)
    return fits

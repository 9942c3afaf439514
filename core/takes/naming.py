"""Take and export file names: the slugs, each kind of take's stem, a take's three file paths, safe names.

Every take's file stem is made here: `library_stem` (the window's library), `generated_stem` (`generate` and
render manifests), `evaluation_stem` (`evaluate`) and `loop_stem` (`loop`); `TakeFiles.named` /
`TakeFiles.of_sidecar` give a take's NAME.wav, NAME.codes.npy and NAME.json.

A name is made safe for Windows, macOS and Linux at once: Unicode NFC, no ``<>:"/\\|?*`` or control
characters, no trailing dots or spaces, no reserved device names (``CON``, ``NUL``, ``COM1`` ...), at most
`MAX_CHARS` characters and `MAX_BYTES` UTF-8 bytes including the extension.

Existing files are never overwritten silently: `unique_stem` adds ``-2``, ``-3`` ... to the stem until no
file of the group (audio + sidecar) exists; the export layer refuses or replaces instead when asked to.
"""

from __future__ import annotations

import re
import string
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from core.errors import InvalidParameterError

MAX_CHARS = 150
MAX_BYTES = 240  # ext4 / APFS allow 255 bytes per name; leave room for a temporary prefix and suffix
PROMPT_CHARS = 60
DEFAULT_PATTERN = "{name}"
UNNAMED_PATTERN = "{prompt}_{model}_{seed}"
PATTERN_FIELDS = ("name", "prompt", "model", "seed", "index", "date")
"""`{name}` is the name the user gave the take (renamed in the window), else what UNNAMED_PATTERN makes."""

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]
}
_UCS_CAT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def sanitize(text: str, fallback: str = "untitled", max_chars: int = MAX_CHARS) -> str:
    """`text` as a file name (or stem) that Windows, macOS and Linux all accept."""
    name = unicodedata.normalize("NFC", text)
    name = _FORBIDDEN.sub("_", re.sub(r"\s+", " ", name)).strip(" .")
    name = _truncate(name, max_chars, MAX_BYTES)
    if not name:
        return fallback
    if name.split(".")[0].rstrip(" ").upper() in _RESERVED:
        name = "_" + name
    return name


def _truncate(name: str, max_chars: int, max_bytes: int) -> str:
    name = name[:max_chars]
    while len(name.encode("utf-8")) > max_bytes:
        name = name[:-1]
    return name.rstrip(" .")


def prompt_slug(text: str, limit: int, joiner: str) -> str:
    """The first words of `text` (punctuation dropped) that fit in `limit` characters; a long word is cut."""
    words = re.sub(r"[^\w'-]+|_+", " ", unicodedata.normalize("NFC", text)).strip().split(" ")
    out = ""
    for word in words:
        candidate = f"{out}{joiner}{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or words[0][:limit]


def ascii_slug(text: str, limit: int = 40) -> str:
    """A lower-case ASCII slug cut at `limit` characters ("Rain on a tin roof!" -> "rain-on-a-tin-roof"); the
    library's names, where `prompt_slug` keeps whole words in any script."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "take"


def model_label(model: str) -> str:
    """``facebook/musicgen-small`` -> ``musicgen-small``; a local folder -> its last component."""
    return Path(model.rstrip("/\\")).name or model


def _check_pattern(pattern: str) -> None:
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise InvalidParameterError(f"The naming pattern {pattern!r} is malformed: {exc}.") from exc
    for _literal, field, _spec, conversion in parsed:
        if field is None:
            continue
        if field not in PATTERN_FIELDS or conversion:
            known = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
            raise InvalidParameterError(f"The naming pattern may use only {known}; got {{{field}}}.")


def validate_pattern(pattern: str) -> str:
    """Return `pattern` if it uses only the known fields, else raise InvalidParameterError."""
    _check_pattern(pattern)
    try:
        pattern.format(name="n", prompt="p", model="m", seed=1, index=1, date="d")
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(f"The naming pattern {pattern!r} cannot be filled: {exc}.") from exc
    return pattern


def pattern_stem(
    pattern: str,
    prompt: str,
    model: str,
    seed: int,
    index: int = 1,
    day: date | None = None,
    name: str | None = None,
) -> str:
    """Fill the naming pattern and sanitise the result (extension not included); `name` is the take's given
    name, if it has one."""
    validate_pattern(pattern)
    values = {
        "prompt": prompt_slug(prompt, PROMPT_CHARS, "-") or "untitled",
        "model": model_label(model),
        "seed": seed,
        "index": index,
        "date": (day or date.today()).isoformat(),
    }
    given = " ".join((name or "").split())
    values["name"] = given or UNNAMED_PATTERN.format(**values)
    return sanitize(pattern.format(**values))


def library_stem(prompt: str, seed: int, created: float) -> str:
    """`20250102-130405-rain-on-a-tin-roof-s42`: a library take's date, prompt and seed, readable in a file manager."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(created))
    return f"{stamp}-{ascii_slug(prompt)}-s{seed}"


def generated_stem(prompt: str, model: str, seed: int, name: str | None = None) -> str:
    """`first_words_of_prompt_MODEL_sSEED` (`generate`, a render row), or `NAME_sSEED` for a row with a name."""
    if name:
        return sanitize(f"{name}_s{seed}")
    return sanitize(f"{prompt_slug(prompt, PROMPT_CHARS, '_')}_{model_label(model)}_s{seed}")


def evaluation_stem(index: int, prompt: str, seed: int) -> str:
    """`001-dog-barking-s0`: the take of prompt number `index` (from 0) of an evaluation."""
    return f"{index + 1:03d}-{ascii_slug(prompt)}-s{seed}"


def loop_stem(source_stem: str, bpm: float | None = None, bars: int | None = None) -> str:
    """`groove_loop-120bpm-4bars` (a music loop) or `rain_loop` (seamless): the source's name plus the loop."""
    tail = f"_loop-{bpm:g}bpm-{bars}bars" if bpm is not None else "_loop"
    return sanitize(source_stem + tail)


TAKE_SUFFIXES = (".wav", ".json", ".codes.npy")
"""The files of one take: NAME.wav, NAME.json and NAME.codes.npy (a name is free when none of them exists)."""


@dataclass(frozen=True)
class TakeFiles:
    """A take's three files."""

    wav: Path
    codes: Path
    sidecar: Path

    @classmethod
    def named(cls, folder: Path, name: str) -> TakeFiles:
        return cls(folder / f"{name}.wav", folder / f"{name}.codes.npy", folder / f"{name}.json")

    @classmethod
    def of_sidecar(cls, sidecar: Path, codes_name: str | None = None) -> TakeFiles:
        """The files beside `sidecar`; `codes_name` is the codes file the sidecar names, if it names one."""
        sidecar = Path(sidecar)
        codes = sidecar.parent / (codes_name or f"{sidecar.stem}.codes.npy")
        return cls(sidecar.with_suffix(".wav"), codes, sidecar)

    def by_suffix(self) -> dict[str, Path]:
        return {".wav": self.wav, ".codes.npy": self.codes, ".json": self.sidecar}


@dataclass(frozen=True)
class UcsFields:
    """Universal Category System name parts: CatID_FXName_CreatorID_SourceID[_UserData]."""

    cat_id: str
    fx_name: str = ""  # empty: taken from the prompt
    creator_id: str = "SD"
    source_id: str = "SoundDesk"
    user_data: str = ""

    def __post_init__(self) -> None:
        if not _UCS_CAT.match(self.cat_id):
            raise InvalidParameterError(
                f"A UCS CatID is letters and digits, starting with a letter (e.g. DOGBark): {self.cat_id!r}."
            )
        if not self.creator_id.strip() or not self.source_id.strip():
            raise InvalidParameterError("UCS names need a CreatorID and a SourceID.")


def _ucs_part(text: str) -> str:
    """Underscores separate UCS fields, so a field itself uses spaces or hyphens instead."""
    return re.sub(r"\s+", " ", sanitize(text.replace("_", " "), fallback="")).strip()


def ucs_stem(fields: UcsFields, prompt: str) -> str:
    """CatID_FXName_CreatorID_SourceID[_UserData]; FXName defaults to the prompt's first words."""
    fx = fields.fx_name or string.capwords(prompt_slug(prompt, 25, " "))
    parts = [
        fields.cat_id,
        _ucs_part(fx) or "Untitled",
        _ucs_part(fields.creator_id),
        _ucs_part(fields.source_id),
    ]
    if fields.user_data:
        parts.append(_ucs_part(fields.user_data))
    return sanitize("_".join(parts))


def unique_stem(folder: Path, stem: str, suffixes: Iterable[str], taken: Iterable[str] = ()) -> str:
    """`stem`, or `stem-2`, `stem-3` ... so that no `folder/stem+suffix` exists nor is in `taken`."""
    suffixes = tuple(suffixes)
    taken = {name.casefold() for name in taken}
    longest = max((len(s.encode("utf-8")) for s in suffixes), default=0)
    base = _truncate(stem, MAX_CHARS - longest - 4, MAX_BYTES - longest - 4) or "untitled"
    candidate, number = base, 1
    while _clashes(folder, candidate, suffixes, taken):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _clashes(folder: Path, stem: str, suffixes: tuple[str, ...], taken: set[str]) -> bool:
    # casefold: macOS and Windows folders are case-insensitive, so "Dog.wav" and "dog.wav" are the same file.
    names = [stem + s for s in suffixes]
    return any(n.casefold() in taken or (folder / n).exists() for n in names)

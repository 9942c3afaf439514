"""Export names: safe on every OS, filled from the pattern or UCS, never clashing with existing files."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest

from core.errors import InvalidParameterError
from core.takes.naming import (
    MAX_BYTES,
    MAX_CHARS,
    UcsFields,
    model_label,
    pattern_stem,
    sanitize,
    ucs_stem,
    unique_stem,
)

FORBIDDEN = '<>:"/\\|?*'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("dog: <bark>/close?", "dog_ _bark__close_"),
        ("CON", "_CON"),
        ("nul.wav", "_nul.wav"),
        ("com1", "_com1"),
        ("LPT9.flac", "_LPT9.flac"),
        ("console", "console"),
        ("trailing dots...", "trailing dots"),
        ("  spaces and dot . ", "spaces and dot"),
        ("tab\tand\nnewline", "tab and newline"),
        ("bell\x07char", "bell_char"),
        ("", "untitled"),
        ("...", "untitled"),
    ],
)
def test_sanitize_makes_names_every_os_accepts(raw: str, expected: str) -> None:
    assert sanitize(raw) == expected


def test_sanitize_normalises_unicode_to_nfc() -> None:
    decomposed = "cafe\u0301 ambience"  # e + combining acute
    name = sanitize(decomposed)
    assert name == "caf\u00e9 ambience"
    assert unicodedata.is_normalized("NFC", name)


def test_sanitize_limits_characters_and_utf8_bytes() -> None:
    assert len(sanitize("a" * 500)) == MAX_CHARS
    cjk = sanitize("雨" * 200)  # 3 bytes each in UTF-8
    assert len(cjk.encode("utf-8")) <= MAX_BYTES
    assert cjk == "雨" * (MAX_BYTES // 3)


def test_sanitized_names_can_be_created(tmp_path) -> None:
    for raw in ['a/b\\c:d*e?f"g<h>i|j', "CON", "x" * 400, "ends with dot.", "\x00\x1f\x7f"]:
        name = sanitize(raw)
        assert not any(c in name for c in FORBIDDEN)
        (tmp_path / name).write_bytes(b"")
        assert (tmp_path / name).exists()


def test_default_pattern_uses_prompt_words_model_and_seed() -> None:
    stem = pattern_stem("{prompt}_{model}_{seed}", "Dog barking: <loud>/close", "facebook/musicgen-small", 42)
    assert stem == "Dog-barking-loud-close_musicgen-small_42"


def test_pattern_fields_index_date_and_format_spec() -> None:
    stem = pattern_stem("{date}_{index:03d}_{seed}", "rain", "m", 7, index=5, day=date(2024, 3, 1))
    assert stem == "2024-03-01_005_7"


def test_pattern_prompt_is_cut_at_a_word_boundary() -> None:
    prompt = "a very long prompt " * 10
    stem = pattern_stem("{prompt}", prompt, "m", 1)
    joined = "-".join(prompt.split())
    assert 50 < len(stem) <= 60
    assert joined.startswith(stem) and joined[len(stem)] == "-"


def test_pattern_with_empty_prompt_falls_back() -> None:
    assert pattern_stem("{prompt}_{seed}", "???", "m", 3) == "untitled_3"


@pytest.mark.parametrize("pattern", ["{prompt.__class__}", "{unknown}", "{seed!r}", "{prompt", "{0}"])
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidParameterError):
        pattern_stem(pattern, "p", "m", 1)


def test_model_label() -> None:
    assert model_label("facebook/audiogen-medium") == "audiogen-medium"
    assert model_label("/models/my-finetune/") == "my-finetune"


def test_ucs_name_from_fields_and_prompt() -> None:
    fields = UcsFields("DOGBark", creator_id="JD", source_id="MyLib")
    assert ucs_stem(fields, "dog barking loudly in a_big hall") == "DOGBark_Dog Barking Loudly In A_JD_MyLib"
    custom = UcsFields("AMBRain", fx_name="Rain_on roof", creator_id="JD", source_id="Lib", user_data="take 2")
    assert ucs_stem(custom, "ignored") == "AMBRain_Rain on roof_JD_Lib_take 2"


@pytest.mark.parametrize("cat", ["", "DOG_Bark", "1DOG", "DOG Bark"])
def test_ucs_refuses_bad_cat_ids(cat: str) -> None:
    with pytest.raises(InvalidParameterError):
        UcsFields(cat)


def test_unique_stem_adds_a_number_when_any_file_of_the_group_exists(tmp_path) -> None:
    suffixes = (".wav", ".wav.json")
    assert unique_stem(tmp_path, "rain", suffixes) == "rain"
    (tmp_path / "rain.wav").write_bytes(b"")
    assert unique_stem(tmp_path, "rain", suffixes) == "rain-2"
    (tmp_path / "rain-2.wav.json").write_bytes(b"")  # a sidecar alone also blocks the name
    assert unique_stem(tmp_path, "rain", suffixes) == "rain-3"
    assert unique_stem(tmp_path, "rain", suffixes, taken=["RAIN-3.wav"]) == "rain-4"


def test_unique_stem_keeps_room_for_suffix_and_number(tmp_path) -> None:
    stem = unique_stem(tmp_path, "x" * MAX_CHARS, (".wav.json",))
    assert len(stem + "-99.wav.json") <= MAX_CHARS


def test_name_field_is_the_given_name_else_prompt_model_seed() -> None:
    assert pattern_stem("{name}", "dog barking", "facebook/audiogen-medium", 7, name="Big: dog?") == "Big_ dog_"
    assert pattern_stem("{name}", "dog barking", "facebook/audiogen-medium", 7) == "dog-barking_audiogen-medium_7"


def test_named_copies_reuse_their_file_and_never_replace_another(tmp_path) -> None:
    from core.takes.named import named_wav

    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    first.write_bytes(b"RIFF first")
    second.write_bytes(b"RIFF second")
    named = named_wav(first, "Kick")
    assert named == tmp_path / "Named" / "Kick.wav" and named.read_bytes() == b"RIFF first"
    assert named_wav(first, "Kick") == named  # the same take again: the same file
    other = named_wav(second, "Kick")
    assert other.name == "Kick-2.wav" and other.read_bytes() == b"RIFF second" and named.read_bytes() == b"RIFF first"


def test_each_kind_of_take_keeps_its_file_name() -> None:
    """The stems users get, one builder each (core.takes.naming), unchanged by gathering them in one module."""
    import time

    from core.takes.naming import TakeFiles, evaluation_stem, generated_stem, library_stem, loop_stem

    created = time.mktime((2025, 1, 2, 13, 4, 5, 0, 0, -1))
    assert library_stem("Rain on a tin roof!", 42, created) == "20250102-130405-rain-on-a-tin-roof-s42"
    assert generated_stem("Dog barks, twice", "facebook/audiogen-medium", 7) == "Dog_barks_twice_audiogen-medium_s7"
    assert generated_stem("ignored", "m", 7, name="kick: hard") == "kick_ hard_s7"
    assert evaluation_stem(0, "Dog barking", 3) == "001-dog-barking-s3"
    assert loop_stem("groove", 120.0, 4) == "groove_loop-120bpm-4bars" and loop_stem("rain") == "rain_loop"
    files = TakeFiles.named(Path("out"), "a")
    assert [p.name for p in files.by_suffix().values()] == ["a.wav", "a.codes.npy", "a.json"]
    assert TakeFiles.of_sidecar(Path("out/a.json")) == files

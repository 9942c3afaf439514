"""The take library (core/takes/library.py): files in the folder, history in SQLite, search, star, trash, reopen."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from core.errors import ExportError
from core.params import GenerationParams
from core.takes.library import DB_NAME, Library, write_take_files
from core.takes.naming import ascii_slug as slugify
from core.takes.take import Take


def make_take(prompt: str = "rain on a tin roof", seed: int = 7, seconds: float = 0.25) -> Take:
    rate = 16000
    n = int(rate * seconds)
    wav = (0.1 * np.sin(np.linspace(0, 200, n, dtype=np.float32)))[None, :]  # [1, N]
    codes = np.arange(4 * 10, dtype=np.int64).reshape(4, 10)  # [K, T]
    return Take(
        prompt,
        "facebook/audiogen-medium",
        seed,
        GenerationParams(duration=seconds, top_k=50),
        rate,
        wav.astype(np.float32),
        codes,
        extra={"elapsed": 0.5},
    )


def test_save_writes_files_and_row(tmp_path):
    with Library(tmp_path / "lib") as library:
        record = library.save(make_take())
        assert record.wav_path.parent == tmp_path / "lib"
        assert record.wav_path.name.endswith("-rain-on-a-tin-roof-s7.wav")
        data, rate = sf.read(record.wav_path, dtype="float32")
        assert rate == 16000 and data.shape == (4000,)
        assert json.loads(record.sidecar_path.read_text())["seed"] == 7
        assert np.load(record.codes_path).shape == (4, 10)
        assert record.params.top_k == 50 and record.duration == pytest.approx(0.25)
        assert record.name == "rain on a tin roof #7" and not record.starred and not record.deleted
        assert record.extra == {"elapsed": 0.5}


def test_same_take_twice_gets_distinct_files(tmp_path):
    take = make_take()
    first = write_take_files(tmp_path, take, created=1_700_000_000.0)
    second = write_take_files(tmp_path, take, created=1_700_000_000.0)
    assert first.wav != second.wav
    assert first.wav.exists() and second.wav.exists()
    assert second.wav.stem.endswith("-2")


def test_history_persists_and_is_searchable(tmp_path):
    folder = tmp_path / "lib"
    with Library(folder) as library:
        rain = library.save(make_take("Rain on a tin roof", seed=1))
        library.save(make_take("dog barking in the distance", seed=2))
        library.save(make_take("rain and thunder, 100% wet", seed=3))
    with Library(folder) as library:
        assert [r.seed for r in library.search()] == [3, 2, 1]
        assert {r.seed for r in library.search("rain")} == {1, 3}
        assert [r.seed for r in library.search("RAIN tin")] == [1]
        assert [r.seed for r in library.search("100%")] == [3]
        assert library.search("_") == []  # a LIKE wildcard matches only itself
        assert library.get(rain.id).prompt == "Rain on a tin roof"
        assert library.recent_prompts()[0] == "rain and thunder, 100% wet"
    assert (folder / DB_NAME).is_file()


def test_star_rename_and_search_starred(tmp_path):
    with Library(tmp_path) as library:
        a = library.save(make_take(seed=1))
        library.save(make_take(seed=2))
        assert library.set_starred(a.id, True).starred
        assert [r.id for r in library.search(starred_only=True)] == [a.id]
        renamed = library.rename(a.id, "  kick layer  ")
        assert renamed.name == "kick layer"
        assert library.rename(a.id, "   ").name == "kick layer"
        assert [r.id for r in library.search("kick")] == [a.id]
        assert renamed.wav_path.exists()


def test_a_name_travels_with_the_take_files_not_to_takes_made_from_them(tmp_path):
    from core.export.writer import export_takes
    from core.takes.take import load_take

    with Library(tmp_path / "lib") as library:
        record = library.rename(library.save(make_take(seed=3)).id, "Tin roof rain")
    assert json.loads(record.sidecar_path.read_text())["name"] == "Tin roof rain"
    assert "name" not in load_take(record.sidecar_path).extra  # a loop or stem of it is not called that too
    (exported,) = export_takes([record.sidecar_path], tmp_path / "out")  # the command line's export too
    assert exported.path.name == "Tin roof rain.wav"
    (tmp_path / "lib" / DB_NAME).unlink()  # a history rebuilt from the files keeps the name
    with Library(tmp_path / "lib") as library:
        assert [r.name for r in library.search()] == ["Tin roof rain"]


def test_delete_moves_to_trash_and_restore_brings_back(tmp_path):
    with Library(tmp_path) as library:
        record = library.save(make_take())
        original = record.wav_path
        deleted = library.delete(record.id)
        assert deleted.deleted and not original.exists()
        assert deleted.wav_path.parent == tmp_path / ".trash" and deleted.wav_path.exists()
        assert library.search() == [] and [r.id for r in library.search(deleted=True)] == [record.id]
        restored = library.restore(record.id)
        assert not restored.deleted and restored.wav_path == original and original.exists()
        assert restored.sidecar_path.exists() and restored.codes_path.exists()


def test_slugify():
    assert slugify("Rain on a tin roof!") == "rain-on-a-tin-roof"
    assert slugify("???") == "take"
    assert len(slugify("x" * 200)) == 40


def test_a_run_lists_in_seed_order_under_newer_runs(tmp_path):
    with Library(tmp_path) as library:
        for seed in (10, 11, 12):  # one run: the same creation time for every variation
            take = make_take(seed=seed)
            library.add(take, write_take_files(tmp_path, take, 100.0), created=100.0)
        library.add(make_take(seed=1), write_take_files(tmp_path, make_take(seed=1), 200.0), created=200.0)
        assert [r.seed for r in library.search()] == [1, 10, 11, 12]


def test_a_damaged_history_file_is_an_export_error_not_a_traceback(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"this is not an sqlite database" * 100)
    with pytest.raises(ExportError, match="Cannot open the take library"):
        Library(tmp_path)


def test_a_delete_that_fails_halfway_puts_the_moved_files_back(tmp_path):
    with Library(tmp_path) as library:
        record = library.save(make_take())
        blocker = tmp_path / ".trash" / record.codes_path.name / record.codes_path.name
        blocker.mkdir(parents=True)  # the second file cannot land there: a non-empty folder has its name
        (blocker / "x").write_text("occupied")
        with pytest.raises(ExportError, match="Cannot move the files"):
            library.delete(record.id)
        assert record.wav_path.exists() and record.codes_path.exists() and record.sidecar_path.exists()
        assert not library.get(record.id).deleted

"""Ranking: order follows the scores, scores land in the JSON and the library; `rank` and `generate --rank`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.clap.ranking import best_first, rank_take_files, score_takes
from core.cli.main import main
from core.engine import Engine
from core.takes.library import Library
from core.takes.take import save_take
from tests.core.clap.clap_helpers import make_take, noise


def _takes_on_disk(folder: Path, count: int = 4) -> list[Path]:
    rng = np.random.default_rng(11)
    sidecars = []
    for i in range(count):
        t = np.arange(16000) / 16000
        wav = (0.3 * np.sin(2 * np.pi * (200 + 300 * i) * t) + 0.1 * rng.standard_normal(t.size))[None]
        sidecars.append(save_take(make_take(wav.astype(np.float32), prompt="dog barking"), folder, f"t{i}").sidecar)
    return sidecars


def test_best_first_follows_scores():
    assert best_first([0.1, 0.5, -0.2, 0.3]) == [1, 3, 0, 2]
    assert best_first([]) == []


def test_rank_take_files_orders_by_score_and_writes_each_json(tmp_path, reference_general):
    sidecars = _takes_on_disk(tmp_path)
    ranked = rank_take_files(sidecars, Engine().clap)
    expected = {}
    for sidecar in sidecars:
        audio, rate = sf.read(sidecar.with_suffix(".wav"), dtype="float32", always_2d=True)
        expected[sidecar] = reference_general.cosine("dog barking", audio, rate)
    assert [item.path for item in ranked] == sorted(sidecars, key=lambda p: -expected[p])
    for item in ranked:
        assert item.score == pytest.approx(expected[item.path], abs=1e-5)
        assert json.loads(item.path.read_text())["text_match"] == pytest.approx(item.score, abs=1e-6)


def test_rank_cli_prints_best_first_and_updates_the_library(tmp_path, capsys, clap_fixtures):
    with Library(tmp_path) as library:
        records = [library.save(make_take(noise(0.5, seed=i), prompt=f"rain {i}")) for i in range(3)]
    code = main(["rank", *[str(r.sidecar_path) for r in records]])
    assert code == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    scores = [float(score) for score, _ in lines]
    assert scores == sorted(scores, reverse=True) and len(lines) == 3
    with Library(tmp_path) as library:
        for score, path in lines:
            record = library.by_sidecar(path)
            assert record.extra["text_match"] == pytest.approx(float(score), abs=1e-4)
            assert json.loads(Path(path).read_text())["text_match"] == pytest.approx(float(score), abs=1e-4)


def test_rank_cli_missing_take_is_one_error_line(tmp_path, capsys):
    assert main(["rank", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "nope.json" in err[0]


def test_score_takes_sets_text_match_and_stops_on_cancel(clap_fixtures):
    from core.cancel import CancelToken
    from core.errors import GenerationCancelled

    takes = [make_take(noise(0.3, seed=i)) for i in range(3)]
    token = CancelToken()

    def progress(step: int, total: int) -> None:
        if step == 1:
            token.cancel()

    with pytest.raises(GenerationCancelled):
        score_takes(takes, Engine().clap, progress=progress, cancel=token)
    assert "text_match" in takes[0].extra and "text_match" not in takes[1].extra


def test_generate_rank_prints_best_first_with_scores_in_json(fixtures_dir, tmp_path, capsys):
    code = main(
        ["generate", "dog barking", "--model", str(fixtures_dir / "audiogen"), "--duration", "0.3", "--seed", "1",
         "--variations", "3", "--out", str(tmp_path), "--rank"]
    )  # fmt: skip
    assert code == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert len(lines) == 3
    scores = [float(score) for score, _ in lines]
    assert scores == sorted(scores, reverse=True)
    for score, wav in lines:
        meta = json.loads(Path(wav).with_suffix(".json").read_text())
        assert meta["text_match"] == pytest.approx(float(score), abs=1e-4)

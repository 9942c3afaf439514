"""Loop points and tempo inside files: smpl/acid chunks in WAV (read back with our own RIFF parser and with
soundfile), LOOPSTART/LOOPLENGTH/BPM comments in FLAC and OGG."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

from core.export.settings import ExportSettings
from core.export.writer import export_take
from core.loops.meter import Meter
from core.loops.takes import LoopSpec, make_loop_take, save_loop_take
from core.params import GenerationParams
from core.takes.take import Take, load_take, save_take
from tests.core.loops.conftest import RATE, ambience, click_track


def riff(path: Path) -> dict[bytes, bytes]:
    """{chunk id: body} of a RIFF/WAVE file, parsed here independently of the code under test."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    chunks, pos = {}, 12
    while pos < len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunks[chunk_id] = data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    assert pos == len(data)
    return chunks


def smpl(body: bytes) -> dict:
    fields = struct.unpack("<9I", body[:36])
    loops = [struct.unpack("<6I", body[36 + 24 * i : 60 + 24 * i]) for i in range(fields[7])]
    return {"period": fields[2], "unity": fields[3], "loops": loops}


def acid(body: bytes) -> dict:
    flags, root, _, _, beats, denominator, numerator, tempo = struct.unpack("<IHHfIHHf", body)
    meter = (numerator, denominator)
    return {"one_shot": bool(flags & 1), "root": root, "beats": beats, "meter": meter, "tempo": tempo}


def flac_comments(path: Path) -> dict[str, str]:
    """Vorbis comments of a FLAC file, from its metadata blocks (parsed here)."""
    data = path.read_bytes()
    assert data[:4] == b"fLaC"
    pos, found = 4, {}
    while True:
        header = data[pos]
        kind, size = header & 0x7F, int.from_bytes(data[pos + 1 : pos + 4], "big")
        body = data[pos + 4 : pos + 4 + size]
        if kind == 4:
            vendor = struct.unpack("<I", body[:4])[0]
            count = struct.unpack("<I", body[4 + vendor : 8 + vendor])[0]
            at = 8 + vendor
            for _ in range(count):
                n = struct.unpack("<I", body[at : at + 4])[0]
                key, _, value = body[at + 4 : at + 4 + n].decode("utf-8").partition("=")
                found[key.upper()] = value
                at += 4 + n
        pos += 4 + size
        if header & 0x80:
            return found


def _source(wav: np.ndarray, prompt: str = "steady groove") -> Take:
    return Take(prompt, "musicgen-small", 7, GenerationParams(duration=20.0), RATE, wav, np.zeros((4, 10), np.int64))


@pytest.fixture(scope="module")
def music_loop() -> Take:
    return make_loop_take(_source(click_track()), LoopSpec("music", 120.0, 4, Meter(4, 4), 30.0), "src.json")


def test_loop_take_wav_carries_smpl_and_acid_and_stays_readable(music_loop, tmp_path):
    files = save_loop_take(music_loop, tmp_path, "groove_loop")
    chunks = riff(files.wav)
    assert smpl(chunks[b"smpl"]) == {"period": 31250, "unity": 60, "loops": [(0, 0, 0, 255999, 0, 0)]}
    assert acid(chunks[b"acid"]) == {"one_shot": False, "root": 60, "beats": 16, "meter": (4, 4), "tempo": 120.0}
    audio, rate = sf.read(files.wav, dtype="float32", always_2d=True)
    assert rate == RATE and np.array_equal(audio.T, music_loop.wav)
    again = load_take(files.sidecar)
    assert again.extra["loop"]["bars"] == 4 and again.extra["codes_applicable"] is False
    assert again.codes.shape == (0, 0)


@pytest.mark.parametrize("fmt, rate", [("wav24", 48000), ("wav16", None), ("wav32f", 44100)])
def test_exported_wav_loop_keeps_exact_bars_at_the_export_rate(music_loop, tmp_path, fmt, rate):
    settings = ExportSettings(format=fmt, sample_rate=rate, fade_in=0.5, trim_silence=-40.0)
    result = export_take(music_loop, tmp_path, settings)
    out_rate = rate or RATE
    frames = 8 * out_rate  # 4 bars of 4/4 at 120 BPM = 8 s, at whatever rate
    assert result.frames == frames
    chunks = riff(result.path)
    assert b"bext" in chunks and b"LIST" in chunks  # the usual metadata is still there
    assert smpl(chunks[b"smpl"])["loops"] == [(0, 0, 0, frames - 1, 0, 0)]
    assert smpl(chunks[b"smpl"])["period"] == round(1e9 / out_rate)
    assert acid(chunks[b"acid"])["tempo"] == 120.0
    info = sf.info(str(result.path))
    assert info.frames == frames and info.samplerate == out_rate
    assert any("loop" in note for note in result.notes)  # trim and fade were skipped, and said so
    sidecar = json.loads(result.sidecar.read_text())
    assert sidecar["processing"]["loop"]["frames"] == frames


def test_seamless_loop_has_smpl_but_no_tempo(tmp_path):
    loop = make_loop_take(_source(ambience(), "rain"), LoopSpec("seamless", crossfade_ms=50.0))
    files = save_loop_take(loop, tmp_path, "rain_loop")
    chunks = riff(files.wav)
    assert smpl(chunks[b"smpl"])["loops"] == [(0, 0, 0, loop.wav.shape[-1] - 1, 0, 0)]
    assert b"acid" not in chunks


def test_flac_and_ogg_exports_carry_loop_comments(music_loop, tmp_path):
    flac = export_take(music_loop, tmp_path, ExportSettings(format="flac24", sample_rate=48000))
    comments = flac_comments(flac.path)
    assert comments["LOOPSTART"] == "0" and comments["LOOPLENGTH"] == "384000" and comments["BPM"] == "120"
    assert comments["TITLE"] == "steady groove"  # soundfile's own tags survive
    assert sf.info(str(flac.path)).frames == 384000
    ogg = export_take(music_loop, tmp_path, ExportSettings(format="ogg", sample_rate=44100))
    tags = mutagen.File(ogg.path).tags
    assert tags["LOOPSTART"] == ["0"] and tags["LOOPLENGTH"] == ["352800"] and tags["BPM"] == ["120"]
    audio, rate = sf.read(ogg.path)
    assert rate == 44100 and len(audio) == 352800


def test_ordinary_takes_get_no_loop_chunks(tmp_path):
    take = _source(click_track(seconds=2.0))
    chunks = riff(save_take(take, tmp_path, "plain").wav)
    assert b"smpl" not in chunks and b"acid" not in chunks
    exported = export_take(take, tmp_path, ExportSettings())
    assert b"smpl" not in riff(exported.path)


def test_resampled_export_keeps_the_wrap_continuous(tmp_path):
    loop = make_loop_take(_source(ambience(), "rain"), LoopSpec("seamless"))
    result = export_take(loop, tmp_path, ExportSettings(format="wav32f", sample_rate=48000))
    audio, rate = sf.read(result.path, dtype="float64")
    assert rate == 48000 and len(audio) == round(loop.wav.shape[-1] * 48000 / RATE)
    steps = np.abs(np.diff(audio))
    assert abs(audio[-1] - audio[0]) <= np.percentile(steps, 99)  # circular resampling: no click at the wrap

"""Exported files read back with soundfile: frames, rate, subtype, samples, level and embedded metadata."""

from __future__ import annotations

import json
import math
import struct
import wave

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from core.cancel import CancelToken
from core.errors import GenerationCancelled, InvalidParameterError
from core.export.writer import ExportSettings, export_take, export_takes
from core.params import GenerationParams
from core.takes.naming import UcsFields
from core.takes.take import Take, save_take
from tests.core.export.metadata_reader import read_metadata

RATE = 32000
PROMPT = 'rain on a tin roof, "close" <mic>'
SUBTYPES = {"wav16": "PCM_16", "wav24": "PCM_24", "wav32f": "FLOAT", "flac16": "PCM_16", "flac24": "PCM_24",
            "ogg": "VORBIS"}  # fmt: skip


def make_take(wav: np.ndarray, rate: int = RATE, prompt: str = PROMPT, seed: int = 42) -> Take:
    params = GenerationParams(duration=wav.shape[-1] / rate, top_k=50, cfg_coef=4.0)
    codes = np.zeros((4, 10), dtype=np.int64)
    return Take(prompt, "facebook/audiogen-medium", seed, params, rate, wav.astype(np.float32), codes)


def noise_tone(channels: int = 1, seconds: float = 1.5, rate: int = RATE, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal((channels, t.size))  # [C, N]
    return tone.astype(np.float32)


@pytest.mark.parametrize("fmt", list(SUBTYPES))
def test_each_format_reads_back_with_its_metadata(tmp_path, fmt: str) -> None:
    take = make_take(noise_tone(channels=2))
    result = export_take(take, tmp_path, ExportSettings(format=fmt))
    info = sf.info(result.path)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (48000, 2, 72000, SUBTYPES[fmt])
    assert result.path.suffix == {"wav": ".wav", "fla": ".flac", "ogg": ".ogg"}[fmt[:3]]
    assert result.path.name == "rain-on-a-tin-roof-close-mic_audiogen-medium_42" + result.path.suffix

    meta = read_metadata(result.path)
    assert meta["title"] == PROMPT
    assert meta["sounddesk"] == {"prompt": PROMPT, "model": take.model, "seed": 42,
                                 "parameters": json.loads(json.dumps(take.params.to_dict()))}  # fmt: skip
    assert meta["software"].startswith("SoundDesk")
    with sf.SoundFile(result.path) as handle:  # libsndfile's own reader sees the same fields
        assert handle.title == PROMPT and json.loads(handle.comment)["seed"] == 42

    sidecar = json.loads(result.sidecar.read_text(encoding="utf-8"))
    assert result.sidecar.name == result.path.name + ".json"
    assert sidecar["prompt"] == PROMPT and sidecar["seed"] == 42 and sidecar["file"] == result.path.name
    assert sidecar["audio"]["frames"] == 72000 and sidecar["export"]["format"] == fmt


@pytest.mark.parametrize("fmt", ["wav16", "wav24", "wav32f"])
def test_wav_chunks_are_well_formed(tmp_path, fmt: str) -> None:
    take = make_take(noise_tone(seconds=1.0001))  # odd frame count: 24-bit mono data chunk needs a pad byte
    result = export_take(take, tmp_path, ExportSettings(format=fmt, sample_rate=None))
    data = result.path.read_bytes()
    assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] == len(data) - 8
    pos, ids = 12, []
    while pos < len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        ids.append(chunk_id)
        pos += 8 + size + size % 2
    assert pos == len(data)
    assert ids.index(b"fmt ") < ids.index(b"bext") < ids.index(b"data") and b"LIST" in ids
    bext = read_metadata(result.path)["bext"]
    assert bext["description"] == PROMPT and bext["originator"] == "SoundDesk"
    assert bext["originator_reference"] == "audiogen-medium 42" and bext["version"] == 2
    assert len(bext["origination_date"]) == 10 and len(bext["origination_time"]) == 8
    bits = {"wav16": 16, "wav24": 24, "wav32f": 32}[fmt]
    assert bext["coding_history"].startswith(f"A=PCM,F={RATE},W={bits},M=mono,T=SoundDesk")
    if fmt != "wav32f":  # Python's own WAV reader skips our chunks and finds the audio
        with wave.open(str(result.path)) as handle:
            assert handle.getnframes() == take.wav.shape[-1]


def test_as_generated_float_is_bit_exact_and_pcm_within_half_an_lsb(tmp_path) -> None:
    wav = noise_tone(channels=2)
    take = make_take(wav)
    for fmt, lsb in (("wav32f", 0.0), ("wav24", 2.0**-23), ("flac16", 2.0**-15)):
        result = export_take(take, tmp_path, ExportSettings(format=fmt, sample_rate=None))
        back, rate = sf.read(result.path, dtype="float64", always_2d=True)
        assert rate == RATE
        assert np.max(np.abs(back.T - wav)) <= lsb / 2


def test_resampling_keeps_the_tone(tmp_path) -> None:
    t = np.arange(RATE) / RATE
    take = make_take((0.5 * np.sin(2 * np.pi * 1000 * t))[None])
    for rate in (44100, 48000, 96000):
        result = export_take(take, tmp_path, ExportSettings(format="wav32f", sample_rate=rate))
        back, got = sf.read(result.path, dtype="float64")
        expected = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(rate) / rate)
        assert got == rate and back.size == rate
        core = slice(rate // 10, -rate // 10)  # away from the edges
        assert np.max(np.abs(back[core] - expected[core])) < 1e-3


def test_channel_conversion(tmp_path) -> None:
    mono = make_take(noise_tone(channels=1))
    result = export_take(mono, tmp_path, ExportSettings(format="wav32f", sample_rate=None, channels=2))
    back, _ = sf.read(result.path, dtype="float32")
    assert np.array_equal(back[:, 0], mono.wav[0]) and np.array_equal(back[:, 1], mono.wav[0])

    stereo = make_take(noise_tone(channels=2, seed=3))
    result = export_take(stereo, tmp_path, ExportSettings(format="wav32f", sample_rate=None, channels=1))
    back, _ = sf.read(result.path, dtype="float64")
    assert np.max(np.abs(back - stereo.wav.astype(np.float64).mean(axis=0))) < 1e-7


def test_peak_normalisation(tmp_path) -> None:
    take = make_take(noise_tone(channels=2))
    result = export_take(take, tmp_path, ExportSettings(format="wav32f", level="peak", target=-1.0))
    back, _ = sf.read(result.path, dtype="float64")
    assert 20 * math.log10(np.max(np.abs(back))) == pytest.approx(-1.0, abs=0.01)


@pytest.mark.parametrize(("fmt", "target"), [("wav24", -14.0), ("flac16", -23.0), ("wav32f", -16.0)])
def test_loudness_normalisation_hits_the_target(tmp_path, fmt: str, target: float) -> None:
    take = make_take(noise_tone(channels=2, seconds=3.0))
    result = export_take(take, tmp_path, ExportSettings(format=fmt, level="loudness", target=target))
    back, rate = sf.read(result.path, dtype="float64")
    assert pyloudnorm.Meter(rate).integrated_loudness(back) == pytest.approx(target, abs=0.1)
    assert json.loads(result.sidecar.read_text())["audio"]["loudness_lufs"] == pytest.approx(target, abs=0.1)


def test_loudness_of_a_997hz_sine_sets_the_bs1770_amplitude(tmp_path) -> None:
    # -20 LUFS for a mono 997 Hz sine means a peak of 10 ** ((-20 + 3.01) / 20) = 0.1414.
    t = np.arange(3 * RATE) / RATE
    take = make_take((0.7 * np.sin(2 * np.pi * 997 * t))[None])
    result = export_take(take, tmp_path, ExportSettings(format="wav32f", level="loudness", target=-20.0))
    back, _ = sf.read(result.path, dtype="float64")
    assert np.max(np.abs(back)) == pytest.approx(10 ** ((-20 + 3.01) / 20), rel=0.01)


@pytest.mark.parametrize("case", [0, 1])
def test_audiocraft_mode_writes_what_audio_write_would(tmp_path, fixtures_dir, case: int) -> None:
    arrays = np.load(fixtures_dir / "musicgen" / "reference_outputs.npz", allow_pickle=False)
    source = arrays["comp.input_wav"][0] if case == 0 else arrays["gen.wav"][0]  # [1, 32000]
    settings = ExportSettings(format="wav32f", sample_rate=None, level="audiocraft")
    result = export_take(make_take(source), tmp_path, settings)
    back, rate = sf.read(result.path, dtype="float32", always_2d=True)
    assert rate == 32000 and result.gain_db is None
    assert np.max(np.abs(back.T - arrays[f"loudness.{case}.out"])) < 1e-4


def test_fades(tmp_path) -> None:
    take = make_take(np.full((1, RATE), 0.5, np.float32))
    settings = ExportSettings(format="wav32f", sample_rate=None, fade_in=0.1, fade_out=0.25)
    back, _ = sf.read(export_take(take, tmp_path, settings).path, dtype="float64")
    assert back[0] == 0.0 and back[1600] == pytest.approx(0.25, abs=1e-6)  # half way into the fade-in
    assert back[RATE // 2] == pytest.approx(0.5) and back[-1] == 0.0
    assert back[RATE - 1 - 4000] == pytest.approx(0.25, abs=1e-6)  # half way into the fade-out


def test_trim_silence(tmp_path) -> None:
    body = noise_tone(seconds=1.0)
    padded = np.concatenate([np.zeros((1, 8000)), 1e-5 * np.ones((1, 4000)), body, np.zeros((1, 16000))], axis=1)
    settings = ExportSettings(format="wav32f", sample_rate=None, trim_silence=-60.0)
    result = export_take(make_take(padded), tmp_path, settings)
    back, _ = sf.read(result.path, dtype="float32")
    loud = np.flatnonzero(np.abs(body[0]) > 1e-3)
    assert np.array_equal(back, body[0, loud[0] : loud[-1] + 1])
    assert json.loads(result.sidecar.read_text())["processing"]["trimmed_seconds"][0] == pytest.approx(
        (12000 + loud[0]) / RATE
    )


def test_clipping_is_reported_for_pcm(tmp_path) -> None:
    take = make_take(noise_tone(seconds=2.0) * 3)
    result = export_take(take, tmp_path, ExportSettings(format="wav16", level="loudness", target=-3.0))
    assert any("clipped" in note for note in result.notes)
    float_result = export_take(take, tmp_path, ExportSettings(format="wav32f", level="loudness", target=-3.0))
    assert float_result.notes == ()


def test_export_takes_reads_sidecars_and_numbers_them(tmp_path) -> None:
    paths = [save_take(make_take(noise_tone(seed=i), seed=i), tmp_path / "takes", f"t{i}").sidecar for i in range(3)]
    results = export_takes(paths, tmp_path / "out", ExportSettings(naming="{index:02d}_{seed}", format="flac16"))
    assert [r.path.name for r in results] == ["01_0.flac", "02_1.flac", "03_2.flac"]
    assert json.loads(results[1].sidecar.read_text())["source"]["take"] == str(paths[1])


def test_settings_defaults_round_trip_and_validation() -> None:
    defaults = ExportSettings()
    assert (defaults.format, defaults.sample_rate, defaults.level) == ("wav24", 48000, "none")
    custom = ExportSettings(format="ogg", sample_rate=None, level="peak", ucs=UcsFields("DOGBark"))
    assert ExportSettings.from_dict(json.loads(json.dumps(custom.to_dict()))) == custom
    assert custom.level_target == -1.0 and ExportSettings(level="loudness").level_target == -14.0
    bad = [{"format": "mp3"}, {"sample_rate": 22050}, {"channels": 6}, {"level": "rms"}, {"target": 3.0},
           {"fade_in": -1.0}, {"trim_silence": 0.0}, {"if_exists": "ask"}, {"naming": "{nope}"}]  # fmt: skip
    for changes in bad:
        with pytest.raises(InvalidParameterError):
            ExportSettings(**changes)


def test_cancel_before_the_next_take_writes_nothing_more(tmp_path) -> None:
    paths = [save_take(make_take(noise_tone(seed=i), seed=i), tmp_path / "takes", f"t{i}").sidecar for i in range(3)]
    token = CancelToken()
    steps = []

    def progress(step: int, total: int) -> None:
        steps.append((step, total))
        token.cancel()

    with pytest.raises(GenerationCancelled):
        export_takes(paths, tmp_path / "out", ExportSettings(), progress=progress, cancel=token)
    assert steps == [(1, 3)] and len(list((tmp_path / "out").glob("*.wav"))) == 1


def test_libsndfile_reads_our_bext_chunk(tmp_path) -> None:
    # An independent bext parser: libsndfile's SFC_GET_BROADCAST_INFO (C struct SF_BROADCAST_INFO, where the
    # uint32 time reference is aligned to offset 340). soundfile does not wrap it, so call it through cffi.
    snd, ffi = getattr(sf, "_snd", None), getattr(sf, "_ffi", None)
    if snd is None or ffi is None:
        pytest.skip("this soundfile build does not expose its libsndfile handle")
    result = export_take(make_take(noise_tone(seconds=1.0)), tmp_path, ExportSettings(level="loudness"))
    buffer = ffi.new("char[]", 4096)
    with sf.SoundFile(result.path) as handle:
        assert snd.sf_command(handle._file, 0x10F0, buffer, 4096) == 1  # SFC_GET_BROADCAST_INFO: found
    raw = bytes(ffi.buffer(buffer, 1024))
    assert raw[:256].rstrip(b"\0").decode() == PROMPT
    assert raw[256:288].rstrip(b"\0") == b"SoundDesk"
    assert struct.unpack("<H", raw[348:350])[0] == 2  # version
    assert struct.unpack("<h", raw[414:416])[0] == -1400  # LoudnessValue: -14.00 LUFS
    assert b"A=PCM,F=48000,W=24,M=mono" in raw[600:]

"""Reading user audio files: real recordings, every container we claim, every bad file, and conform()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.errors import AudioFileError
from core.takes.audio_io import SUPPORTED_EXTENSIONS, AudioClip, conform, load_audio


def _sine(freq: float, sample_rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    mono = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([mono / (1 + c) for c in range(channels)], axis=1).astype(np.float32)  # [N, C]


def _peak_hz(samples: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * sample_rate / samples.size)


# --- real files
@pytest.mark.parametrize(
    ("name", "sample_rate", "channels", "frames"),
    [
        ("CJ_Beatbox_Loop_05_90.wav", 44100, 2, 470400),
        ("bach.mp3", 44100, 2, 442368),
        ("electronic.mp3", 44100, 2, 132300),
        ("sirens_and_a_humming_engine_approach_and_pass.mp3", 16000, 1, 81216),
    ],
)
def test_real_recordings_load_with_rate_channels_and_length(audio_dir, name, sample_rate, channels, frames):
    clip = load_audio(audio_dir / name)
    assert clip.sample_rate == sample_rate
    assert clip.samples.shape == (channels, frames)
    assert clip.samples.dtype == np.float32 and clip.samples.flags.c_contiguous
    assert clip.duration == pytest.approx(frames / sample_rate)
    assert clip.path == str(audio_dir / name) and clip.notice is None
    assert 0.01 < np.abs(clip.samples).max() <= 1.0


def test_wav_matches_the_pcm_values_in_the_file(audio_dir):
    clip = load_audio(audio_dir / "CJ_Beatbox_Loop_05_90.wav")
    raw, _ = sf.read(audio_dir / "CJ_Beatbox_Loop_05_90.wav", dtype="int16", always_2d=True)
    np.testing.assert_array_equal(clip.samples, raw.T.astype(np.float32) / 32768.0)


def test_long_file_is_cut_with_a_notice(audio_dir):
    full = load_audio(audio_dir / "bach.mp3")
    clip = load_audio(audio_dir / "bach.mp3", max_seconds=2.5)
    assert clip.samples.shape == (2, 110250)
    np.testing.assert_array_equal(clip.samples, full.samples[:, :110250])
    assert clip.notice is not None and "bach.mp3" in clip.notice and "2.5 s" in clip.notice


def test_file_shorter_than_the_limit_has_no_notice(audio_dir):
    clip = load_audio(audio_dir / "electronic.mp3", max_seconds=30.0)
    assert clip.samples.shape == (2, 132300) and clip.notice is None


def test_file_exactly_at_the_limit_is_not_cut(audio_dir):
    clip = load_audio(audio_dir / "electronic.mp3", max_seconds=3.0)
    assert clip.samples.shape == (2, 132300) and clip.notice is None


# --- other containers
@pytest.mark.parametrize(
    ("suffix", "fmt", "subtype", "atol"),
    [
        (".aiff", "AIFF", "PCM_16", 1 / 32768),
        (".aif", "AIFF", "PCM_24", 1 / 2**23),
        (".flac", "FLAC", "PCM_16", 1 / 32768),
        (".ogg", "OGG", "VORBIS", 0.05),
        (".WAV", "WAV", "FLOAT", 0.0),
    ],
)
def test_written_containers_read_back(tmp_path, suffix, fmt, subtype, atol):
    written = _sine(440.0, 22050, 1.0, channels=2)
    path = tmp_path / f"tone{suffix}"
    sf.write(path, written, 22050, format=fmt, subtype=subtype)
    clip = load_audio(path)
    assert clip.sample_rate == 22050 and clip.channels == 2
    assert clip.num_frames == written.shape[0]
    np.testing.assert_allclose(clip.samples, written.T, atol=atol)
    assert _peak_hz(clip.samples[0], 22050) == pytest.approx(440.0, abs=2.0)


def test_supported_extensions_are_the_documented_ones():
    assert set(SUPPORTED_EXTENSIONS) == {".wav", ".aif", ".aiff", ".flac", ".ogg", ".mp3"}


# --- bad files
def _tone_wav(path: Path) -> Path:
    sf.write(path, _sine(440.0, 16000, 1.0), 16000, subtype="PCM_16")
    return path


def _bad_file(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "nowhere.wav"
    if kind == "extension":
        path = tmp_path / "tone.xyz"
        path.write_bytes(_tone_wav(tmp_path / "tone.wav").read_bytes())
        return path
    if kind == "no extension":
        path = tmp_path / "tone"
        path.write_bytes(_tone_wav(tmp_path / "tone.wav").read_bytes())
        return path
    if kind == "folder":
        path = tmp_path / "folder.wav"
        path.mkdir()
        return path
    if kind == "truncated header":
        path = tmp_path / "cut.wav"
        path.write_bytes(_tone_wav(tmp_path / "tone.wav").read_bytes()[:20])
        return path
    if kind == "zero bytes":
        path = tmp_path / "empty.wav"
        path.write_bytes(b"")
        return path
    if kind == "no samples":
        path = tmp_path / "nosamples.wav"
        sf.write(path, np.zeros((0, 1), np.float32), 16000)
        return path
    if kind == "silent":
        path = tmp_path / "silent.flac"
        sf.write(path, np.zeros((16000, 2), np.float32), 16000)
        return path
    if kind in ("nan", "inf"):
        samples = _sine(440.0, 16000, 1.0)
        samples[1234] = np.nan if kind == "nan" else np.inf
        path = tmp_path / f"{kind}.wav"
        sf.write(path, samples, 16000, subtype="FLOAT")
        return path
    if kind in ("text as wav", "text as mp3"):
        path = tmp_path / ("notes.wav" if kind == "text as wav" else "notes.mp3")
        path.write_text("these are my session notes, not audio\n" * 20)
        return path
    raise ValueError(kind)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("missing", "does not exist"),
        ("extension", "not a supported audio file"),
        ("no extension", "not a supported audio file"),
        ("folder", "is a folder"),
        ("truncated header", "could not be read"),
        ("zero bytes", "empty file"),
        ("no samples", "no audio samples"),
        ("silent", "is silent"),
        ("nan", "NaN or infinity"),
        ("inf", "NaN or infinity"),
        ("text as wav", "could not be read"),
        ("text as mp3", "could not be read"),
    ],
)
def test_bad_files_raise_one_readable_sentence_naming_the_file(tmp_path, kind, words):
    path = _bad_file(tmp_path, kind)
    with pytest.raises(AudioFileError) as caught:
        load_audio(path)
    message = str(caught.value)
    assert words in message
    assert path.name in message
    assert "\n" not in message and message.endswith(".")


def test_silence_after_the_cut_is_judged_on_what_is_kept(tmp_path):
    samples = np.zeros((32000, 1), np.float32)
    samples[20000:] = 0.5  # sound only after 1.25 s
    path = tmp_path / "late.wav"
    sf.write(path, samples, 16000, subtype="FLOAT")
    assert load_audio(path).num_frames == 32000
    with pytest.raises(AudioFileError, match="silent"):
        load_audio(path, max_seconds=1.0)


# --- conform
def _clip(samples: np.ndarray, sample_rate: int = 16000) -> AudioClip:
    return AudioClip(samples=np.ascontiguousarray(samples, dtype=np.float32), sample_rate=sample_rate)


def test_conform_same_rate_and_channels_is_unchanged():
    samples = _sine(300.0, 16000, 0.5, channels=2).T
    np.testing.assert_array_equal(conform(_clip(samples), 16000, 2), samples)


def test_conform_to_mono_is_the_channel_mean():
    samples = _sine(300.0, 16000, 0.5, channels=2).T
    expected = samples.mean(axis=0, keepdims=True)
    np.testing.assert_allclose(conform(_clip(samples), 16000, 1), expected, atol=1e-7)


def test_conform_mono_to_stereo_repeats_the_channel():
    samples = _sine(300.0, 16000, 0.5).T
    out = conform(_clip(samples), 16000, 2)
    assert out.shape == (2, 8000)
    np.testing.assert_array_equal(out[0], samples[0])
    np.testing.assert_array_equal(out[1], samples[0])


def test_conform_more_to_fewer_channels_keeps_the_first():
    samples = np.random.default_rng(0).uniform(-0.5, 0.5, (3, 4000))
    np.testing.assert_allclose(conform(_clip(samples), 16000, 2), samples[:2], atol=1e-7)


def test_conform_fewer_to_more_channels_is_an_error():
    samples = _sine(300.0, 16000, 0.5, channels=2).T
    with pytest.raises(AudioFileError, match="2 channels"):
        conform(AudioClip(samples=samples, sample_rate=16000, path="/x/pad.wav"), 16000, 3)


@pytest.mark.parametrize(("source_rate", "target_rate"), [(44100, 32000), (16000, 32000), (32000, 16000)])
def test_conform_resamples_keeping_pitch_and_length(source_rate, target_rate):
    samples = _sine(1000.0, source_rate, 2.0).T  # [1, N]
    out = conform(_clip(samples, source_rate), target_rate, 1)
    assert out.dtype == np.float32 and out.shape == (1, 2 * target_rate)
    assert _peak_hz(out[0], target_rate) == pytest.approx(1000.0, abs=1.0)
    middle = out[0, target_rate // 2 : -target_rate // 2]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)


def test_conform_real_recording_to_model_format(audio_dir):
    clip = load_audio(audio_dir / "bach.mp3", max_seconds=4.0)
    out = conform(clip, 32000, 1)
    assert out.shape == (1, 128000)
    # The 44.1 kHz mean, band-limited at 16 kHz, keeps almost all of bach's energy.
    source_rms = np.sqrt(np.mean(clip.samples.mean(axis=0) ** 2))
    assert np.sqrt(np.mean(out**2)) == pytest.approx(source_rms, rel=0.01)

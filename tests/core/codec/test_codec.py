"""EnCodec tokenizer: our codec against audiocraft's recorded encode/decode, and safe, readable loading."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file, save_file

from core.codec.compression import (
    EncodecCompressionModel,
    InterleavedStereo,
    load_compression_model,
    wrap_for_lm,
)
from core.codec.encodec import extra_padding
from core.errors import CheckpointError, InvalidParameterError
from core.models.checkpoint import load_weights_file

MONO_FOLDERS = ["musicgen", "audiogen", "musicgen-hfcodec"]
ENCODEC_SNAPSHOT = "hf-cache/models--facebook--encodec_32khz/snapshots"


def _refs(folder: Path) -> dict[str, np.ndarray]:
    with np.load(folder / "reference_outputs.npz", allow_pickle=False) as npz:
        return dict(npz)


def _summary(folder: Path) -> dict:
    return json.loads((folder / "reference_outputs.json").read_text())["compression"]


def _max_err(actual: torch.Tensor, expected: np.ndarray) -> float:
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    return float(np.abs(actual.float().numpy() - expected).max())


@pytest.fixture(scope="module", params=MONO_FOLDERS)
def mono(request, fixtures_dir):
    folder = fixtures_dir / request.param
    return load_compression_model(folder / "compression_state_dict.bin"), folder, _refs(folder)


@pytest.fixture(scope="module")
def musicgen_codec(fixtures_dir):
    return load_compression_model(fixtures_dir / "musicgen" / "compression_state_dict.bin")


@pytest.fixture(scope="module")
def stereo(fixtures_dir):
    folder = fixtures_dir / "musicgen-stereo"
    codec = load_compression_model(folder / "compression_state_dict.bin")
    lm_cfg = OmegaConf.create((folder / "xp_cfg.yaml").read_text())
    return wrap_for_lm(codec, lm_cfg), _refs(folder), _summary(folder)


# --- audiocraft's numbers --------------------------------------------------------------------------------


def test_mono_codec_reports_audiocraft_properties(mono):
    codec, folder, _ = mono
    expected = _summary(folder)
    assert isinstance(codec, EncodecCompressionModel)
    assert codec.sample_rate == expected["sample_rate"]
    assert codec.channels == expected["channels"]
    assert codec.frame_rate == expected["frame_rate"] and isinstance(codec.frame_rate, float)
    assert codec.num_codebooks == expected["num_codebooks"]
    assert codec.cardinality == expected["cardinality"]
    assert codec.hop_length * codec.frame_rate == codec.sample_rate


def test_mono_encode_gives_audiocraft_codes_and_latent(mono):
    codec, _, refs = mono
    wav = torch.from_numpy(refs["comp.input_wav"])
    codes = codec.encode(wav)
    assert codes.dtype == torch.int64
    np.testing.assert_array_equal(codes.numpy(), refs["comp.encode.codes"])
    assert _max_err(codec.encode_latent(wav), refs["comp.encode.latent"]) <= 1e-5


def test_mono_decode_gives_audiocraft_latent_and_waveform(mono):
    codec, _, refs = mono
    fixed = torch.from_numpy(refs["comp.fixed_codes"])
    assert _max_err(codec.decode_latent(fixed), refs["comp.decode.latent"]) <= 1e-5
    assert _max_err(codec.decode(fixed), refs["comp.decode.wav"]) <= 1e-4
    encoded = torch.from_numpy(refs["comp.encode.codes"])
    assert _max_err(codec.decode(encoded), refs["comp.encode_decode.wav"]) <= 1e-4


def test_stereo_interleaves_left_and_right_codebooks(stereo):
    codec, refs, expected = stereo
    assert isinstance(codec, InterleavedStereo)
    assert (codec.channels, codec.num_codebooks) == (expected["channels"], expected["num_codebooks"])
    assert (codec.frame_rate, codec.cardinality) == (expected["frame_rate"], expected["cardinality"])
    wav = torch.from_numpy(refs["comp.input_wav"])
    codes = codec.encode(wav)
    np.testing.assert_array_equal(codes.numpy(), refs["comp.encode.codes"])
    np.testing.assert_array_equal(codec.mono.encode(wav[:, :1]).numpy(), refs["comp.encode.codes_left"])
    np.testing.assert_array_equal(codec.mono.encode(wav[:, 1:]).numpy(), refs["comp.encode.codes_right"])
    left, right = InterleavedStereo.split(codes)
    np.testing.assert_array_equal(left.numpy(), refs["comp.encode.codes_left"])
    np.testing.assert_array_equal(right.numpy(), refs["comp.encode.codes_right"])


def test_stereo_decodes_each_channel_with_its_codebooks(stereo):
    codec, refs, _ = stereo
    assert _max_err(codec.decode(torch.from_numpy(refs["comp.fixed_codes"])), refs["comp.decode.wav"]) <= 1e-4
    encoded = torch.from_numpy(refs["comp.encode.codes"])
    assert _max_err(codec.decode(encoded), refs["comp.encode_decode.wav"]) <= 1e-4
    with pytest.raises(NotImplementedError):
        codec.decode_latent(encoded)


def test_mono_lm_config_leaves_the_codec_alone_and_n_q_selects_codebooks(fixtures_dir):
    folder = fixtures_dir / "musicgen"
    codec = load_compression_model(folder)  # a model folder works as well as the file
    lm_cfg = OmegaConf.create((folder / "xp_cfg.yaml").read_text())
    assert wrap_for_lm(codec, lm_cfg) is codec
    refs = _refs(folder)
    lm_cfg.compression_model_n_q = 2
    wrapped = wrap_for_lm(codec, lm_cfg)
    assert wrapped.num_codebooks == 2
    codes = wrapped.encode(torch.from_numpy(refs["comp.input_wav"]))
    np.testing.assert_array_equal(codes.numpy(), refs["comp.encode.codes"][:, :2])  # RVQ: a prefix


def test_long_signals_keep_their_length(musicgen_codec):
    # Beyond 2**24 samples transformers' float32 padding arithmetic drops samples; ours is exact.
    length = 2**24 + 1
    assert extra_padding(length, 7, 1, 6) == 0
    assert extra_padding(length, 8, 4, 4) == 3  # ceil((L - 4) / 4) = 2**22 frames -> 2**24 + 4 samples
    conv = musicgen_codec.model.encoder.layers[0]
    with torch.inference_mode():
        assert conv(torch.zeros(1, 1, length)).shape == (1, 4, length)


def test_float64_load_stays_close(fixtures_dir):
    refs = _refs(fixtures_dir / "audiogen")
    codec = load_compression_model(fixtures_dir / "audiogen", dtype=torch.float64)
    wav = codec.decode(torch.from_numpy(refs["comp.fixed_codes"]))
    assert wav.dtype == torch.float64
    assert _max_err(wav, refs["comp.decode.wav"]) <= 1e-4


def test_both_weight_norm_spellings_of_the_hub_codec_load(fixtures_dir, tmp_path):
    snapshot = next((fixtures_dir / ENCODEC_SNAPSHOT).iterdir())
    renamed = tmp_path / "encodec_old_keys"
    shutil.copytree(snapshot, renamed)
    weights = load_file(snapshot / "model.safetensors")
    old = {
        k.replace("parametrizations.weight.original0", "weight_g").replace(
            "parametrizations.weight.original1", "weight_v"
        ): v
        for k, v in weights.items()
    }
    assert any(k.endswith("weight_g") for k in old) and not any("parametrizations" in k for k in old)
    save_file(old, renamed / "model.safetensors", metadata={"format": "pt"})
    ckpt = tmp_path / "compression_state_dict.bin"
    torch.save({"pretrained": str(renamed), "exported": True, "version": "1.3.0"}, ckpt)
    refs = _refs(fixtures_dir / "musicgen-hfcodec")
    codec = load_compression_model(ckpt)
    assert _max_err(codec.decode(torch.from_numpy(refs["comp.fixed_codes"])), refs["comp.decode.wav"]) <= 1e-4


# --- refusing what cannot or must not be loaded -----------------------------------------------------------


class _RunsCode:
    """Unpickling this would create a folder: a stand-in for a checkpoint that executes code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_unsafe_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "compression_state_dict.bin"
    torch.save({"best_state": {}, "xp.cfg": "", "payload": _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match="not a safe weights file"):
        load_compression_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", ["garbage", "truncated", "empty"])
def test_damaged_files_give_a_checkpoint_error(fixtures_dir, tmp_path, content):
    original = (fixtures_dir / "musicgen" / "compression_state_dict.bin").read_bytes()
    data = {
        "garbage": b"not a checkpoint at all " * 50,
        "truncated": original[: len(original) // 2],
        "empty": b"",
    }
    path = tmp_path / "compression_state_dict.bin"
    path.write_bytes(data[content])
    with pytest.raises(CheckpointError, match="damaged"):
        load_compression_model(path)


def test_missing_file_and_foreign_dict_give_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_compression_model(tmp_path / "nowhere.bin")
    path = tmp_path / "other.bin"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not an audiocraft compression checkpoint"):
        load_compression_model(path)


def _edited_export(fixtures_dir: Path, tmp_path: Path, edit) -> Path:
    package = load_weights_file(fixtures_dir / "musicgen" / "compression_state_dict.bin")
    package = {**package, "best_state": dict(package["best_state"])}
    edit(package)
    path = tmp_path / "edited_compression.bin"
    torch.save(package, path)
    return path


def test_missing_weights_are_reported_with_the_file_name(fixtures_dir, tmp_path):
    path = _edited_export(fixtures_dir, tmp_path, lambda p: p["best_state"].pop("decoder.model.15.conv.conv.bias"))
    with pytest.raises(CheckpointError, match="edited_compression.bin.*Missing key") as err:
        load_compression_model(path)
    assert "decoder.layers.15.conv.bias" in str(err.value)


def test_wrong_weight_shapes_are_reported_with_the_file_name(fixtures_dir, tmp_path):
    def shrink(package):
        package["best_state"]["quantizer.vq.layers.0._codebook.embed"] = torch.zeros(63, 32)

    with pytest.raises(CheckpointError, match="edited_compression.bin.*size mismatch"):
        load_compression_model(_edited_export(fixtures_dir, tmp_path, shrink))


def test_unsupported_encodec_options_are_refused(fixtures_dir, tmp_path):
    def no_lstm(package):
        cfg = OmegaConf.create(package["xp.cfg"])
        cfg.seanet.lstm = 0
        package["xp.cfg"] = OmegaConf.to_yaml(cfg)

    with pytest.raises(CheckpointError, match="without LSTM, which SoundDesk does not support"):
        load_compression_model(_edited_export(fixtures_dir, tmp_path, no_lstm))


def test_bad_inputs_give_readable_errors(musicgen_codec):
    codec = musicgen_codec
    with pytest.raises(InvalidParameterError, match="1 channel"):
        codec.encode(torch.zeros(1, 2, 640))
    with pytest.raises(InvalidParameterError, match=r"\[0, 64\)"):
        codec.decode(torch.full((1, 4, 3), 64))
    with pytest.raises(InvalidParameterError, match="codebooks"):
        codec.decode(torch.zeros(1, 5, 3, dtype=torch.long))

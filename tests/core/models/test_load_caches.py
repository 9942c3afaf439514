"""Loading is a read: what a load derives is cached per checkpoint and machine, and a take never depends on it.

The caches (core.models.int8_cache, core.models.load_facts): int8 weights, the scripted step's verdict, the kernel
probes. A take is the same cold (everything derived and checked), warm (read back) and with no cache at all; a
changed checkpoint, torch or CPU derives again.
"""

from __future__ import annotations

import pytest
import torch

from core.engine import Engine, GenerationRequest
from core.models import disk_cache, load_facts
from core.models.int8_cache import CACHE_ENV, FORMAT, cache_dir, content_hash
from core.nn import decode_step, kernels
from core.params import GenerationParams


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def checks(monkeypatch):
    """Counts the scripted step's checks against the eager path (the real check runs)."""
    calls = []
    real = decode_step._agrees

    def counted(lm, step, positions=3):
        calls.append(positions)
        return real(lm, step, positions)

    monkeypatch.setattr(decode_step, "_agrees", counted)
    return calls


def _codes(folder, precision: str) -> torch.Tensor:
    model = Engine(precision=precision).load(folder)
    request = GenerationRequest("rain on a tin roof", GenerationParams(duration=0.2), seed=7)
    return torch.as_tensor(model.generate(request).codes)


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_takes_are_identical_cold_warm_and_without_a_cache(fixtures_dir, cache, monkeypatch, checks, precision):
    folder = fixtures_dir / "musicgen"
    cold = _codes(folder, precision)
    checked_cold = len(checks)
    warm = _codes(folder, precision)
    assert len(checks) == checked_cold  # the verdict was read, not checked again
    monkeypatch.setenv(CACHE_ENV, str(folder / "state_dict.bin"))
    without = _codes(folder, precision)  # the cache "folder" is a file: nothing can be read or written
    assert len(checks) == checked_cold + 1
    assert torch.equal(cold, warm) and torch.equal(cold, without)


def test_a_changed_checkpoint_is_derived_again(fixtures_dir, cache, tmp_path, checks):
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("state_dict.bin", "compression_state_dict.bin"):
        (folder / name).write_bytes((fixtures_dir / "musicgen" / name).read_bytes())
    Engine(precision="int8").load(folder)
    before = len(checks)
    package = torch.load(folder / "state_dict.bin", weights_only=True)
    package["best_state"]["out_norm.weight"] += 0.01  # another checkpoint, same names and shapes
    torch.save(package, folder / "state_dict.bin")
    Engine(precision="int8").load(folder)
    assert len(checks) == before + 1
    assert len(list(cache_dir().glob(f"*-{FORMAT}.safetensors"))) == 2
    assert (cache_dir() / f"{content_hash(folder / 'state_dict.bin')}-{FORMAT}.safetensors").is_file()


def test_another_torch_or_cpu_checks_again(fixtures_dir, cache, monkeypatch, checks):
    folder = fixtures_dir / "musicgen"
    Engine(precision="int8").load(folder)
    before = len(checks)
    monkeypatch.setattr(load_facts, "machine_key", lambda: "torch 9.9|AVX2|x86_64|another CPU|flags 0")
    Engine(precision="int8").load(folder)
    assert len(checks) == before + 1


def test_kernel_probes_are_read_back_on_the_same_machine(cache, monkeypatch):
    answers = {name: kernels.available(name) for name in kernels.KERNELS}
    load_facts.remember_kernel_probes()
    monkeypatch.setattr(kernels, "_probed", {})
    monkeypatch.setattr(kernels, "_probe", lambda name: pytest.fail(f"{name} probed again"))
    load_facts.recall_kernel_probes()
    assert {name: kernels.available(name) for name in kernels.KERNELS} == answers


def test_the_machine_key_names_torch_the_cpu_and_its_isa_limit(monkeypatch):
    """A process run with oneDNN held to AVX2 (how an AVX2-only CPU is acted out) must not reuse AVX-512 probes."""
    key = disk_cache.machine_key()
    assert torch.__version__ in key and torch.backends.cpu.get_cpu_capability() in key and "flags " in key
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    disk_cache.machine_key.cache_clear()
    try:
        assert disk_cache.machine_key() == key + "|ONEDNN_MAX_CPU_ISA=AVX2"
    finally:
        disk_cache.machine_key.cache_clear()

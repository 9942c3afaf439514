"""Commands import what they use: help and argument errors start without torch or the other heavy libraries.

Each case runs `main.py` in a fresh interpreter (imports are per process) and lists the modules it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("torch", "transformers", "scipy", "librosa", "pyloudnorm", "demucs", "laion_clap", "ray")
COMMANDS = (
    "generate",
    "export",
    "stems",
    "separate",
    "explain",
    "loop",
    "rank",
    "search",
    "evaluate",
    "render",
    "verify",
)

_PROBE = """
import json, sys
sys.argv = ["main.py", *json.loads(sys.argv[1])]
import main
try:
    code = main.main()
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "modules": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def _run(args: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [["--help"], ["generate", "--help"], *[[command, "--help"] for command in COMMANDS]],
    ids=lambda args: " ".join(args),
)
def test_help_imports_no_heavy_library(args):
    result = _run(args)
    assert result["code"] == 0
    assert [name for name in HEAVY if name in result["modules"]] == []


@pytest.mark.parametrize(
    "args",
    [["generate"], ["generate", "rain", "--model", "m", "--duration", "soon"], ["bogus"], ["export"], ["render"]],
    ids=lambda args: " ".join(args),
)
def test_argument_errors_import_no_heavy_library(args):
    result = _run(args)
    assert result["code"] == 2
    assert [name for name in HEAVY if name in result["modules"]] == []


def test_importtime_of_help_lists_no_torch():
    """What the repository's before-stop hook checks, literally."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "main.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert "torch" not in imported and "transformers" not in imported


_TAKE_PROBE = """
import json, sys
sys.argv = ["main.py", *json.loads(sys.argv[1])]
import main
code = main.main()
print(json.dumps({"code": code, "loaded": [m for m in ("torch", "transformers", "torch._dynamo") if m in sys.modules]}))
"""


@pytest.mark.parametrize("model", ["musicgen", "audiogen"])
def test_a_short_take_never_imports_transformers_or_dynamo(fixtures_dir, tmp_path, model):
    """The generate path (EnCodec, T5 and its tokenizer) is plain torch: importing transformers cost 4-6 s of a take;
    torch._dynamo (imported by a random init on the meta device) 1.5-2 s more."""
    args = ["generate", "rain", "--model", str(fixtures_dir / model), "--duration", "0.1", "--precision", "int8"]
    done = subprocess.run(
        [sys.executable, "-c", _TAKE_PROBE, json.dumps([*args, "--out", str(tmp_path)])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": ["torch"]}, done.stderr[-2000:]
    assert len(list(tmp_path.glob("*.wav"))) == 1

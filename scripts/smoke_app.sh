#!/usr/bin/env bash
# Smoke test of the built app folder (scripts/build_app.py), run as a user would run it: a clean environment
# (`env -i PATH=/usr/bin:/bin HOME=<temp>`: no virtual environment, no PYTHONPATH, no Hugging Face variables).
#
#   scripts/smoke_app.sh [APP_FOLDER] [FIXTURES]     (defaults: dist/SoundDesk and ../shared/fixtures)
#
# Checks: `sounddesk --help` answers; a headless `generate` on the fixture AudioGen, given as a self-contained
# model folder (release files + text_encoder/), writes the same codes as this checkout's `python main.py` for
# the same request and seed, in fp32 and int8, and builds the scripted decoding step wherever the checkout does;
# `loop` cuts a loop (librosa, numba); `render --workers 2` runs its worker processes (the app started again as
# a worker); the window opens on a virtual screen (xvfb-run) and shows its first-run box; and none of it
# writes into the app's folder. The checkout's side runs with the `python` on PATH
# (CI's venv). Exits non-zero on the first failure; prints each step's wall time.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
APP_DIR="$(cd "${1:-$ROOT/dist/SoundDesk}" && pwd)"
FIXTURES="$(cd "${2:-$ROOT/../shared/fixtures}" && pwd)"
APP="$APP_DIR/sounddesk"
PROMPT="dog barking"
SEED=1234
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sounddesk-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home"

say() { printf '\n== smoke: %s\n' "$*"; }
fail() { printf 'smoke test FAILED: %s\n' "$*" >&2; exit 1; }

# The app as a user starts it: nothing from this shell's environment but a PATH and a fresh home.
clean() { env -i PATH=/usr/bin:/bin HOME="$WORK/home" LANG=C.UTF-8 "$@"; }

timed() {  # timed LABEL COMMAND...: run, print the wall time, keep the output in $WORK/LABEL.log
    local label=$1 start ms rc=0
    shift
    start=$(date +%s%N)
    "$@" >"$WORK/$label.log" 2>&1 || rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    printf '%-20s %4d.%03d s (exit %d)\n' "$label" $((ms / 1000)) $((ms % 1000)) "$rc"
    if [ "$rc" -ne 0 ]; then
        tail -n 30 "$WORK/$label.log" >&2
        local app_log="$WORK/home/.local/state/SoundDesk/log/sounddesk.log"  # the window's log (desktop.crash)
        [ ! -f "$app_log" ] || tail -n 30 "$app_log" >&2
        fail "$label exited with $rc"
    fi
}

model_folder() {  # the fixture AudioGen with its T5 inside it, as the README describes a self-contained folder
    local model="$WORK/audiogen"
    mkdir -p "$model/text_encoder"
    cp "$FIXTURES/audiogen/state_dict.bin" "$FIXTURES/audiogen/compression_state_dict.bin" "$model/"
    cp -L "$FIXTURES"/hf-cache/models--t5-large/snapshots/*/* "$model/text_encoder/"
    chmod -R u+w "$model"
    echo "$model"
}

same_codes() {  # same_codes DIR_A DIR_B: the one take in each holds equal codes
    python - "$1" "$2" <<'EOF'
import json, sys
from pathlib import Path
import numpy as np
codes = []
for folder in map(Path, sys.argv[1:]):
    (sidecar,) = folder.glob("*.json")
    codes.append(np.load(folder / json.loads(sidecar.read_text())["codes"]))
print(f"codes {codes[0].shape}: {'equal' if np.array_equal(*codes) else 'DIFFERENT'}")
sys.exit(0 if np.array_equal(*codes) else 1)
EOF
}

[ -x "$APP" ] || fail "$APP is not there: build it with python scripts/build_app.py"
touch "$WORK/started"  # the app folder may be read-only: nothing below may write into it
say "app $APP_DIR ($(du -sh "$APP_DIR" | cut -f1)), fixtures $FIXTURES"

timed help clean "$APP" --help
grep -q "generate" "$WORK/help.log" || fail "--help does not list the generate command"
timed generate-help clean "$APP" generate --help

MODEL="$(model_folder)"
for precision in fp32 int8; do
    args=(-v generate "$PROMPT" --model "$MODEL" --bpm 120 --bars 2 --seed "$SEED" --precision "$precision")
    timed "source-$precision" env HOME="$WORK/home" python "$ROOT/main.py" "${args[@]}" --out "$WORK/source-$precision"
    timed "app-$precision" clean "$APP" "${args[@]}" --out "$WORK/app-$precision"
    same_codes "$WORK/source-$precision" "$WORK/app-$precision" || fail "$precision: the app's codes differ"
    source_fallback=$(grep -c "no scripted decoding step" "$WORK/source-$precision.log" || true)
    app_fallback=$(grep -c "no scripted decoding step" "$WORK/app-$precision.log" || true)
    if [ "$app_fallback" -gt "$source_fallback" ]; then
        grep "no scripted decoding step" "$WORK/app-$precision.log" >&2
        fail "$precision: the app decodes without the scripted step where the checkout has it"
    fi
done

# librosa (numba, lazy_loader's stub files) in the app: a 1-bar loop of the int8 take
timed loop clean "$APP" loop "$WORK"/app-int8/*.json --bars 1 --out "$WORK/loop"
[ "$(find "$WORK/loop" -name '*.wav' | wc -l)" -eq 1 ] || fail "loop did not write its take"

printf 'prompt,model,duration,seed\n"%s",%s,0.5,1\n"rain on a roof",%s,0.5,2\n' "$PROMPT" "$MODEL" "$MODEL" \
    >"$WORK/manifest.csv"
timed render-2-workers clean "$APP" render "$WORK/manifest.csv" --workers 2 --out "$WORK/render"
[ "$(find "$WORK/render" -name '*.codes.npy' | wc -l)" -eq 2 ] || fail "render --workers 2 did not write 2 takes"

SHOT="${SMOKE_SCREENSHOT:-$WORK/window.png}"  # SMOKE_SCREENSHOT=path keeps the window's picture
timed window clean SOUNDDESK_SMOKE_TEST="$SHOT" xvfb-run -a -s "-screen 0 1280x800x24" "$APP"
grep -q "first-run box shown" "$WORK/window.log" || fail "the window did not show its first-run box"
grep "SoundDesk window ready" "$WORK/window.log"
[ -s "$SHOT" ] || fail "the window saved no picture of itself"
written=$(find "$APP_DIR" -newer "$WORK/started" | head -n 5)
[ -z "$written" ] || fail "the app wrote into its own folder: $written"
say "all checks passed"
